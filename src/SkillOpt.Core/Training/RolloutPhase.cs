using System.Diagnostics;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Training;

/// <summary>
/// Rollouts and evaluations (docs/method.md, "One run"): every target call of the loop goes through here, so the rollout
/// cache, the budget check before a request, the accounting of calls, tokens and wall time by stage, and the learning of
/// verifier literals happen in one place.
/// </summary>
internal sealed class RolloutPhase
{
    private readonly TrainingContext _context;
    private readonly RolloutExecutor _executor;

    /// <summary>Creates the phase over <paramref name="runner"/>, with the cache in the run folder when the settings turn it on.</summary>
    public RolloutPhase(TrainingContext context, IRolloutRunner runner)
    {
        _context = context;
        var r = context.Settings.Rollouts;
        _executor = new RolloutExecutor(runner, r.ErroredRetries, r.MaxErrorRate);
        Cache = r.Cache ? new RolloutCache(context.Store.Root, r.TargetFingerprint) : null;
    }

    /// <summary>The rollout cache, or null when <c>rollouts.cache</c> is off.</summary>
    public RolloutCache? Cache { get; }

    /// <summary>Rollouts that errored (before retries) in this session.</summary>
    public int ErroredAttempts => _executor.ErroredAttempts;

    /// <summary>Cache hits in this session.</summary>
    public int CacheHits => Cache?.Hits ?? 0;

    /// <summary>
    /// Scores a skill on <paramref name="tasks"/> of <paramref name="split"/> (<c>val</c> or <c>test</c>) through the cache when
    /// it is on, and merges the non-errored results into the stored evaluation of (split, skill, sample) in <c>evaluations/</c>
    /// (the strict gate's incumbent evidence and the reports').
    /// </summary>
    public async Task<Evaluation> EvaluateAsync(string split, string skill, string hash, IReadOnlyList<string> tasks, int sample, string stage, CancellationToken ct)
    {
        var eval = await RunTasksAsync(skill, hash, tasks, sample, stage, reuse: Cache is not null, ct).ConfigureAwait(false);
        StoreEvaluation(split, hash, sample, eval.Results);
        return eval;
    }

    /// <summary>
    /// Merges <paramref name="results"/> into the stored evaluation of (<paramref name="split"/>, skill, sample) — a task's
    /// new result replaces its old one; errored results are not stored — and writes it once.
    /// </summary>
    public void StoreEvaluation(string split, string hash, int sample, IReadOnlyCollection<RolloutResult> results)
    {
        var store = _context.Store;
        var stored = store.ReadEvaluation(split, hash, sample);
        var fresh = results.Select(r => r.TaskId).ToHashSet(StringComparer.Ordinal);
        var merged = (stored?.Results ?? []).Where(r => !fresh.Contains(r.TaskId))
            .Concat(results.Where(r => r.Outcome != TaskOutcome.Errored)).OrderBy(r => r.TaskId, StringComparer.Ordinal).ToList();
        store.WriteEvaluation(split, new Evaluation(hash, sample, merged));
    }

    /// <summary>
    /// Runs tasks with a skill through the executor, serving (skill, task, sample) results from the rollout cache when it is
    /// on and <paramref name="reuse"/> allows, storing fresh non-errored ones, and accounting calls, tokens and wall time to <paramref name="stage"/>.
    /// </summary>
    /// <exception cref="BudgetExhaustedException">A budget limit is reached before a request outside the test split.</exception>
    public async Task<Evaluation> RunTasksAsync(string skill, string hash, IReadOnlyList<string> tasks, int sample, string stage, bool reuse, CancellationToken ct)
    {
        var have = new Dictionary<string, RolloutResult>(StringComparer.Ordinal);
        if (reuse && Cache is not null)
        {
            foreach (var t in tasks)
            {
                if (Cache.TryGet(hash, t, sample) is { } hit)
                {
                    have[t] = hit;
                }
            }
        }
        var missing = tasks.Where(t => !have.ContainsKey(t)).ToList();
        if (missing.Count > 0)
        {
            if (stage != ChatStage.Test && _context.Budget.Exhausted(_context.Spent()) is { } exhausted)
            {
                throw new BudgetExhaustedException(exhausted);
            }
            var sw = Stopwatch.StartNew();
            var fresh = await _executor.RunAsync(skill, hash, missing, sample, stage, ct).ConfigureAwait(false);
            _context.Usage.AddTokens(stage, fresh.Results.Aggregate(TokenUsage.Zero, (a, r) => a + r.Usage), fresh.Results.Count);
            _context.Usage.AddWallTime(stage, sw.Elapsed.TotalSeconds);
            _context.LeakGuard.Learn(fresh.Results);
            foreach (var r in fresh.Results)
            {
                have[r.TaskId] = r;
                Cache?.Put(hash, sample, r);
            }
        }
        return new Evaluation(hash, sample, tasks.Select(t => have[t]).ToList());
    }

    /// <summary>Counts of a rollout for <c>history.json</c>.</summary>
    public static RolloutSummary Summarize(Evaluation e) => new(e.Results.Count, e.PassedCount, e.Results.Count(r => r.Outcome == TaskOutcome.Failed), e.ErroredCount,
        e.Results.Count(r => r.Outcome == TaskOutcome.Skipped), Math.Round(e.MeanScore, 6));
}
