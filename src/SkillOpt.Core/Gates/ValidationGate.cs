using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Gates;

/// <summary>What a gate decided about a candidate skill.</summary>
internal enum GateVerdict
{
    /// <summary>The candidate replaces the current skill.</summary>
    Accept,
    /// <summary>The candidate is worse or not better: its edits go to the rejected-edit buffer.</summary>
    Reject,
    /// <summary>The evidence does not decide (recorded apart from a rejection); the current skill is kept.</summary>
    Inconclusive,
}

/// <summary>A gate's decision with its evidence.</summary>
/// <param name="Verdict">The verdict.</param>
/// <param name="Reason">One human-readable sentence.</param>
/// <param name="CandidateScore">Candidate mean validation score in [0,1].</param>
/// <param name="IncumbentScore">Incumbent mean validation score in [0,1] the candidate was compared with.</param>
/// <param name="Candidate">Every per-task result of the candidate's validation (only the tasks scored when evaluation stopped early).</param>
/// <param name="TasksSkipped">Validation tasks the candidate was not run on because the verdict was decided early (target calls saved).</param>
/// <param name="PValue">The test's p-value (paired gate), when one was computed.</param>
/// <param name="Wins">Paired validation tasks the candidate passed and the current skill failed (paired gate), when counted.</param>
/// <param name="Losses">Paired validation tasks the candidate failed and the current skill passed (paired gate), when counted.</param>
/// <param name="PairedTasks">Validation measurements scored for both skills (paired gate; a task counts once per draw), when counted.</param>
internal sealed record GateDecision(GateVerdict Verdict, string Reason, double CandidateScore, double IncumbentScore, Evaluation Candidate, int TasksSkipped = 0, double? PValue = null,
    int? Wins = null, int? Losses = null, int? PairedTasks = null);

/// <summary>Scores <paramref name="skill"/> (hash <paramref name="hash"/>) on <paramref name="taskIds"/> with sample <paramref name="sampleIndex"/>.</summary>
internal delegate Task<Evaluation> SkillEvaluator(string skill, string hash, IReadOnlyList<string> taskIds, int sampleIndex, CancellationToken cancellationToken);

/// <summary>Everything a gate may use to decide.</summary>
/// <param name="CandidateSkill">Candidate skill text.</param>
/// <param name="CandidateHash">Its hash.</param>
/// <param name="IncumbentSkill">Current skill text.</param>
/// <param name="IncumbentHash">Its hash.</param>
/// <param name="Incumbent">The stored validation of the current skill (the reference gate trusts it as is).</param>
/// <param name="ValidationTasks">The validation split.</param>
/// <param name="Evaluate">Scores a skill on tasks; results are cached by (skill hash, task, sample), so asking twice costs nothing.</param>
/// <param name="Seed">Run seed, for gates that order tasks at random.</param>
/// <param name="ValidationSample">Sample index of this validation round: candidate and current skill are compared on it.</param>
/// <param name="IncumbentHistory">Every scored validation result of the current skill so far, by task, across samples (pooled evidence).</param>
internal sealed record GateContext(string CandidateSkill, string CandidateHash, string IncumbentSkill, string IncumbentHash, Evaluation Incumbent,
    IReadOnlyList<string> ValidationTasks, SkillEvaluator Evaluate, int Seed, int ValidationSample = 0,
    IReadOnlyDictionary<string, IReadOnlyList<RolloutResult>>? IncumbentHistory = null);

/// <summary>Decides whether a candidate skill replaces the current one. Implementations must be deterministic given their inputs.</summary>
internal interface IValidationGate
{
    /// <summary>Config name of the gate (e.g. <c>strict</c>).</summary>
    string Name { get; }

    /// <summary>Scores the candidate (through <see cref="GateContext.Evaluate"/>) and decides.</summary>
    /// <exception cref="RolloutErrorsException">Too many validation rollouts errored.</exception>
    Task<GateDecision> DecideAsync(GateContext context, CancellationToken cancellationToken);
}

/// <summary>
/// The reference's gate: the candidate's mean score on the whole validation split must be strictly greater than the
/// stored mean of the current skill; ties reject (microsoft/SkillOpt). Every per-task result is kept in the decision.
/// </summary>
internal sealed class StrictImprovementGate : IValidationGate
{
    /// <inheritdoc />
    public string Name => "strict";

    /// <inheritdoc />
    public async Task<GateDecision> DecideAsync(GateContext context, CancellationToken cancellationToken)
    {
        var candidate = await context.Evaluate(context.CandidateSkill, context.CandidateHash, context.ValidationTasks, 0, cancellationToken).ConfigureAwait(false);
        var c = candidate.MeanScore;
        var i = context.Incumbent.MeanScore;
        return c > i
            ? new GateDecision(GateVerdict.Accept, $"candidate {c:0.####} > current {i:0.####} on {candidate.ScoredCount} validation tasks", c, i, candidate)
            : new GateDecision(GateVerdict.Reject, $"candidate {c:0.####} does not beat current {i:0.####} (strict >, ties reject)", c, i, candidate);
    }
}
