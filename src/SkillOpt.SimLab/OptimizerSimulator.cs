// Longer than 400 lines: one reply builder per optimizer stage (reflection, merge, ranking, slow update, meta skill), sharing the prompt parsing and the seeded draws.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SkillOpt.SimLab;

/// <summary>
/// The simulated optimizer model. The stage follows <c>response_format.json_schema.name</c>; the reply is JSON in that
/// stage's schema, computed from the prompt (the skill between the five-backtick fences, the trajectories, the patches
/// or the candidate edits) and a seeded hash of the request.
/// </summary>
internal sealed partial class OptimizerSimulator(SimWorld world)
{
    private const string Fence = "`````";

    public SimReply Reply(ChatRequest request)
    {
        var users = request.Messages.Where(m => m.Role == "user").ToList();
        var prompt = users.Count > 0 ? users[0].Text : "";
        var isRepair = users.Count > 1;
        var schema = request.SchemaName ?? "";
        // draw 0 keeps the parts every earlier run was seeded with
        object?[] parts = [world.Scenario.Seed, "optimizer", schema, SimRandom.Hash(prompt), request.Seed ?? 0, isRepair ? 1 : 0];
        var draw = world.Scenario.Optimizer.Draw;
        var rng = SimRandom.Create(draw == 0 ? parts : [.. parts, "draw", draw]);
        if (!isRepair && schema.Length > 0 && rng.Chance(world.Scenario.Optimizer.InvalidReplyRate))
        {
            return SimReply.Text("Looking at these results, I would make the skill clearer and more specific about the steps to follow.");
        }
        var json = schema switch
        {
            "skillopt_reflection" => Reflect(prompt, rng),
            "skillopt_merge" => Merge(prompt),
            "skillopt_ranking" => Rank(prompt, rng),
            "skillopt_slow_update" => SlowUpdate(prompt, rng),
            "skillopt_meta_skill" => MetaSkill(prompt, rng),
            _ => null,
        };
        return SimReply.Text(json ?? "I am the SimLab simulated optimizer. Ask with a response_format json_schema named skillopt_reflection, skillopt_merge, skillopt_ranking, skillopt_slow_update or skillopt_meta_skill.");
    }

    // ---------------------------------------------------------------- reflection

    /// <summary>A trajectory section of a reflection prompt.</summary>
    internal sealed record Trajectory(string Header, SimTask? Task, bool Failed, string? Expected);

    internal string Reflect(string prompt, SimRandom rng)
    {
        var o = world.Scenario.Optimizer;
        var skill = SkillOf(prompt);
        var max = AtMost(prompt, "edits") ?? 3;
        var failures = prompt.Contains("## Failed trajectories", StringComparison.Ordinal) || !prompt.Contains("## Successful trajectories", StringComparison.Ordinal);
        var trajectories = Trajectories(prompt);
        var rejected = Rejected(prompt);
        var recognised = trajectories.Where(t => t.Task is not null).ToList();

        // the procedures the recognised tasks need and the skill lacks, most frequent first
        var missing = recognised.SelectMany(t => world.Missing(skill, t.Task!)).GroupBy(p => p, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Count: g.Count()))
            .OrderByDescending(x => x.Count).ThenBy(x => world.Scenario.Procedures.FindIndex(p => p.Name == x.Name)).ToList();

        int count;
        if (failures)
        {
            count = trajectories.Count == 0 || rng.Chance(o.EmptyReplyRate) ? 0 : 1 + rng.Next(Math.Max(1, max));
        }
        else
        {
            count = trajectories.Count == 0 || !rng.Chance(o.SuccessEditRate) ? 0 : 1;
        }
        count = Math.Min(count, max);

        var edits = new List<object>();
        var contents = new HashSet<string>(StringComparer.Ordinal);
        var proposedProcedures = new List<string>();
        var pool = missing.ToList();
        var total = o.Useful + o.Useless + o.Harmful;
        for (var slot = 0; slot < count; slot++)
        {
            for (var tries = 0; tries < 4; tries++)
            {
                var (content, rationale, procedure) = Draw(rng, pool, recognised, total);
                if (content is null || !contents.Add(FirstSentence(content)))
                {
                    continue;
                }
                if (rejected.Any(r => SameAsShown(content, r)) && rng.Chance(o.RespectRejected))
                {
                    contents.Remove(FirstSentence(content));
                    continue;
                }
                if (procedure is not null)
                {
                    pool.RemoveAll(p => p.Name == procedure);
                    proposedProcedures.Add(procedure);
                }
                edits.Add(MakeEdit(skill, content, rationale, rng));
                break;
            }
        }

        var analysis = new StringBuilder();
        analysis.Append(CultureInfo.InvariantCulture, $"Reviewed {trajectories.Count} {(failures ? "failed" : "successful")} trajectories. ");
        analysis.Append(missing.Count == 0
            ? "The skill already covers what these tasks need; remaining differences look like noise."
            : $"The skill lacks guidance these tasks depend on ({string.Join(", ", missing.Select(m => m.Name))}).");
        if (proposedProcedures.Count > 0)
        {
            analysis.Append(CultureInfo.InvariantCulture, $" Proposed rules for: {string.Join(", ", proposedProcedures)}.");
        }
        if (failures && prompt.Contains("`failure_summary`", StringComparison.Ordinal))
        {
            // the classic preset's failure analysts also name failure types (the reference's failure_summary)
            var summary = missing.Select(m => new { failure_type = "missing " + m.Name.Replace('-', ' '), count = m.Count, description = $"the skill does not say how to handle {m.Name.Replace('-', ' ')}" }).ToList();
            return JsonSerializer.Serialize(new { analysis = analysis.ToString(), failure_summary = summary, edits }, WireWriter.Json);
        }
        return JsonSerializer.Serialize(new { analysis = analysis.ToString(), edits }, WireWriter.Json);
    }

    private (string? Content, string Rationale, string? Procedure) Draw(SimRandom rng, List<(string Name, int Count)> pool, List<Trajectory> recognised, double total)
    {
        var s = world.Scenario;
        var o = s.Optimizer;
        if (o.LeakRate > 0 && rng.Chance(o.LeakRate) && recognised.FirstOrDefault(t => t.Expected is not null) is { } leak)
        {
            return ($"- For problems like this one, the expected answer is {leak.Expected}.", "the verifier expected this answer", null);
        }
        var u = rng.NextDouble() * total;
        if (u < o.Useful && o.Misdiagnosis > 0 && rng.Chance(o.Misdiagnosis))
        {
            // a misdiagnosis: the optimizer names a procedure from the whole catalogue, whatever the failed tasks need
            var wrong = rng.Pick(s.Procedures);
            return (Pad(rng.Pick(wrong.Texts), rng), $"Several tasks failed because the skill does not say how to handle {wrong.Name.Replace('-', ' ')}.", wrong.Name);
        }
        if (u < o.Useful && pool.Count > 0)
        {
            // weighted by how many failed tasks need the procedure
            var pick = rng.NextDouble() * pool.Sum(p => p.Count);
            var chosen = pool[^1].Name;
            foreach (var (name, c) in pool)
            {
                if ((pick -= c) < 0)
                {
                    chosen = name;
                    break;
                }
            }
            var proc = s.Procedures.First(p => p.Name == chosen);
            return (Pad(rng.Pick(proc.Texts), rng), $"Several tasks failed because the skill does not say how to handle {chosen.Replace('-', ' ')}.", chosen);
        }
        if (u >= o.Useful + o.Useless && s.Harmful.Count > 0)
        {
            var h = rng.Pick(s.Harmful);
            return (Pad(rng.Pick(h.Texts), rng), "This should make the agent faster and less error-prone on long problems.", null);
        }
        if (o.Useless <= 0 && pool.Count == 0)
        {
            return (null, "", null);
        }
        if (s.GenericRules.Count > 0)
        {
            return (Pad(rng.Pick(rng.Pick(s.GenericRules).Texts), rng), "The agent seemed to rush; a general reminder should help.", null);
        }
        return (Pad(rng.Pick(s.UselessEdits), rng), "The agent seemed to rush; a general reminder should help.", null);
    }

    private string Pad(string text, SimRandom rng)
    {
        var o = world.Scenario.Optimizer;
        var n = (int)Math.Round(o.Wordiness * 4 * (0.5 + rng.NextDouble()));
        if (n == 0)
        {
            return text.TrimEnd();
        }
        var filler = world.Scenario.FillerSentences;
        var start = rng.Next(filler.Count);
        var sb = new StringBuilder(text.TrimEnd());
        for (var i = 0; i < n; i++)
        {
            sb.Append(' ').Append(filler[(start + i) % filler.Count]);
        }
        return sb.ToString();
    }

    private object MakeEdit(string skill, string content, string rationale, SimRandom rng)
    {
        if (rng.Chance(world.Scenario.Optimizer.InsertAfterRate))
        {
            var headings = skill.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith('#') && Occurrences(skill, l) == 1).ToList();
            if (headings.Count > 0)
            {
                return new { op = "insert_after", target = (string?)rng.Pick(headings), content, rationale };
            }
        }
        return new { op = "append", target = (string?)null, content, rationale };
    }

    private static int Occurrences(string text, string part)
    {
        var n = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal))
        {
            n++;
        }
        return n;
    }

    /// <summary>The trajectory sections of a reflection prompt (see TrajectoryFormatter in SkillOpt.Core).</summary>
    internal List<Trajectory> Trajectories(string prompt)
    {
        var list = new List<Trajectory>();
        var start = prompt.IndexOf("trajectories (", StringComparison.Ordinal);
        var body = start < 0 ? prompt : prompt[start..];
        var end = body.LastIndexOf("\nReply with JSON", StringComparison.Ordinal);
        if (end > 0)
        {
            body = body[..end];
        }
        var sections = Regex.Split(body, @"(?m)^(?=### Task )");
        foreach (var section in sections.Where(s => s.StartsWith("### Task ", StringComparison.Ordinal)))
        {
            var lines = section.Split('\n');
            var header = lines[0];
            var failed = !header.Contains("— passed", StringComparison.Ordinal);
            var users = new List<string>();
            string? expected = null;
            for (var i = 1; i < lines.Length; i++)
            {
                var line = lines[i];
                if (line.StartsWith("- **user**", StringComparison.Ordinal))
                {
                    var colon = line.IndexOf(": ", StringComparison.Ordinal);
                    var text = new StringBuilder(colon < 0 ? "" : line[(colon + 2)..]);
                    while (i + 1 < lines.Length && lines[i + 1].StartsWith("  ", StringComparison.Ordinal) && !lines[i + 1].StartsWith("  - calls", StringComparison.Ordinal))
                    {
                        text.Append('\n').Append(lines[++i][2..]);
                    }
                    users.Add(text.ToString());
                }
            }
            var em = ExpectedRegex().Match(section);
            expected = em.Success ? em.Groups[1].Value.Trim().TrimEnd('.', ',') : null;
            var task = users.Select(world.FindTask).LastOrDefault(t => t is not null) ?? world.FindTask(section);
            list.Add(new Trajectory(header, task, failed, expected));
        }
        return list;
    }

    [GeneratedRegex(@"Expected:\s*""?([^""\r\n]+)", RegexOptions.CultureInvariant)]
    private static partial Regex ExpectedRegex();

    private static List<string> Rejected(string prompt)
    {
        var i = prompt.IndexOf("## Edits already tried and rejected", StringComparison.Ordinal);
        if (i < 0)
        {
            // the classic preset shows rejected edits in its step buffer instead
            var steps = prompt.IndexOf("## Earlier steps of this epoch", StringComparison.Ordinal);
            var skill = prompt.IndexOf("\n## Current skill", Math.Max(0, steps), StringComparison.Ordinal);
            return steps < 0 ? [] : StepBufferEditRegex().Matches(skill < 0 ? prompt[steps..] : prompt[steps..skill]).Select(m => m.Groups[1].Value).ToList();
        }
        var block = prompt[i..];
        var end = block.IndexOf("\n## Current skill", StringComparison.Ordinal);
        if (end > 0)
        {
            block = block[..end];
        }
        return RejectedRegex().Matches(block).Select(m => m.Groups[1].Value).ToList();
    }

    [GeneratedRegex(@"(?m)^- \w+(?: after/at ""[^\n]*?"")?: ""(.*)"" \(score change")]
    private static partial Regex RejectedRegex();

    [GeneratedRegex(@"(?m)^  \d+\. \[\w+\](?: target=""[^\n]*?"" →)? ""(.*)""$")]
    private static partial Regex StepBufferEditRegex();

    private static bool SameAsShown(string content, string shown)
    {
        var flat = content.Replace("\n", " ", StringComparison.Ordinal);
        if (shown.EndsWith('…'))
        {
            return flat.StartsWith(shown[..^1], StringComparison.Ordinal);
        }
        return string.Equals(flat, shown, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- merge

    internal string Merge(string prompt)
    {
        var cap = AtMost(prompt, "edits") ?? int.MaxValue;
        var merged = new List<Dictionary<string, string?>>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in PatchRegex().Matches(prompt))
        {
            JsonElement array;
            try
            {
                array = JsonDocument.Parse(m.Groups[2].Value).RootElement;
            }
            catch (JsonException)
            {
                continue;
            }
            if (array.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            foreach (var e in array.EnumerateArray())
            {
                var edit = new Dictionary<string, string?>
                {
                    ["op"] = Get(e, "op") ?? "append",
                    ["target"] = Get(e, "target"),
                    ["content"] = Get(e, "content"),
                    ["rationale"] = Get(e, "rationale") ?? "",
                };
                var key = $"{edit["op"]}\u0001{edit["target"]}\u0001{QuestionText.Normalize(edit["content"] ?? "")}";
                var (kind, name) = world.Classify(edit["content"]);
                var gist = kind == EditKind.Useless ? "useless:" + FirstSentence(edit["content"]) : $"{kind}:{name}";
                if (!keys.Add(key) || !named.Add(gist))
                {
                    continue; // duplicates, and edits that say the same thing as an earlier one
                }
                merged.Add(edit);
            }
        }
        return JsonSerializer.Serialize(new { edits = merged.Take(cap) }, WireWriter.Json);
    }

    private static string FirstSentence(string? content)
    {
        var n = QuestionText.Normalize(content ?? "");
        var text = content ?? "";
        var end = text.IndexOfAny(['.', '!', '?', '\n']);
        return QuestionText.Normalize(end < 0 ? text : text[..end]) is { Length: > 0 } first ? first : n;
    }

    [GeneratedRegex(@"(?ms)^### (.+?)\n\n```json\n(.*?)\n```")]
    private static partial Regex PatchRegex();

    private static string? Get(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    // ---------------------------------------------------------------- ranking

    internal string Rank(string prompt, SimRandom rng)
    {
        var m = Regex.Match(prompt, @"Only (\d+) of the (\d+) candidate edits");
        var budget = m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 1;
        var skill = SkillOf(prompt);
        var scored = new List<(int Number, double Score)>();
        foreach (Match line in CandidateRegex().Matches(prompt))
        {
            var number = int.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture);
            string? content = null;
            try
            {
                content = Get(JsonDocument.Parse(line.Groups[2].Value).RootElement, "content");
            }
            catch (JsonException)
            {
            }
            var (kind, name) = world.Classify(content);
            var score = kind switch
            {
                EditKind.Procedure => world.Has(skill, name!) ? 0.3 : 1.0,
                EditKind.Harmful => 0.5,
                _ => 0.35,
            };
            scored.Add((number, score + rng.NextGaussian() * world.Scenario.Optimizer.RankingNoise));
        }
        var selected = scored.OrderByDescending(s => s.Score).ThenBy(s => s.Number).Take(Math.Max(1, budget)).Select(s => s.Number).ToList();
        if (selected.Count == 0)
        {
            selected.Add(1);
        }
        return JsonSerializer.Serialize(new { selected, reason = "Edits that add a concrete procedure for the observed failures come first; general reminders last." }, WireWriter.Json);
    }

    [GeneratedRegex(@"(?m)^(\d+)\. (\{.*\})\s*$")]
    private static partial Regex CandidateRegex();

    // ---------------------------------------------------------------- slow update and meta skill

    internal string SlowUpdate(string prompt, SimRandom rng)
    {
        var o = world.Scenario.Optimizer;
        var improved = Regex.Matches(prompt, @"(?m)^- .+: improved").Count;
        var regressed = Regex.Matches(prompt, @"(?m)^- .+: regressed").Count;
        var guidance = $"- Since the previous epoch, {improved} sampled problems improved and {regressed} regressed.\n" + rng.Pick(o.Guidance).Trim();
        return JsonSerializer.Serialize(new { guidance = Words(guidance, AtMost(prompt, "words") ?? 150) }, WireWriter.Json);
    }

    internal string MetaSkill(string prompt, SimRandom rng)
    {
        var accepted = Regex.Matches(prompt, @"(?m)^- \w+(?: \d+)?: accept").Count;
        var rejected = Regex.Matches(prompt, @"(?m)^- \w+(?: \d+)?: reject").Count;
        var advice = $"{accepted} candidates were accepted and {rejected} rejected this epoch. " + rng.Pick(world.Scenario.Optimizer.Advice).Trim();
        return JsonSerializer.Serialize(new { advice = Words(advice, AtMost(prompt, "words") ?? 120) }, WireWriter.Json);
    }

    // ---------------------------------------------------------------- helpers

    internal static string SkillOf(string prompt)
    {
        var open = prompt.IndexOf(Fence + "markdown\n", StringComparison.Ordinal);
        if (open < 0)
        {
            return "";
        }
        var start = open + Fence.Length + "markdown\n".Length;
        var close = prompt.IndexOf("\n" + Fence, start, StringComparison.Ordinal);
        return close < 0 ? prompt[start..] : prompt[start..close];
    }

    private static int? AtMost(string prompt, string unit)
    {
        var m = Regex.Match(prompt, @"at most\s+(\d+)\s+" + unit, RegexOptions.CultureInvariant);
        return m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    private static string Words(string text, int max)
    {
        var count = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if ((i == 0 || char.IsWhiteSpace(text[i - 1])) && !char.IsWhiteSpace(text[i]) && ++count > max)
            {
                return text[..i].TrimEnd();
            }
        }
        return text;
    }
}
