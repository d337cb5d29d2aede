using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;

namespace SkillOpt.Providers;

/// <summary>How a call that the ledger records ended.</summary>
internal enum UsageCallOutcome
{
    /// <summary>The provider answered; tokens and cost count.</summary>
    Succeeded,
    /// <summary>The call threw; only the call and its wall time count.</summary>
    Failed,
    /// <summary>The answer came from a recording (zero provider calls); tokens and cost do not count.</summary>
    Replayed,
}

/// <summary>
/// Thread-safe totals of model calls per (role, stage): calls, failures, replays, input / cached input / output /
/// reasoning tokens, wall time and cost in US dollars. Fed by <see cref="UsageAccountingChatClient"/> and by
/// <see cref="Add(UsageSnapshot)"/> (usage reported by other processes); read with <see cref="Snapshot"/>.
/// </summary>
internal sealed class UsageLedger
{
    /// <summary>Stage recorded for calls that carry no <c>skillopt.stage</c>.</summary>
    public const string UnstagedStage = "unstaged";

    private readonly Dictionary<(string Role, string Stage), Accumulator> _entries = new();
    private readonly object _lock = new();

    /// <summary>Records one call.</summary>
    /// <param name="role">Role, for example <c>target</c>.</param>
    /// <param name="stage">Stage (see <c>SkillOpt.Core.Accounting.ChatStage</c>); <see langword="null"/> or empty records <see cref="UnstagedStage"/>.</param>
    /// <param name="usage">Token counts reported by the provider, if any (ignored unless <paramref name="outcome"/> is <see cref="UsageCallOutcome.Succeeded"/>).</param>
    /// <param name="wallTime">Time from the call's start to its end.</param>
    /// <param name="costUsd">Cost in US dollars, or <see langword="null"/> when the model has no price (counted in <see cref="UsageEntry.UnpricedCalls"/>).</param>
    /// <param name="outcome">How the call ended.</param>
    /// <exception cref="ArgumentException"><paramref name="role"/> is empty.</exception>
    public void Record(string role, string? stage, UsageDetails? usage, TimeSpan wallTime, double? costUsd,
        UsageCallOutcome outcome = UsageCallOutcome.Succeeded)
    {
        ArgumentException.ThrowIfNullOrEmpty(role);
        var key = (role, string.IsNullOrEmpty(stage) ? UnstagedStage : stage);
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var acc)) _entries[key] = acc = new Accumulator();
            acc.Calls++;
            acc.WallSeconds += wallTime.TotalSeconds;
            switch (outcome)
            {
                case UsageCallOutcome.Failed:
                    acc.FailedCalls++;
                    break;
                case UsageCallOutcome.Replayed:
                    acc.ReplayedCalls++;
                    break;
                default:
                    acc.InputTokens += usage?.InputTokenCount ?? 0;
                    acc.CachedInputTokens += usage?.CachedInputTokenCount ?? 0;
                    acc.OutputTokens += usage?.OutputTokenCount ?? 0;
                    acc.ReasoningTokens += usage?.ReasoningTokenCount ?? 0;
                    if (costUsd is { } cost) acc.CostUsd += cost;
                    else acc.UnpricedCalls++;
                    break;
            }
        }
    }

    /// <summary>Adds every entry of <paramref name="snapshot"/> (for example usage reported by a verifier process) to this ledger.</summary>
    public void Add(UsageSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_lock)
        {
            foreach (var e in snapshot.Entries)
            {
                var key = (e.Role, string.IsNullOrEmpty(e.Stage) ? UnstagedStage : e.Stage);
                if (!_entries.TryGetValue(key, out var acc)) _entries[key] = acc = new Accumulator();
                acc.Add(e);
            }
        }
    }

    /// <summary>Returns an immutable copy of the totals, entries ordered by role then stage.</summary>
    public UsageSnapshot Snapshot()
    {
        lock (_lock)
        {
            var entries = _entries.OrderBy(p => p.Key.Role, StringComparer.Ordinal).ThenBy(p => p.Key.Stage, StringComparer.Ordinal)
                .Select(p => p.Value.ToEntry(p.Key.Role, p.Key.Stage)).ToList();
            return new UsageSnapshot { Entries = entries };
        }
    }

    private sealed class Accumulator
    {
        public long Calls, FailedCalls, ReplayedCalls, UnpricedCalls, InputTokens, CachedInputTokens, OutputTokens, ReasoningTokens;
        public double WallSeconds, CostUsd;

        public void Add(UsageEntry e)
        {
            Calls += e.Calls;
            FailedCalls += e.FailedCalls;
            ReplayedCalls += e.ReplayedCalls;
            UnpricedCalls += e.UnpricedCalls;
            InputTokens += e.InputTokens;
            CachedInputTokens += e.CachedInputTokens;
            OutputTokens += e.OutputTokens;
            ReasoningTokens += e.ReasoningTokens;
            WallSeconds += e.WallSeconds;
            CostUsd += e.CostUsd;
        }

        public UsageEntry ToEntry(string role, string stage) => new()
        {
            Role = role,
            Stage = stage,
            Calls = Calls,
            FailedCalls = FailedCalls,
            ReplayedCalls = ReplayedCalls,
            UnpricedCalls = UnpricedCalls,
            InputTokens = InputTokens,
            CachedInputTokens = CachedInputTokens,
            OutputTokens = OutputTokens,
            ReasoningTokens = ReasoningTokens,
            WallSeconds = WallSeconds,
            CostUsd = CostUsd,
        };
    }
}

/// <summary>Totals of one (role, stage) pair, or of a whole snapshot. JSON names are snake_case (<c>input_tokens</c>, ...).</summary>
internal sealed record UsageEntry
{
    /// <summary>Role, for example <c>target</c>; <c>*</c> in <see cref="UsageSnapshot.Total"/>.</summary>
    public string Role { get; init; } = "";

    /// <summary>Stage, for example <c>rollout</c>; <c>*</c> in <see cref="UsageSnapshot.Total"/>.</summary>
    public string Stage { get; init; } = "";

    /// <summary>Calls made, failed and replayed ones included.</summary>
    public long Calls { get; init; }

    /// <summary>Calls that threw.</summary>
    public long FailedCalls { get; init; }

    /// <summary>Calls answered from a recording (no provider call, no tokens, no cost).</summary>
    public long ReplayedCalls { get; init; }

    /// <summary>Successful calls whose model had no price: <see cref="CostUsd"/> leaves them out.</summary>
    public long UnpricedCalls { get; init; }

    /// <summary>Input (prompt) tokens, cached ones included.</summary>
    public long InputTokens { get; init; }

    /// <summary>Input tokens served from the provider's prompt cache (a subset of <see cref="InputTokens"/>).</summary>
    public long CachedInputTokens { get; init; }

    /// <summary>Output (completion) tokens, reasoning tokens included.</summary>
    public long OutputTokens { get; init; }

    /// <summary>Reasoning tokens (a subset of <see cref="OutputTokens"/>), when the provider reports them.</summary>
    public long ReasoningTokens { get; init; }

    /// <summary>Sum of the calls' wall times in seconds (calls in parallel each count in full).</summary>
    public double WallSeconds { get; init; }

    /// <summary>Cost in US dollars of the priced calls.</summary>
    public double CostUsd { get; init; }
}

/// <summary>A point-in-time copy of a <see cref="UsageLedger"/>, serialisable to JSON for <c>summary.json</c>.</summary>
internal sealed record UsageSnapshot
{
    /// <summary>Options (read-only) that give the snapshot's JSON shape: snake_case names, indented.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = CreateJsonOptions();

    /// <summary>Version of this JSON shape (1).</summary>
    public int SchemaVersion { get; init; } = 1;

    /// <summary>One entry per (role, stage), ordered by role then stage.</summary>
    public IReadOnlyList<UsageEntry> Entries { get; init; } = [];

    /// <summary>Sum of all entries (role and stage <c>*</c>).</summary>
    public UsageEntry Total => Sum("*", "*", Entries);

    /// <summary>Sums of the entries of each role (stage <c>*</c>), ordered by role.</summary>
    public IReadOnlyList<UsageEntry> ByRole =>
        Entries.GroupBy(e => e.Role, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Sum(g.Key, "*", g)).ToList();

    /// <summary>Serialises the snapshot as indented snake_case JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a snapshot written by <see cref="ToJson"/>.</summary>
    /// <exception cref="JsonException"><paramref name="json"/> is not a snapshot.</exception>
    public static UsageSnapshot FromJson(string json) =>
        JsonSerializer.Deserialize<UsageSnapshot>(json, JsonOptions) ?? throw new JsonException("The usage snapshot is empty (null).");

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private static UsageEntry Sum(string role, string stage, IEnumerable<UsageEntry> entries)
    {
        var list = entries as IReadOnlyCollection<UsageEntry> ?? entries.ToList();
        return new UsageEntry
        {
            Role = role,
            Stage = stage,
            Calls = list.Sum(e => e.Calls),
            FailedCalls = list.Sum(e => e.FailedCalls),
            ReplayedCalls = list.Sum(e => e.ReplayedCalls),
            UnpricedCalls = list.Sum(e => e.UnpricedCalls),
            InputTokens = list.Sum(e => e.InputTokens),
            CachedInputTokens = list.Sum(e => e.CachedInputTokens),
            OutputTokens = list.Sum(e => e.OutputTokens),
            ReasoningTokens = list.Sum(e => e.ReasoningTokens),
            WallSeconds = list.Sum(e => e.WallSeconds),
            CostUsd = list.Sum(e => e.CostUsd),
        };
    }
}
