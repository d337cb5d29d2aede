using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.SimLab;

/// <summary>
/// An <see cref="IRolloutRunner"/> that asks the SIMULATED target of a SimLab scenario directly through an
/// <see cref="IChatClient"/> (the skill as the system message, the task's question as the user message, the sample index
/// as the seed) and scores the final answer against the scenario's answer. It replaces verifier processes in benchmarks
/// and tests; its results are simulations.
/// </summary>
internal sealed class SimLabRolloutRunner : IRolloutRunner
{
    private readonly Scenario _scenario;
    private readonly IChatClient _target;
    private readonly int _concurrency;
    private readonly Dictionary<string, SimTask> _tasks;
    private readonly string _answerPrefix;
    private int _calls;

    /// <summary>Creates a runner.</summary>
    /// <param name="scenario">The scenario whose tasks are run (task ids are the scenario's).</param>
    /// <param name="target">Client of the simulated target (any OpenAI-compatible client pointed at a <see cref="SimLabServer"/>).</param>
    /// <param name="concurrency">Tasks in flight at once.</param>
    public SimLabRolloutRunner(Scenario scenario, IChatClient target, int concurrency = 8)
    {
        _scenario = scenario ?? throw new ArgumentNullException(nameof(scenario));
        _target = target ?? throw new ArgumentNullException(nameof(target));
        _concurrency = Math.Max(1, concurrency);
        _tasks = scenario.ResolvedTasks.ToDictionary(t => t.Id, StringComparer.Ordinal);
        _answerPrefix = AnswerPrefix(scenario.Target.AnswerFormat);
    }

    /// <summary>Target calls made so far.</summary>
    public int Calls => _calls;

    /// <inheritdoc />
    public async Task<IReadOnlyList<RolloutResult>> RunAsync(RolloutRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var rolloutSpan = SkillOpt.Core.Diagnostics.TrainingTelemetry.StartRollout(request);
        var results = new RolloutResult[request.TaskIds.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, request.TaskIds.Count), new ParallelOptions { MaxDegreeOfParallelism = _concurrency, CancellationToken = cancellationToken },
            async (i, ct) => results[i] = await RunOneAsync(request, request.TaskIds[i], ct).ConfigureAwait(false)).ConfigureAwait(false);
        return results;
    }

    private async Task<RolloutResult> RunOneAsync(RolloutRequest request, string taskId, CancellationToken ct)
    {
        if (!_tasks.TryGetValue(taskId, out var task))
        {
            return RolloutResult.Errored(taskId, $"The scenario '{_scenario.Name}' has no task '{taskId}'.");
        }
        var sw = Stopwatch.StartNew();
        var messages = new List<ChatMessage> { new(ChatRole.System, request.Skill), new(ChatRole.User, task.Question) };
        var options = new ChatOptions { ModelId = _scenario.Models.Target, Seed = request.SampleIndex }.WithStage(request.Stage);
        ChatResponse response;
        try
        {
            Interlocked.Increment(ref _calls);
            response = await _target.GetResponseAsync(messages, options, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return RolloutResult.Errored(taskId, $"The simulated target call failed: {ex.GetType().Name}: {ex.Message}");
        }
        var text = response.Text ?? "";
        var given = ExtractAnswer(text, _answerPrefix);
        var passed = given is not null && SameAnswer(given, task.Answer);
        return new RolloutResult
        {
            TaskId = taskId,
            Outcome = passed ? TaskOutcome.Passed : TaskOutcome.Failed,
            Score = passed ? 1 : 0,
            Reason = passed ? null
                : given is null ? $"Assert.NotNull() Failure: the reply has no final answer line starting with '{_answerPrefix.Trim()}'"
                : $"Assert.Equal() Failure: Values differ\nExpected: {task.Answer}\nActual:   {given}",
            Transcript = [new TranscriptMessage("system", request.Skill), new TranscriptMessage("user", task.Question), new TranscriptMessage("assistant", text)],
            FinalAnswer = given,
            Usage = new TokenUsage(response.Usage?.InputTokenCount ?? 0, response.Usage?.OutputTokenCount ?? 0, response.Usage?.CachedInputTokenCount ?? 0, 1),
            DurationSeconds = sw.Elapsed.TotalSeconds,
        };
    }

    /// <summary>The text before <c>{answer}</c> on its line of an answer format (e.g. <c>#### </c>).</summary>
    internal static string AnswerPrefix(string format)
    {
        var i = format.IndexOf("{answer}", StringComparison.Ordinal);
        var lineStart = format.LastIndexOf('\n', Math.Max(0, i - 1)) + 1;
        return i <= lineStart ? "" : format[lineStart..i];
    }

    /// <summary>The answer after the last occurrence of <paramref name="prefix"/> (to the end of its line), or null.</summary>
    internal static string? ExtractAnswer(string reply, string prefix)
    {
        if (prefix.Length == 0)
        {
            var lines = reply.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length == 0 ? null : lines[^1];
        }
        var i = reply.LastIndexOf(prefix.Trim(), StringComparison.Ordinal);
        if (i < 0)
        {
            return null;
        }
        var rest = reply[(i + prefix.Trim().Length)..];
        var end = rest.IndexOf('\n');
        var answer = (end < 0 ? rest : rest[..end]).Trim();
        return answer.Length == 0 ? null : answer;
    }

    /// <summary>Equal as numbers when both parse (commas and dollar signs ignored), else equal ignoring case and spaces.</summary>
    internal static bool SameAnswer(string given, string expected)
    {
        static string Clean(string s) => s.Replace(",", "", StringComparison.Ordinal).Replace("$", "", StringComparison.Ordinal).Trim().TrimEnd('.');
        if (decimal.TryParse(Clean(given), NumberStyles.Number, CultureInfo.InvariantCulture, out var a)
            && decimal.TryParse(Clean(expected), NumberStyles.Number, CultureInfo.InvariantCulture, out var b))
        {
            return a == b;
        }
        return string.Equals(Clean(given), Clean(expected), StringComparison.OrdinalIgnoreCase);
    }
}
