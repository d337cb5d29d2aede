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
/// <param name="TaskHistory">Pass/fail counts by validation task over the run's validation measurements of every skill but the candidate (the strict gate's difficulty-aware futility stop), or null.</param>
internal sealed record GateContext(string CandidateSkill, string CandidateHash, string IncumbentSkill, string IncumbentHash, Evaluation Incumbent,
    IReadOnlyList<string> ValidationTasks, SkillEvaluator Evaluate, int Seed, int ValidationSample = 0,
    IReadOnlyDictionary<string, IReadOnlyList<RolloutResult>>? IncumbentHistory = null, IReadOnlyDictionary<string, TaskTally>? TaskHistory = null);

/// <summary>How often a validation task passed and failed over the run's measurements (pass/fail scores only).</summary>
/// <param name="Passes">Measurements that passed (≥ 0).</param>
/// <param name="Failures">Measurements that failed (≥ 0).</param>
internal readonly record struct TaskTally(int Passes, int Failures);

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
/// With <c>byTask</c> (<c>gate.strict.task_difficulty</c>) and a <see cref="GateContext.TaskHistory"/>, the predictive
/// knows each remaining task's difficulty from the run's other validation measurements
/// (<see cref="StrictCurtailment.ProbabilityAboveByTask"/>) instead of treating the remaining tasks as alike.
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
    private readonly bool _byTask;

    /// <summary>Creates the gate.</summary>
    /// <param name="stopProbability">Predictive probability in [0, 0.5) below which a candidate is stopped as futile (0, the reference's: every candidate is scored on the whole split).</param>
    /// <param name="chunkSize">Validation tasks per chunk when <paramref name="stopProbability"/> is above 0 (≥ 1, default 8).</param>
    /// <param name="byTask">The predictive uses each task's difficulty from <see cref="GateContext.TaskHistory"/> when one is given (<see cref="StrictCurtailment.ProbabilityAboveByTask"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is outside its range.</exception>
    public StrictImprovementGate(double stopProbability = 0, int chunkSize = 8, bool byTask = false)
    {
        if (stopProbability is < 0 or >= 0.5 || double.IsNaN(stopProbability))
        {
            throw new ArgumentOutOfRangeException(nameof(stopProbability), stopProbability, "the stop probability must be in [0, 0.5)");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        (_stop, _chunkSize, _byTask) = (stopProbability, chunkSize, byTask);
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
            context.Incumbent.MeanScore, cancellationToken, context.TaskHistory);
    }

    /// <summary>
    /// Scores <paramref name="skill"/> on <paramref name="tasks"/> (sample <paramref name="sample"/>) against the stored mean
    /// <paramref name="bar"/> in [0,1] and decides as <see cref="DecideAsync(GateContext, CancellationToken)"/> does: the
    /// training loop's gate, and the final skill's validation against the best skill's score before its promotion.
    /// <paramref name="taskHistory"/>: pass/fail counts by task over the run's validation measurements of other skills (see <see cref="GateContext.TaskHistory"/>), or null.
    /// </summary>
    /// <exception cref="RolloutErrorsException">Too many validation rollouts errored.</exception>
    public async Task<GateDecision> DecideAsync(string skill, string hash, IReadOnlyList<string> tasks, SkillEvaluator evaluate, int seed, int sample, double bar,
        CancellationToken cancellationToken, IReadOnlyDictionary<string, TaskTally>? taskHistory = null)
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
            if (remaining > 0 && Futility(results, order.Skip(start + part.Count).ToList(), i, _byTask ? taskHistory : null) is { } why)
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
    /// <paramref name="rest"/> tasks, or (pass/fail scores only) the predictive probability that it ends above is below the
    /// stop probability: by task when <paramref name="history"/> is given, else with the remaining tasks alike.
    /// </summary>
    private string? Futility(List<RolloutResult> results, IReadOnlyList<string> rest, double i, IReadOnlyDictionary<string, TaskTally>? history)
    {
        var remaining = rest.Count;
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
        // a task with no measurement of its own takes the pooled pass rate of all of them
        var pooled = history is null ? 0 : StrictCurtailment.TaskLogit(history.Values.Sum(t => t.Passes), history.Values.Sum(t => t.Failures));
        double Logit(string task) => history!.TryGetValue(task, out var t) ? StrictCurtailment.TaskLogit(t.Passes, t.Failures) : pooled;
        var predictive = history is null
            ? StrictCurtailment.ProbabilityAbove(passes, scored.Count - passes, remaining, i)
            : StrictCurtailment.ProbabilityAboveByTask([.. scored.Select(r => (r.Score >= 1, Logit(r.TaskId)))], [.. rest.Select(Logit)],
                StrictCurtailment.PassesNeeded(scored.Count + remaining, i) - passes);
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

    /// <summary>
    /// Standard deviation of the prior on a candidate's shift θ (logit scale) in <see cref="ProbabilityAboveByTask"/>: 1, the
    /// value GateBench chose (seeds 1–100, among 0.5, 1 and 2) and confirmed on seeds 2001–2300 (docs/method.md, "A futility
    /// stop that knows each task's difficulty").
    /// </summary>
    public const double ShiftPriorSd = 1.0;

    private const double GridStep = 0.1;
    private const int GridHalfWidth = 40; // θ from −4 to 4

    /// <summary>
    /// A task's difficulty as the logit of its pass rate over the run's other validation measurements, with Jeffreys'
    /// Beta(½, ½) prior: log((passes + ½) / (failures + ½)). 0 (a pass rate of ½) for a task never measured.
    /// </summary>
    /// <param name="passes">Measurements that passed (≥ 0).</param>
    /// <param name="failures">Measurements that failed (≥ 0).</param>
    /// <returns>A logit, finite.</returns>
    public static double TaskLogit(int passes, int failures) => Math.Log((passes + 0.5) / (failures + 0.5));

    /// <summary>
    /// The futility stop's predictive probability when each task's difficulty is known from the run's other validation
    /// measurements (a Rasch, or one-parameter logistic, model): the candidate passes task t with probability
    /// σ(d_t + θ), d_t the task's logit (<see cref="TaskLogit"/>) and θ the candidate's own shift, with a normal prior
    /// N(0, <paramref name="shiftSd"/>²) updated by the tasks it has been scored on. Returns P(R ≥ <paramref name="toGo"/>),
    /// R its passes on the remaining tasks: the Poisson-binomial tail for each θ on a grid from −4 to 4 (step 0.1), averaged
    /// over θ's posterior. A first chunk of hard tasks then no longer reads as a weak candidate, nor a first chunk of easy
    /// ones as a strong one: the tasks still to come are predicted one by one (docs/method.md, "A futility stop that knows
    /// each task's difficulty").
    /// </summary>
    /// <param name="scored">The candidate's scored tasks so far: its outcome (passed) and the task's logit d_t.</param>
    /// <param name="remaining">The logits d_t of the tasks still to score.</param>
    /// <param name="toGo">Passes still needed on the remaining tasks for a mean strictly above the stored one.</param>
    /// <param name="shiftSd">Standard deviation &gt; 0 of the prior on θ (default <see cref="ShiftPriorSd"/>).</param>
    /// <returns>A probability in [0,1]; 1 when <paramref name="toGo"/> ≤ 0, 0 when it exceeds the remaining tasks.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="shiftSd"/> is not a positive finite number.</exception>
    public static double ProbabilityAboveByTask(IReadOnlyList<(bool Passed, double Logit)> scored, IReadOnlyList<double> remaining, int toGo, double shiftSd = ShiftPriorSd)
    {
        ArgumentNullException.ThrowIfNull(scored);
        ArgumentNullException.ThrowIfNull(remaining);
        if (!(shiftSd > 0) || double.IsInfinity(shiftSd))
        {
            throw new ArgumentOutOfRangeException(nameof(shiftSd), shiftSd, "the prior's standard deviation must be a positive finite number");
        }
        if (toGo <= 0)
        {
            return 1;
        }
        if (toGo > remaining.Count)
        {
            return 0;
        }
        var logPosterior = new double[2 * GridHalfWidth + 1];
        for (var g = 0; g < logPosterior.Length; g++)
        {
            var theta = (g - GridHalfWidth) * GridStep;
            var lp = -theta * theta / (2 * shiftSd * shiftSd);
            foreach (var (passed, logit) in scored)
            {
                // log σ(x) = −log(1 + e^−x), written to stay finite for large |x|
                var x = passed ? logit + theta : -(logit + theta);
                lp -= x > 0 ? Math.Log(1 + Math.Exp(-x)) : -x + Math.Log(1 + Math.Exp(x));
            }
            logPosterior[g] = lp;
        }
        var max = logPosterior.Max();
        var weights = logPosterior.Select(lp => Math.Exp(lp - max)).ToArray();
        var total = weights.Sum();
        var probability = 0.0;
        var pmf = new double[toGo + 1]; // pmf[toGo] holds P(R ≥ toGo)
        for (var g = 0; g < weights.Length; g++)
        {
            var w = weights[g] / total;
            if (w < 1e-12)
            {
                continue;
            }
            var theta = (g - GridHalfWidth) * GridStep;
            Array.Clear(pmf);
            pmf[0] = 1;
            foreach (var logit in remaining)
            {
                var p = 1 / (1 + Math.Exp(-(logit + theta)));
                pmf[toGo] += pmf[toGo - 1] * p;
                for (var k = toGo - 1; k >= 1; k--)
                {
                    pmf[k] = pmf[k] * (1 - p) + pmf[k - 1] * p;
                }
                pmf[0] *= 1 - p;
            }
            probability += w * pmf[toGo];
        }
        return Math.Clamp(probability, 0, 1);
    }
}
