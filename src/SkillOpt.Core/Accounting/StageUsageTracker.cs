using System.Collections.Concurrent;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Accounting;

/// <summary>Calls, tokens and wall time spent in one stage of the loop.</summary>
/// <param name="Calls">Model calls (for rollout stages: target calls reported by the runner).</param>
/// <param name="InputTokens">Input tokens (cached included).</param>
/// <param name="OutputTokens">Output tokens.</param>
/// <param name="CachedInputTokens">Input tokens served from the provider's cache.</param>
/// <param name="Tasks">Task rollouts (rollout stages only).</param>
/// <param name="WallSeconds">Wall time of the stage, in seconds (parallel calls overlap, so this is not a sum of call latencies).</param>
internal sealed record StageUsage(long Calls, long InputTokens, long OutputTokens, long CachedInputTokens, long Tasks, double WallSeconds)
{
    /// <summary>Nothing spent.</summary>
    public static StageUsage Zero { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>Component-wise sum.</summary>
    public static StageUsage operator +(StageUsage a, StageUsage b) => new(a.Calls + b.Calls, a.InputTokens + b.InputTokens, a.OutputTokens + b.OutputTokens,
        a.CachedInputTokens + b.CachedInputTokens, a.Tasks + b.Tasks, a.WallSeconds + b.WallSeconds);
}

/// <summary>Thread-safe per-stage accounting (stage names from <see cref="ChatStage"/>).</summary>
internal sealed class StageUsageTracker
{
    private readonly ConcurrentDictionary<string, StageUsage> _stages = new(StringComparer.Ordinal);

    /// <summary>Adds model usage to <paramref name="stage"/>.</summary>
    public void AddTokens(string stage, TokenUsage usage, long tasks = 0) =>
        _stages.AddOrUpdate(stage, _ => new StageUsage(usage.Calls, usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, tasks, 0),
            (_, old) => old + new StageUsage(usage.Calls, usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, tasks, 0));

    /// <summary>Adds wall time, in seconds, to <paramref name="stage"/>.</summary>
    public void AddWallTime(string stage, double seconds) =>
        _stages.AddOrUpdate(stage, _ => StageUsage.Zero with { WallSeconds = seconds }, (_, old) => old with { WallSeconds = old.WallSeconds + seconds });

    /// <summary>A copy of the totals so far, by stage name (ordinal order).</summary>
    public SortedDictionary<string, StageUsage> Snapshot() => new(_stages.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);

    /// <summary>Adds every stage of <paramref name="totals"/> (used when resuming).</summary>
    public void Restore(IReadOnlyDictionary<string, StageUsage>? totals)
    {
        foreach (var (k, v) in totals ?? new Dictionary<string, StageUsage>())
        {
            _stages.AddOrUpdate(k, v, (_, old) => old + v);
        }
    }

    /// <summary>Per-stage difference <paramref name="after"/> − <paramref name="before"/> (stages with no change are omitted).</summary>
    public static SortedDictionary<string, StageUsage> Delta(IReadOnlyDictionary<string, StageUsage> before, IReadOnlyDictionary<string, StageUsage> after)
    {
        var d = new SortedDictionary<string, StageUsage>(StringComparer.Ordinal);
        foreach (var (k, a) in after)
        {
            var b = before.TryGetValue(k, out var x) ? x : StageUsage.Zero;
            var diff = new StageUsage(a.Calls - b.Calls, a.InputTokens - b.InputTokens, a.OutputTokens - b.OutputTokens, a.CachedInputTokens - b.CachedInputTokens,
                a.Tasks - b.Tasks, Math.Round(a.WallSeconds - b.WallSeconds, 3));
            if (diff != StageUsage.Zero)
            {
                d[k] = diff;
            }
        }
        return d;
    }
}
