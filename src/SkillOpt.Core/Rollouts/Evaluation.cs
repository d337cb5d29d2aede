using System.Text.Json.Serialization;

namespace SkillOpt.Core.Rollouts;

/// <summary>The per-task scores of one skill on a set of tasks (one sample each): what gates compare.</summary>
/// <param name="SkillHash">Hex SHA-256 of the skill that was scored.</param>
/// <param name="SampleIndex">The sample index the tasks were run with.</param>
/// <param name="Results">One result per task, in the order the tasks were requested.</param>
internal sealed record Evaluation(string SkillHash, int SampleIndex, IReadOnlyList<RolloutResult> Results)
{
    /// <summary>Results that count as evidence (Passed or Failed).</summary>
    [JsonIgnore]
    public IEnumerable<RolloutResult> Scored => Results.Where(r => r.IsScored);

    /// <summary>Number of scored tasks.</summary>
    public int ScoredCount => Results.Count(r => r.IsScored);

    /// <summary>Number of Errored tasks (excluded from <see cref="MeanScore"/>).</summary>
    public int ErroredCount => Results.Count(r => r.Outcome == TaskOutcome.Errored);

    /// <summary>Number of Passed tasks.</summary>
    public int PassedCount => Results.Count(r => r.Outcome == TaskOutcome.Passed);

    /// <summary>Mean score in [0,1] over scored tasks; 0 when none was scored.</summary>
    public double MeanScore => ScoredCount == 0 ? 0 : Scored.Average(r => r.Score);

    /// <summary>Score of each scored task, by task id.</summary>
    public IReadOnlyDictionary<string, double> ScoresByTask() => Scored.ToDictionary(r => r.TaskId, r => r.Score, StringComparer.Ordinal);
}

/// <summary>Thrown when too many rollouts error for the results to mean anything (provider down, verifier broken).</summary>
internal sealed class RolloutErrorsException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="stage">Stage whose rollout failed.</param>
    /// <param name="errored">Tasks that errored after retries.</param>
    /// <param name="total">Tasks requested.</param>
    /// <param name="maxErrorRate">The configured limit, in [0,1].</param>
    /// <param name="sampleReasons">Up to a few error reasons.</param>
    public RolloutErrorsException(string stage, int errored, int total, double maxErrorRate, IReadOnlyList<string> sampleReasons)
        : base($"{errored} of {total} rollouts errored during '{stage}' (limit {maxErrorRate:P0}); the run is stopped instead of scoring infrastructure failures as skill failures. First errors: "
               + string.Join(" | ", sampleReasons))
    {
        Stage = stage;
        ErroredCount = errored;
        TotalCount = total;
    }

    /// <summary>Stage whose rollout failed.</summary>
    public string Stage { get; }

    /// <summary>Tasks that errored after retries.</summary>
    public int ErroredCount { get; }

    /// <summary>Tasks requested.</summary>
    public int TotalCount { get; }
}

/// <summary>
/// Runs rollouts through an <see cref="IRolloutRunner"/> with the engine's error policy: Errored tasks are retried,
/// then excluded and reported; when more than the allowed fraction still errors, the run stops with
/// <see cref="RolloutErrorsException"/>.
/// </summary>
internal sealed class RolloutExecutor
{
    private readonly IRolloutRunner _runner;
    private readonly int _erroredRetries;
    private readonly double _maxErrorRate;

    /// <summary>Creates an executor.</summary>
    /// <param name="runner">The runner.</param>
    /// <param name="erroredRetries">How many times an Errored task is re-run (0 or more).</param>
    /// <param name="maxErrorRate">Largest tolerated fraction, in [0,1], of tasks still Errored after retries.</param>
    public RolloutExecutor(IRolloutRunner runner, int erroredRetries, double maxErrorRate)
    {
        _runner = runner ?? throw new ArgumentNullException(nameof(runner));
        ArgumentOutOfRangeException.ThrowIfNegative(erroredRetries);
        ArgumentOutOfRangeException.ThrowIfNegative(maxErrorRate);
        _erroredRetries = erroredRetries;
        _maxErrorRate = maxErrorRate;
    }

    /// <summary>Total rollouts that errored (before retries) so far.</summary>
    public int ErroredAttempts => _erroredAttempts;
    private int _erroredAttempts;

    /// <summary>Runs <paramref name="taskIds"/> with <paramref name="skill"/> and returns one result per task, in request order.</summary>
    /// <exception cref="RolloutErrorsException">Too many tasks still errored after retries.</exception>
    /// <exception cref="InvalidOperationException">The runner returned results for unknown tasks or missed tasks.</exception>
    public async Task<Evaluation> RunAsync(string skill, string skillHash, IReadOnlyList<string> taskIds, int sampleIndex, string stage, CancellationToken cancellationToken)
    {
        var byId = new Dictionary<string, RolloutResult>(StringComparer.Ordinal);
        IReadOnlyList<string> pending = taskIds;
        for (var attempt = 0; attempt <= _erroredRetries && pending.Count > 0; attempt++)
        {
            var results = await _runner.RunAsync(new RolloutRequest(skill, skillHash, pending, sampleIndex, stage), cancellationToken).ConfigureAwait(false);
            var got = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in results)
            {
                if (!pending.Contains(r.TaskId, StringComparer.Ordinal))
                {
                    throw new InvalidOperationException($"The rollout runner returned a result for task '{r.TaskId}', which was not requested.");
                }
                got.Add(r.TaskId);
                byId[r.TaskId] = r;
            }
            foreach (var missing in pending.Where(id => !got.Contains(id)))
            {
                byId[missing] = RolloutResult.Errored(missing, "The rollout runner returned no result for this task.");
            }
            pending = pending.Where(id => byId[id].Outcome == TaskOutcome.Errored).ToList();
            Interlocked.Add(ref _erroredAttempts, pending.Count);
        }

        var ordered = taskIds.Select(id => byId[id]).ToList();
        var errored = ordered.Where(r => r.Outcome == TaskOutcome.Errored).ToList();
        if (ordered.Count > 0 && (double)errored.Count / ordered.Count > _maxErrorRate)
        {
            throw new RolloutErrorsException(stage, errored.Count, ordered.Count, _maxErrorRate,
                errored.Take(3).Select(r => $"{r.TaskId}: {Truncate(r.Reason, 300)}").ToList());
        }
        return new Evaluation(skillHash, sampleIndex, ordered);
    }

    private static string Truncate(string? s, int max) => s is null ? "(no reason)" : s.Length <= max ? s : s[..max] + "…";
}
