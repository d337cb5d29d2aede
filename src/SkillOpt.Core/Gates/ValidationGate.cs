using System.Globalization;
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
/// <param name="ValidationSample">Sample index of this validation round (≥ 0): the paired gates compare candidate and current skill on it (and the next draws); the strict gate scores the candidate on it against the current skill's stored evaluation, which may be of another sample.</param>
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
/// <para>
/// With a stop probability above 0 (<c>gate.strict.stop_probability</c>), the candidate is scored in chunks, in a seeded
/// random order of the tasks (its own for each candidate) that depends on no outcome, and stopped as futile after a chunk
/// once its mean over the whole split can no longer, or is unlikely to, end above the stored mean: when even passing every
/// remaining task would not beat it, or, for pass/fail verifiers, when the posterior predictive probability that it will
/// (the remaining passes following the beta-binomial predictive of a uniform prior on the candidate's pass rate;
/// stochastic curtailment, Lan, Simon and Halperin, Communications in Statistics C 1, 1982) is below the stop
/// probability. A candidate is only ever accepted on the whole split, so the stored mean of an accepted candidate is
/// always a whole draw, and the gate accepts exactly the candidates the reference's gate accepts except those a stop
/// turned away (docs/method.md, "The strict gate with a futility stop").
/// </para>
/// <para>
/// The candidate is scored on sample <see cref="GateContext.ValidationSample"/>, and its decision's evaluation carries that
/// sample, which becomes the stored evaluation of an accepted candidate. The training loop passes 0 in <c>classic</c> and
/// 1 + r in round r otherwise, so that no candidate is chosen on the sample the test split is scored on.
/// </para>
/// </summary>
internal sealed class StrictImprovementGate : IValidationGate
{
    private readonly double _stop;
    private readonly int _chunkSize;

    /// <summary>Creates the gate.</summary>
    /// <param name="stopProbability">Predictive probability in [0, 0.5) below which a candidate is stopped as futile (0, the reference's: every candidate is scored on the whole split).</param>
    /// <param name="chunkSize">Validation tasks per chunk when <paramref name="stopProbability"/> is above 0 (≥ 1, default 8).</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is outside its range.</exception>
    public StrictImprovementGate(double stopProbability = 0, int chunkSize = 8)
    {
        if (stopProbability is < 0 or >= 0.5 || double.IsNaN(stopProbability))
        {
            throw new ArgumentOutOfRangeException(nameof(stopProbability), stopProbability, "the stop probability must be in [0, 0.5)");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        (_stop, _chunkSize) = (stopProbability, chunkSize);
    }

    /// <inheritdoc />
    public string Name => "strict";

    /// <summary>True when candidates are scored in chunks and may be stopped before the whole split (stop probability above 0).</summary>
    public bool StopsEarly => _stop > 0;

    /// <inheritdoc />
    public Task<GateDecision> DecideAsync(GateContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return DecideAsync(context.CandidateSkill, context.CandidateHash, context.ValidationTasks, context.Evaluate, context.Seed, context.ValidationSample,
            context.Incumbent.MeanScore, cancellationToken);
    }

    /// <summary>
    /// Scores <paramref name="skill"/> on <paramref name="tasks"/> (sample <paramref name="sample"/>) against the stored mean
    /// <paramref name="bar"/> in [0,1] and decides as <see cref="DecideAsync(GateContext, CancellationToken)"/> does: the
    /// training loop's gate, and the final skill's validation against the best skill's score before its promotion.
    /// </summary>
    /// <exception cref="RolloutErrorsException">Too many validation rollouts errored.</exception>
    public async Task<GateDecision> DecideAsync(string skill, string hash, IReadOnlyList<string> tasks, SkillEvaluator evaluate, int seed, int sample, double bar,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(evaluate);
        var i = bar;
        if (_stop <= 0)
        {
            var whole = await evaluate(skill, hash, tasks, sample, cancellationToken).ConfigureAwait(false);
            return Decide(whole, i);
        }
        // a fresh order for every candidate: with one order for all, a first chunk of hard (or easy) tasks would stop (or
        // spare) every candidate of the run alike
        var order = PairedScoring.SeededOrder(tasks, string.Create(CultureInfo.InvariantCulture, $"{seed}|strict-order|{hash}"));
        var results = new List<RolloutResult>(order.Count);
        for (var start = 0; start < order.Count; start += _chunkSize)
        {
            var part = order.Skip(start).Take(_chunkSize).ToList();
            var eval = await evaluate(skill, hash, part, sample, cancellationToken).ConfigureAwait(false);
            results.AddRange(eval.Results);
            var remaining = order.Count - start - part.Count;
            if (remaining > 0 && Futility(results, remaining, i) is { } why)
            {
                var sofar = new Evaluation(hash, sample, results);
                return new GateDecision(GateVerdict.Reject,
                    string.Create(CultureInfo.InvariantCulture, $"candidate {sofar.MeanScore:0.####} on {sofar.ScoredCount} of {order.Count} validation tasks; {why} to beat current {i:0.####}: stopped"),
                    sofar.MeanScore, i, sofar, TasksSkipped: remaining);
            }
        }
        return Decide(new Evaluation(hash, sample, results), i);
    }

    private static GateDecision Decide(Evaluation candidate, double i)
    {
        var c = candidate.MeanScore;
        return c > i
            ? new GateDecision(GateVerdict.Accept, $"candidate {c:0.####} > current {i:0.####} on {candidate.ScoredCount} validation tasks", c, i, candidate)
            : new GateDecision(GateVerdict.Reject, $"candidate {c:0.####} does not beat current {i:0.####} (strict >, ties reject)", c, i, candidate);
    }

    /// <summary>
    /// Why the candidate should stop, or null to go on: it cannot end above <paramref name="i"/> even when it passes the
    /// <paramref name="remaining"/> tasks, or (pass/fail scores only) the predictive probability that it ends above is below the stop probability.
    /// </summary>
    private string? Futility(List<RolloutResult> results, int remaining, double i)
    {
        var scored = results.Where(r => r.IsScored).ToList();
        var sum = scored.Sum(r => r.Score);
        var total = scored.Count + remaining;
        if ((sum + remaining) / total <= i)
        {
            return "even a pass on every remaining task is not enough";
        }
        if (scored.Any(r => r.Score is > 0 and < 1))
        {
            return null;
        }
        var passes = (int)Math.Round(sum);
        var predictive = StrictCurtailment.ProbabilityAbove(passes, scored.Count - passes, remaining, i);
        return predictive < _stop
            ? string.Create(CultureInfo.InvariantCulture, $"predictive probability {predictive:0.###} < {_stop:0.##}")
            : null;
    }
}

/// <summary>The predictive arithmetic of <see cref="StrictImprovementGate"/>'s futility stop, with MathNet.Numerics' beta-binomial distribution.</summary>
internal static class StrictCurtailment
{
    /// <summary>
    /// The fewest passes of <paramref name="total"/> pass/fail tasks whose mean is strictly above <paramref name="incumbent"/>
    /// (the reference gate's comparison), or <paramref name="total"/> + 1 when no count is. E.g. 0.5 of 60: 31.
    /// </summary>
    /// <param name="total">Tasks scored in the end (≥ 1).</param>
    /// <param name="incumbent">The stored mean score in [0,1] to beat.</param>
    /// <returns>A count from 0 to <paramref name="total"/> + 1.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="total"/> is below 1.</exception>
    public static int PassesNeeded(int total, double incumbent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(total, 1);
        var needed = Math.Clamp((int)Math.Floor(incumbent * total), 0, total + 1);
        // the same double comparison as the decision (mean > stored), around the floor
        while (needed > 0 && (needed - 1) / (double)total > incumbent)
        {
            needed--;
        }
        while (needed <= total && needed / (double)total <= incumbent)
        {
            needed++;
        }
        return needed;
    }

    /// <summary>
    /// The posterior predictive probability that a candidate with <paramref name="passes"/> and <paramref name="failures"/>
    /// so far ends with a mean strictly above <paramref name="incumbent"/> once <paramref name="remaining"/> more tasks are
    /// scored: P(R ≥ needed − passes) for R ~ BetaBin(remaining, 1 + passes, 1 + failures), the predictive of a uniform
    /// prior on its pass rate (Gelman et al., Bayesian Data Analysis, 3rd ed., §2.4). 1 or 0 when the outcome is already
    /// certain.
    /// </summary>
    /// <param name="passes">Tasks passed so far (≥ 0).</param>
    /// <param name="failures">Tasks failed so far (≥ 0).</param>
    /// <param name="remaining">Tasks still to score (≥ 0).</param>
    /// <param name="incumbent">The stored mean score in [0,1] to beat.</param>
    /// <returns>A probability in [0,1].</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, or no task is scored or to come.</exception>
    public static double ProbabilityAbove(int passes, int failures, int remaining, double incumbent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(passes);
        ArgumentOutOfRangeException.ThrowIfNegative(failures);
        ArgumentOutOfRangeException.ThrowIfNegative(remaining);
        var toGo = PassesNeeded(passes + failures + remaining, incumbent) - passes;
        if (toGo <= 0)
        {
            return 1;
        }
        if (toGo > remaining)
        {
            return 0;
        }
        return Math.Clamp(1 - MathNet.Numerics.Distributions.BetaBinomial.CDF(remaining, 1 + passes, 1 + failures, toGo - 1), 0, 1);
    }
}
