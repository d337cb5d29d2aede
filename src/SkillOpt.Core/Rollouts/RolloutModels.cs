using System.Text.Json.Serialization;

namespace SkillOpt.Core.Rollouts;

/// <summary>The outcome of one task in one rollout.</summary>
/// <remarks>
/// <see cref="Errored"/> means the infrastructure failed (provider down, verifier crashed, timeout): it is never
/// a score of 0 and is excluded from means. <see cref="Skipped"/> tasks are excluded too.
/// </remarks>
internal enum TaskOutcome
{
    /// <summary>The verifier accepted the agent's work (score usually 1).</summary>
    Passed,
    /// <summary>The verifier rejected the agent's work (an assertion failed); the score may be partial.</summary>
    Failed,
    /// <summary>Something other than the agent's work failed: not evidence about the skill.</summary>
    Errored,
    /// <summary>The verifier was skipped; not evidence about the skill.</summary>
    Skipped,
}

/// <summary>Token counts of one rollout or one model call.</summary>
/// <param name="InputTokens">Prompt tokens (cached ones included).</param>
/// <param name="OutputTokens">Completion tokens (reasoning tokens included).</param>
/// <param name="CachedInputTokens">Prompt tokens served from the provider's cache.</param>
/// <param name="Calls">Model calls made.</param>
public sealed record TokenUsage(long InputTokens = 0, long OutputTokens = 0, long CachedInputTokens = 0, int Calls = 0)
{
    /// <summary>No tokens, no calls.</summary>
    public static TokenUsage Zero { get; } = new();

    /// <summary>Component-wise sum.</summary>
    public static TokenUsage operator +(TokenUsage a, TokenUsage b) =>
        new(a.InputTokens + b.InputTokens, a.OutputTokens + b.OutputTokens, a.CachedInputTokens + b.CachedInputTokens, a.Calls + b.Calls);
}

/// <summary>One tool call the agent made.</summary>
/// <param name="Id">Call id as the model gave it.</param>
/// <param name="Name">Tool (function) name.</param>
/// <param name="Arguments">Arguments as JSON text.</param>
internal sealed record TranscriptToolCall(string Id, string Name, string Arguments);

/// <summary>One message of a trajectory.</summary>
/// <param name="Role"><c>system</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</param>
/// <param name="Text">Message text (for <c>tool</c>: the tool's result).</param>
/// <param name="ToolCalls">Tool calls made by an assistant message.</param>
/// <param name="ToolCallId">For a <c>tool</c> message: the call it answers.</param>
internal sealed record TranscriptMessage(string Role, string? Text, IReadOnlyList<TranscriptToolCall>? ToolCalls = null, string? ToolCallId = null);

/// <summary>The result of running one task with one skill: what the engine learns from and scores.</summary>
internal sealed record RolloutResult
{
    /// <summary>Stable task id.</summary>
    public required string TaskId { get; init; }

    /// <summary>Outcome.</summary>
    public required TaskOutcome Outcome { get; init; }

    /// <summary>Score in [0,1]; meaningful for <see cref="TaskOutcome.Passed"/> and <see cref="TaskOutcome.Failed"/> only.</summary>
    public double Score { get; init; }

    /// <summary>Why it failed or errored (the assertion message, the exception, the process output tail); may be null for passes.</summary>
    public string? Reason { get; init; }

    /// <summary>What the target saw and did (system messages, which hold the skill, may be omitted).</summary>
    public IReadOnlyList<TranscriptMessage> Transcript { get; init; } = [];

    /// <summary>The agent's final answer, when it gave one.</summary>
    public string? FinalAnswer { get; init; }

    /// <summary>
    /// Verifier literals of this task: gold answers and expected values the verifier compared against. The engine never
    /// passes them verbatim to the optimizer (unless configured) and rejects proposed edits that contain them.
    /// </summary>
    public IReadOnlyList<string>? VerifierLiterals { get; init; }

    /// <summary>Target-model tokens and calls spent on this task.</summary>
    public TokenUsage Usage { get; init; } = TokenUsage.Zero;

    /// <summary>Wall time of the task, in seconds.</summary>
    public double DurationSeconds { get; init; }

    /// <summary>True when the outcome counts as evidence about the skill (Passed or Failed).</summary>
    [JsonIgnore]
    public bool IsScored => Outcome is TaskOutcome.Passed or TaskOutcome.Failed;

    /// <summary>Creates an <see cref="TaskOutcome.Errored"/> result.</summary>
    public static RolloutResult Errored(string taskId, string reason) => new() { TaskId = taskId, Outcome = TaskOutcome.Errored, Reason = reason };
}

/// <summary>A request to run a list of tasks with one skill.</summary>
/// <param name="Skill">The full skill text to place in the target's context.</param>
/// <param name="SkillHash">Hex SHA-256 of <paramref name="Skill"/> (UTF-8).</param>
/// <param name="TaskIds">Stable ids of the tasks to run; each appears once.</param>
/// <param name="SampleIndex">Which sample this is (0-based): runners pass it to the target model as its seed so that the same (skill, task, sample) is the same draw.</param>
/// <param name="Stage">Stage of the loop that asks (see <see cref="Accounting.ChatStage"/>).</param>
internal sealed record RolloutRequest(string Skill, string SkillHash, IReadOnlyList<string> TaskIds, int SampleIndex, string Stage);

/// <summary>
/// Runs tasks with a skill: the engine's only way to reach tasks. Implementations: the trainer's verifier-process
/// runner, in-memory runners in tests.
/// </summary>
internal interface IRolloutRunner
{
    /// <summary>Runs every task of <paramref name="request"/> and returns one result per task id, in any order.</summary>
    /// <param name="request">What to run.</param>
    /// <param name="cancellationToken">Stops launching work; running work may be abandoned.</param>
    /// <returns>One result per requested task. A task the runner could not run is an <see cref="TaskOutcome.Errored"/> result, not a missing one.</returns>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    Task<IReadOnlyList<RolloutResult>> RunAsync(RolloutRequest request, CancellationToken cancellationToken);
}

/// <summary>The tasks of a run, by split.</summary>
/// <param name="Train">Tasks the optimizer learns from.</param>
/// <param name="Validation">Held-out tasks the gate scores candidates on.</param>
/// <param name="Test">Tasks used only for the final report.</param>
internal sealed record TaskSplits(IReadOnlyList<string> Train, IReadOnlyList<string> Validation, IReadOnlyList<string> Test);
