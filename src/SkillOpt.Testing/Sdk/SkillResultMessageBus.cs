using System.Globalization;
using System.Text.Json.Nodes;
using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Verifiers;
using Xunit;
using Xunit.Sdk;
using Xunit.v3;

namespace SkillOpt.Testing.Sdk;

/// <summary>
/// Watches the messages of one skill test case, and when its result arrives (passed, failed, skipped, not run) turns it
/// into the task's <see cref="RolloutResult"/>: written to <c>SKILLOPT_RESULTS_DIR</c> and attached to the test as
/// <c>skillopt-result</c>. Every message is passed on unchanged.
/// </summary>
internal sealed class SkillResultMessageBus(IMessageBus inner, SkillTaskScope scope) : IMessageBus
{
    /// <summary>Name of the test attachment that holds the result JSON.</summary>
    public const string AttachmentName = "skillopt-result";

    private int _reported;

    public bool QueueMessage(IMessageSinkMessage message)
    {
        switch (message)
        {
            case ITestPassed p:
                Report(TaskOutcome.Passed, scope.PartialScore ?? 1, scope.ScoreReason, (double)p.ExecutionTime);
                break;
            case ITestFailed f:
                Report(f);
                break;
            case ITestSkipped s:
                Report(TaskOutcome.Skipped, 0, string.IsNullOrEmpty(s.Reason) ? "skipped" : s.Reason, (double)s.ExecutionTime);
                break;
            case ITestNotRun:
                Report(TaskOutcome.Skipped, 0, "not run (explicit test)", 0);
                break;
        }
        return inner.QueueMessage(message);
    }

    /// <summary>Writes an Errored result if the test case ended without a result message.</summary>
    public void EnsureReported()
    {
        if (Volatile.Read(ref _reported) == 0)
        {
            Report(TaskOutcome.Errored, 0, "the test case finished without reporting a result", scope.Clock.Elapsed.TotalSeconds);
        }
    }

    public void Dispose()
    {
    }

    private void Report(ITestFailed f)
    {
        var messages = f.Messages ?? [];
        var types = f.ExceptionTypes ?? [];
        var first = messages.Length > 0 ? messages[0] : "the test failed";
        if (f.Cause == FailureCause.Assertion)
        {
            Report(TaskOutcome.Failed, scope.PartialScore ?? 0, first, (double)f.ExecutionTime);
            return;
        }
        var type = types.Length > 0 ? types[0] : null;
        var reason = f.Cause == FailureCause.Timeout
            ? $"timeout: {first}"
            : $"{(type is null ? "error" : type)}: {first}";
        var stack = f.StackTraces is { Length: > 0 } st && !string.IsNullOrEmpty(st[0]) ? FirstLines(st[0]!, 3) : null;
        Report(TaskOutcome.Errored, 0, stack is null ? reason : reason + "\n" + stack, (double)f.ExecutionTime);
    }

    private void Report(TaskOutcome outcome, double score, string? reason, double executionSeconds)
    {
        if (Interlocked.Exchange(ref _reported, 1) == 1)
        {
            return;
        }
        var literals = scope.VerifierLiterals;
        var result = new RolloutResult
        {
            TaskId = scope.TaskId,
            Outcome = outcome,
            Score = outcome is TaskOutcome.Passed or TaskOutcome.Failed ? Math.Clamp(score, 0, 1) : 0,
            Reason = reason,
            Transcript = scope.Transcript,
            FinalAnswer = scope.FinalAnswer,
            VerifierLiterals = literals.Count == 0 ? null : literals,
            Usage = scope.Usage,
            DurationSeconds = Math.Round(Math.Max(executionSeconds, scope.Clock.Elapsed.TotalSeconds), 4),
        };
        var extra = new JsonObject
        {
            ["skill"] = scope.Skill,
            ["split"] = scope.Split,
            ["model_calls"] = new JsonArray(scope.Calls.Select(c => (JsonNode)new JsonObject
            {
                ["turn"] = c.Turn,
                ["latency_seconds"] = Math.Round(c.LatencySeconds, 4),
                ["input_tokens"] = c.InputTokens,
                ["output_tokens"] = c.OutputTokens,
            }).ToArray()),
        };
        var json = VerifierResultFile.ToJson(result, scope.SkillHash, scope.SampleIndex, scope.Stage, extra);
        try
        {
            TestContext.Current.AddAttachment(AttachmentName, json, replaceExistingValue: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            TestContext.Current.SendDiagnosticMessage($"skillopt: could not attach the result of {scope.TaskId}: {ex.Message}");
        }
        if (scope.ResultsDir is { } dir)
        {
            try
            {
                VerifierResultFile.Write(dir, result, scope.SkillHash, scope.SampleIndex, scope.Stage, extra);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The trainer sees no result file and reports the task as Errored; say why on the process's output.
                Console.Error.WriteLine($"skillopt: could not write the result of {scope.TaskId} to {dir}: {ex.Message}");
            }
        }
    }

    private static string FirstLines(string text, int lines) =>
        string.Join("\n", text.Split('\n').Take(lines).Select(l => l.TrimEnd()));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"SkillResultMessageBus({scope.TaskId})");
}
