using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Trainer.Console;

/// <summary>A rollout runner that tells a <see cref="TrainingMonitor"/> about every batch it runs (planned, then finished with its results).</summary>
/// <param name="inner">The runner that does the work.</param>
/// <param name="monitor">The monitor.</param>
internal sealed class MonitoredRolloutRunner(IRolloutRunner inner, TrainingMonitor monitor) : IRolloutRunner
{
    /// <inheritdoc/>
    public async Task<IReadOnlyList<RolloutResult>> RunAsync(RolloutRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        monitor.RolloutsStarted(request.Stage, request.TaskIds.Count);
        var results = await inner.RunAsync(request, cancellationToken).ConfigureAwait(false);
        monitor.RolloutsFinished(request.Stage, results);
        return results;
    }
}

/// <summary>An optimizer chat client that tells a <see cref="TrainingMonitor"/> about every call and its tokens (by the stage the request names).</summary>
/// <param name="inner">The client that does the work.</param>
/// <param name="monitor">The monitor.</param>
internal sealed class MonitoredChatClient(IChatClient inner, TrainingMonitor monitor) : DelegatingChatClient(inner)
{
    /// <inheritdoc/>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        var u = response.Usage;
        monitor.OptimizerCalled(ChatStage.Get(options) ?? "optimizer", new TokenUsage(u?.InputTokenCount ?? 0, u?.OutputTokenCount ?? 0, u?.CachedInputTokenCount ?? 0, 1));
        return response;
    }
}
