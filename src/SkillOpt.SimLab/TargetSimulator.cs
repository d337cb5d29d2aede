using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SkillOpt.SimLab;

/// <summary>
/// The simulated target model: the system text is the skill, the last user message the question. The agent solves the
/// task with the probability <see cref="SimWorld.SuccessProbability"/> gives, drawn from a seeded hash of (scenario
/// seed, skill, task, request seed), and answers in the scenario's format.
/// </summary>
internal sealed class TargetSimulator(SimWorld world)
{
    private static readonly Regex Numbers = new(@"\d+(?:\.\d+)?", RegexOptions.CultureInvariant);

    /// <summary>Outcome of one simulated attempt, for tests and diagnostics.</summary>
    public sealed record Attempt(SimTask? Task, bool Solved, double Probability, string Answer);

    public SimReply Reply(ChatRequest request)
    {
        var skill = Skill(request);
        var lastUser = LastIndex(request.Messages, "user");
        var question = lastUser >= 0 ? request.Messages[lastUser].Text : "";
        var toolResultSeen = lastUser >= 0 && request.Messages.Skip(lastUser + 1).Any(m => m.Role == "tool");
        var task = world.FindTask(question);
        var unknown = task is null ? question : null;

        if (world.Scenario.Target.ToolCallFirst && request.Tools.Count > 0 && !toolResultSeen && request.ToolChoice != "none")
        {
            var tool = request.Tools[0];
            var args = ToolArguments(tool, task?.Question ?? question);
            var id = "call_sim_" + SimRandom.Hash(request.Key + "|tool")[..16];
            return new SimReply(null, [new WireToolCall(id, tool.Name, args)], "tool_calls") { AskedTask = task, UnknownQuestion = unknown };
        }

        var attempt = Solve(skill, question, request.Seed ?? 0);
        var reasoning = Reasoning(attempt, skill);
        var content = world.Scenario.Target.AnswerFormat.Replace("{reasoning}", reasoning, StringComparison.Ordinal)
            .Replace("{answer}", attempt.Answer, StringComparison.Ordinal);
        return SimReply.Text(content) with { AskedTask = task, UnknownQuestion = unknown };
    }

    /// <summary>The skill a request carries: every system (or developer) message, joined.</summary>
    public static string Skill(ChatRequest request) =>
        string.Join("\n\n", request.Messages.Where(m => m.Role is "system" or "developer").Select(m => m.Text));

    /// <summary>Simulates one attempt of the task asked by <paramref name="question"/> with <paramref name="skill"/> and sample <paramref name="seed"/>.</summary>
    public Attempt Solve(string skill, string question, long seed)
    {
        var task = world.FindTask(question);
        if (task is null)
        {
            return new Attempt(null, false, 0, "0");
        }
        var skillHash = SimRandom.Hash(skill);
        var rng = SimRandom.Create(world.Scenario.Seed, "target", skillHash, task.Id, seed);
        var p = world.SuccessProbability(skill, task);
        bool solved;
        if (world.Scenario.Target.FlakyGroups is { } groups && task.Group >= 0)
        {
            // correlated flakiness: the clean outcome, then a flip that follows the group's shared draw (for this skill and
            // sample) with probability `correlation`, else the task's own; the marginal success probability is still p
            var clean = rng.NextDouble() < world.CleanProbability(skill, task);
            var shared = rng.NextDouble() < groups.Correlation;
            var u = shared ? SimRandom.Create(world.Scenario.Seed, "group-flip", skillHash, task.Group, seed).NextDouble() : rng.NextDouble();
            solved = clean ^ (u < task.Flakiness);
        }
        else
        {
            solved = rng.NextDouble() < p;
        }
        return new Attempt(task, solved, p, solved ? task.Answer : WrongAnswer(task.Answer, rng));
    }

    /// <summary>A plausible wrong answer: a nearby or mis-scaled number for numeric answers.</summary>
    internal static string WrongAnswer(string correct, SimRandom rng)
    {
        var clean = correct.Replace(",", "", StringComparison.Ordinal).Replace("$", "", StringComparison.Ordinal).Trim();
        if (decimal.TryParse(clean, NumberStyles.Number, CultureInfo.InvariantCulture, out var value))
        {
            for (var i = 0; i < 8; i++)
            {
                var step = Math.Max(1m, Math.Round(Math.Abs(value) * 0.1m));
                var wrong = rng.Next(5) switch
                {
                    0 => value + 1,
                    1 => value - 1,
                    2 => value + step * (1 + rng.Next(3)),
                    3 => value * 2,
                    _ => value - step * (1 + rng.Next(3)),
                };
                if (wrong != value)
                {
                    return wrong.ToString(CultureInfo.InvariantCulture);
                }
            }
            return (value + 7).ToString(CultureInfo.InvariantCulture);
        }
        return correct.Length > 1 ? new string(correct.Reverse().ToArray()) : "unknown";
    }

    private string Reasoning(Attempt attempt, string skill)
    {
        var words = world.Scenario.Target.ReasoningWords;
        if (words == 0)
        {
            return "";
        }
        var sb = new StringBuilder("Let me work through this step by step.");
        if (attempt.Task is null)
        {
            sb.Append(" I could not find enough information in the question to solve it reliably.");
            return sb.ToString();
        }
        var nums = Numbers.Matches(attempt.Task.Question).Select(m => m.Value).Take(8).ToList();
        if (nums.Count > 0)
        {
            sb.Append(" The quantities given are ").Append(string.Join(", ", nums)).Append('.');
        }
        foreach (var need in attempt.Task.Needs)
        {
            sb.Append(world.Has(skill, need) ? $" Applying the {need} procedure from the skill." : "");
        }
        var filler = new[] { "Combining these values carefully.", "Checking the intermediate results.", "Putting the pieces together." };
        var i = 0;
        while (sb.ToString().Split(' ').Length < words && i < 12)
        {
            sb.Append(' ').Append(filler[i++ % filler.Length]);
        }
        sb.Append(attempt.Solved ? " This gives the result below." : " So the result is the one below.");
        return sb.ToString();
    }

    private static string ToolArguments(WireTool tool, string question)
    {
        var nums = Numbers.Matches(question).Select(m => m.Value).Take(4).ToList();
        var expression = nums.Count == 0 ? "0" : string.Join(" + ", nums);
        var args = new JsonObject();
        if (tool.Parameters is { ValueKind: JsonValueKind.Object } schema && schema.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object)
        {
            var required = schema.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array
                ? r.EnumerateArray().Select(x => x.GetString()).ToHashSet()
                : props.EnumerateObject().Select(p => (string?)p.Name).ToHashSet();
            foreach (var p in props.EnumerateObject().Where(p => required.Contains(p.Name)))
            {
                var type = p.Value.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : "string";
                args[p.Name] = type switch
                {
                    "number" => nums.Count > 0 ? double.Parse(nums[0], CultureInfo.InvariantCulture) : 0,
                    "integer" => nums.Count > 0 && int.TryParse(nums[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0,
                    "boolean" => true,
                    _ => expression,
                };
            }
        }
        return args.ToJsonString(WireWriter.Json);
    }

    private static int LastIndex(IReadOnlyList<WireMessage> messages, string role)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i].Role == role)
            {
                return i;
            }
        }
        return -1;
    }
}
