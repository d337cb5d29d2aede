using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Harness;

/// <summary>
/// A scripted world: task i needs procedure Procedures[i % 5]; a task passes when the skill contains "[name]" for its
/// procedure, and every even task fails when the skill contains the harmful phrase.
/// </summary>
internal sealed class ScriptedWorld
{
    public static readonly string[] Procedures = ["units", "percent", "rates", "steps", "format"];
    public const string HarmfulPhrase = "Skip the final check";

    public ScriptedWorld(int tasks = 50) => TaskIds = Enumerable.Range(0, tasks).Select(i => $"task-{i:D2}").ToList();

    public IReadOnlyList<string> TaskIds { get; }

    public TaskSplits Splits() => new(TaskIds.Take(20).ToList(), TaskIds.Skip(20).Take(20).ToList(), TaskIds.Skip(40).ToList());

    public static string Needed(string taskId) => Procedures[int.Parse(taskId[5..]) % Procedures.Length];

    public static RolloutResult Run(string skill, string taskId)
    {
        var index = int.Parse(taskId[5..]);
        var need = Needed(taskId);
        var question = $"Question {taskId}: a problem that needs the {need} procedure.";
        var harmed = skill.Contains(HarmfulPhrase, StringComparison.Ordinal) && index % 2 == 0;
        var pass = skill.Contains($"[{need}]", StringComparison.Ordinal) && !harmed;
        // the gold answer is not a number below 1000, which the leak filter leaves alone as ordinary prose
        var answer = pass ? "1042" : "1041";
        return new RolloutResult
        {
            TaskId = taskId,
            Outcome = pass ? TaskOutcome.Passed : TaskOutcome.Failed,
            Score = pass ? 1 : 0,
            Reason = pass ? null : harmed ? "Assert.Equal() Failure: the answer was not checked" : $"Assert.Equal() Failure: expected the [{need}] procedure to be applied",
            Transcript = [new TranscriptMessage("system", skill), new TranscriptMessage("user", question), new TranscriptMessage("assistant", answer)],
            FinalAnswer = answer,
            VerifierLiterals = ["1042"],
            Usage = new TokenUsage(100 + skill.Length / 4, 20, 0, 1),
        };
    }
}

/// <summary>Runs tasks of the scripted world in memory; counts calls; optional delay per call and a hook before each rollout.</summary>
internal sealed class ScriptedRunner(TimeSpan? delay = null, Action<RolloutRequest>? onRequest = null) : IRolloutRunner
{
    private int _calls;

    public int Calls => _calls;

    public async Task<IReadOnlyList<RolloutResult>> RunAsync(RolloutRequest request, CancellationToken cancellationToken)
    {
        onRequest?.Invoke(request);
        if (delay is { } d)
        {
            await Task.Delay(d, cancellationToken);
        }
        Interlocked.Add(ref _calls, request.TaskIds.Count);
        return request.TaskIds.Select(id => ScriptedWorld.Run(request.Skill, id)).ToList();
    }
}

/// <summary>
/// A scripted optimizer: reflections on failures propose "- Apply the [x] procedure." for each missing procedure named
/// in the verifier messages; reflections on successes propose the harmful rule; merges concatenate; rankings keep the
/// first ones; slow update and meta skill return fixed text. Deterministic.
/// </summary>
internal sealed class ScriptedOptimizer : IChatClient
{
    private int _calls;

    public int Calls => _calls;

    public List<string> SchemaNames { get; } = [];

    /// <summary>When set, failure reflections also propose an edit that copies the gold answer into the skill.</summary>
    public bool LeakGoldAnswer { get; init; }

    /// <summary>Every user prompt received.</summary>
    public List<string> Prompts { get; } = [];

    /// <summary>The guidance every slow-update reply writes.</summary>
    public string SlowUpdateGuidance { get; init; } = "Keep applying every procedure the task needs.";

    /// <summary>Every (schema name, user prompt) received, in order.</summary>
    public List<(string Schema, string Prompt)> Requests { get; } = [];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var schema = (options?.ResponseFormat as ChatResponseFormatJson)?.SchemaName ?? "";
        lock (SchemaNames)
        {
            SchemaNames.Add(schema);
        }
        var prompt = messages.Last(m => m.Role == ChatRole.User).Text;
        lock (Prompts)
        {
            Prompts.Add(prompt);
            Requests.Add((schema, prompt));
        }
        var json = schema switch
        {
            "skillopt_reflection" => Reflect(prompt, LeakGoldAnswer),
            "skillopt_merge" => Merge(prompt),
            "skillopt_ranking" => Rank(prompt),
            "skillopt_slow_update" => JsonSerializer.Serialize(new { guidance = SlowUpdateGuidance }),
            "skillopt_meta_skill" => """{"advice":"Edits that name a missing procedure were accepted; shortcuts were rejected."}""",
            _ => throw new InvalidOperationException($"unexpected schema '{schema}'"),
        };
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, json)) { Usage = new UsageDetails { InputTokenCount = prompt.Length / 4, OutputTokenCount = json.Length / 4 } });
    }

    private static string Reflect(string prompt, bool leak)
    {
        var max = int.Parse(Regex.Match(prompt, @"at most (\d+) edits").Groups[1].Value);
        if (prompt.Contains("SUCCEEDED", StringComparison.Ordinal))
        {
            return JsonSerializer.Serialize(new { analysis = "a shortcut", edits = new[] { new { op = "append", target = (string?)null, content = $"- {ScriptedWorld.HarmfulPhrase} to save time.", rationale = "faster" } } });
        }
        var skill = Regex.Match(prompt, "`````markdown\n(.*?)\n`````", RegexOptions.Singleline).Groups[1].Value;
        var missing = Regex.Matches(prompt, @"expected the \[(\w+)\] procedure").Select(m => m.Groups[1].Value)
            .Where(p => !skill.Contains($"[{p}]", StringComparison.Ordinal)).Distinct().Take(max).ToList();
        var edits = missing.Select(p => new { op = "append", target = (string?)null, content = $"- Apply the [{p}] procedure.", rationale = $"tasks failed without {p}" }).ToList();
        if (leak)
        {
            edits.Insert(0, new { op = "append", target = (string?)null, content = "- When unsure, answer 1042.", rationale = "the expected answer" });
        }
        return JsonSerializer.Serialize(new { analysis = "missing procedures", edits });
    }

    private static string Merge(string prompt)
    {
        var all = new List<JsonElement>();
        foreach (Match m in Regex.Matches(prompt, "```json\n(.*?)\n```", RegexOptions.Singleline))
        {
            all.AddRange(JsonDocument.Parse(m.Groups[1].Value).RootElement.EnumerateArray().Select(e => e.Clone()));
        }
        if (prompt.Contains("### failures", StringComparison.Ordinal) && prompt.Contains("### successes", StringComparison.Ordinal))
        {
            // failure priority: the final merge keeps only what the failures asked for
            all.Clear();
            var failures = Regex.Match(prompt, "### failures\n\n```json\n(.*?)\n```", RegexOptions.Singleline).Groups[1].Value;
            all.AddRange(JsonDocument.Parse(failures).RootElement.EnumerateArray().Select(e => e.Clone()));
        }
        var distinct = all.GroupBy(e => e.GetProperty("content").GetString()).Select(g => g.First()).ToList();
        return JsonSerializer.Serialize(new { edits = distinct });
    }

    private static string Rank(string prompt)
    {
        var budget = int.Parse(Regex.Match(prompt, @"Only (\d+) of").Groups[1].Value);
        return JsonSerializer.Serialize(new { selected = Enumerable.Range(1, budget).ToArray(), reason = "first ones" });
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose() { }
}
