using System.Globalization;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Gates;

/// <summary>
/// A training gate that decides on the posterior probability that the candidate is better, rather than on a bound of its
/// false-accept rate. Candidate and current skill are scored on the same validation tasks with the same sample index, as in
/// <see cref="PairedSequentialGate"/>; of the discordant pairs (one skill passes a task, the other fails it) the candidate wins
/// a share θ, and θ &gt; ½ exactly when it passes more tasks than the current skill in expectation.
/// <list type="bullet">
/// <item>Pass/fail verifiers: the pairs are scored in chunks, in a seeded random order of the tasks that depends on no
/// outcome, draw after draw (at most <c>maxDraws</c>). θ has a Beta(<c>prior</c>, <c>prior</c>) prior, so after w wins and
/// l losses its posterior is Beta(prior + w, prior + l) (<see cref="PairedPosterior.ProbabilityBetter"/>). The decision at the
/// end of the last draw is: accept when P(θ &gt; ½ | w, l) ≥ <c>threshold</c>. After each chunk, the posterior predictive
/// probability that this final decision will accept (the rest of the split's pairs, discordant at the rate seen so far, won
/// by the beta-binomial predictive; <see cref="PairedPosterior.PredictiveProbabilityOfAcceptance"/>) stops the gate early:
/// at or above 1 − <c>stopProbability</c> it accepts now, at or below <c>stopProbability</c> it stops now without accepting.
/// A further draw is scored only while the candidate has won more pairs than it lost.</item>
/// <item>A candidate that is not accepted is <see cref="GateVerdict.Inconclusive"/> when it won more pairs than it lost
/// (for the loop's combination of inconclusive candidates), else rejected.</item>
/// <item>Graded verifiers (a score strictly between 0 and 1): one whole draw, and the one-sided paired t bound at level
/// <c>threshold</c> decides (<see cref="PairedStatistics.PairedLowerBound"/> with α = 1 − threshold &gt; 0: accept).</item>
/// <item>The current skill is measured lazily, on the same chunks, through the rollout cache (its results are shared by every
/// candidate of a validation round, <see cref="GateContext.ValidationSample"/>).</item>
/// </list>
/// This gate does not bound the false-accept rate of a useless candidate at a small α: that is not the objective of training,
/// where a wrongly accepted useless edit costs a few words and a wrongly rejected useful one costs quality. With the
/// defaults (threshold 0.7, prior 3, chunks of 8, stop probability 0.1, 3 draws) a candidate no better than the current
/// skill was accepted 28% of the time on 40 coin-flip tasks (every pair as likely discordant as possible; the unit tests)
/// and about 10% of the time in the simulated small-effect worlds (docs/method.md, "Quality-first accept decisions",
/// SIMULATED; <see cref="PairedPosterior.NullAcceptanceProbability"/> gives one final look's share). Strict control belongs
/// at approval, where the received skill is compared with the committed one (<see cref="ApprovalComparison"/>).
/// </summary>
internal sealed class PosteriorPairedGate : IPairedGate
{
    /// <summary>Confidence of the ceiling rule's upper bound on the current skill's failure rate (the paired sequential gate's default power).</summary>
    private const double CeilingConfidence = 0.8;

    private readonly double _threshold;
    private readonly double _prior;
    private readonly double _stop;
    private readonly double _earlyAccept;
    private readonly int _chunkSize;

    /// <summary>Creates the gate.</summary>
    /// <param name="threshold">Posterior probability P(θ &gt; ½) in (0.5, 1) that a candidate needs at the end (default 0.7).</param>
    /// <param name="prior">a &gt; 0 of the symmetric Beta(a, a) prior on θ (default 3; 1 is uniform); larger shrinks small counts towards ½.</param>
    /// <param name="stopProbability">Predictive probability in [0, 0.5) at which the gate stops early (default 0.1); 0 never stops before the last draw.</param>
    /// <param name="chunkSize">Validation tasks per chunk (≥ 1, default 8).</param>
    /// <param name="maxDraws">Most draws (passes over the validation split, each with its own sample index) per candidate (≥ 1, default 3).</param>
    /// <param name="earlyAcceptProbability">Predictive probability in (0.5, 1] at or above which the gate accepts before the last draw
    /// (default: 1 − <paramref name="stopProbability"/>, or never when that is 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is outside its range.</exception>
    public PosteriorPairedGate(double threshold = 0.7, double prior = 3, double stopProbability = 0.1, int chunkSize = 8, int maxDraws = 3, double? earlyAcceptProbability = null)
    {
        if (threshold is <= 0.5 or >= 1 || double.IsNaN(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the posterior probability threshold must be in (0.5, 1)");
        }
        if (!(prior > 0) || double.IsInfinity(prior))
        {
            throw new ArgumentOutOfRangeException(nameof(prior), prior, "the prior must be positive");
        }
        if (stopProbability is < 0 or >= 0.5 || double.IsNaN(stopProbability))
        {
            throw new ArgumentOutOfRangeException(nameof(stopProbability), stopProbability, "the stop probability must be in [0, 0.5)");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDraws, 1);
        if (earlyAcceptProbability is { } e && (e is <= 0.5 or > 1 || double.IsNaN(e)))
        {
            throw new ArgumentOutOfRangeException(nameof(earlyAcceptProbability), e, "the early-accept probability must be in (0.5, 1]");
        }
        (_threshold, _prior, _stop, _chunkSize, MaxDraws) = (threshold, prior, stopProbability, chunkSize, maxDraws);
        _earlyAccept = earlyAcceptProbability ?? (stopProbability > 0 ? 1 - stopProbability : double.PositiveInfinity);
    }

    /// <inheritdoc />
    public string Name => "posterior";

    /// <summary>Most draws per candidate.</summary>
    public int MaxDraws { get; }

    /// <summary>
    /// The fewest discordant wins, without a loss, on which this gate can accept: the smallest w with
    /// P(θ &gt; ½ | w, 0) ≥ threshold (2 at the defaults: Beta(5, 3) gives 0.773; 1 with a uniform prior). A gate whose draws hold fewer failures of
    /// the current skill than this cannot accept any candidate.
    /// </summary>
    public int WinsToAccept => Math.Max(1, Enumerable.Range(0, 64).First(w => PairedPosterior.ProbabilityBetter(w, 0, _prior, _prior) >= _threshold));

    /// <summary>
    /// The ceiling rule (<c>training.early_stopping.ceiling</c>): with the current skill's failure rate at its one-sided 80%
    /// Clopper–Pearson upper bound u, a gate's <see cref="MaxDraws"/> draws of the validation split hold about
    /// <see cref="MaxDraws"/>·n·u failures to win; below <see cref="WinsToAccept"/> (2 at the defaults) no candidate is likely
    /// to be accepted.
    /// </summary>
    string? IPairedGate.CeilingReason(IReadOnlyList<RolloutResult> currentSkill, int validationTasks) =>
        PairedScoring.CeilingReason(currentSkill, validationTasks, MaxDraws, WinsToAccept, CeilingConfidence);

    /// <inheritdoc />
    public async Task<GateDecision> DecideAsync(GateContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var tally = new PairedTally(context);
        var decided = await tally.ScoreDrawsAsync(MaxDraws, () => tally.Graded ? context.ValidationTasks.Count : _chunkSize,
            (draw, remainingTasks) => AfterChunk(tally, draw, remainingTasks), draw => AfterDraw(tally, draw), cancellationToken).ConfigureAwait(false);
        if (decided is not null)
        {
            return decided;
        }
        var posterior = PairedPosterior.ProbabilityBetter(tally.Wins, tally.Losses, _prior, _prior);
        var accepted = posterior >= _threshold;
        return tally.Decide(accepted ? GateVerdict.Accept : NotAccepted(tally),
            Describe($"{(accepted ? "≥" : "<")} {_threshold:0.##}: {(accepted ? "accepted" : "not accepted")}", tally, MaxDraws), null);
    }

    /// <summary>After a chunk: accept early or stop on the predictive probability of the final decision (pass/fail only).</summary>
    private GateDecision? AfterChunk(PairedTally tally, int draw, int remainingTasks)
    {
        if (tally.Graded || remainingTasks == 0)
        {
            return null;
        }
        var remaining = PairedPosterior.ExpectedDiscordant(tally.Wins + tally.Losses, tally.Pairs.Count, remainingTasks);
        var predictive = PairedPosterior.PredictiveProbabilityOfAcceptance(tally.Wins, tally.Losses, remaining, _threshold, _prior, _prior);
        if (predictive >= _earlyAccept)
        {
            return tally.Decide(GateVerdict.Accept, Describe($"predictive probability of acceptance {predictive:0.###} ≥ {_earlyAccept:0.##} with about {remaining} discordant pairs to come: accepted early", tally, draw + 1), null);
        }
        return _stop > 0 && predictive <= _stop
            ? tally.Decide(NotAccepted(tally), Describe($"predictive probability of acceptance {predictive:0.###} ≤ {_stop:0.##} with about {remaining} discordant pairs to come: stopped", tally, draw + 1), null)
            : null;
    }

    /// <summary>After a whole draw: graded scores decide on the paired t bound; a candidate that does not lead gets no further draw.</summary>
    private GateDecision? AfterDraw(PairedTally tally, int draw)
    {
        if (tally.Graded)
        {
            var diffs = tally.Differences();
            var lower = PairedStatistics.PairedLowerBound(diffs, 1 - _threshold);
            var mean = diffs.Count == 0 ? 0 : diffs.Average();
            var verdict = lower > 0 ? GateVerdict.Accept : mean > 0 ? GateVerdict.Inconclusive : GateVerdict.Reject;
            return tally.Decide(verdict, string.Create(CultureInfo.InvariantCulture, $"paired t: mean difference {mean:+0.####;-0.####;0}, one-sided {_threshold:P0} lower bound {lower:0.####} over {diffs.Count} tasks"), null);
        }
        return draw + 1 < MaxDraws && tally.Wins <= tally.Losses
            ? tally.Decide(GateVerdict.Reject, Describe($"no more wins than losses after a whole draw", tally, draw + 1), null)
            : null;
    }

    private static GateVerdict NotAccepted(PairedTally tally) => tally.Wins > tally.Losses ? GateVerdict.Inconclusive : GateVerdict.Reject;

    private string Describe(FormattableString verdict, PairedTally tally, int draws) =>
        string.Create(CultureInfo.InvariantCulture,
            $"posterior over {tally.Pairs.Count} paired tasks ({draws} draw(s)): {tally.Wins} wins, {tally.Losses} losses, P(better) = {PairedPosterior.ProbabilityBetter(tally.Wins, tally.Losses, _prior, _prior):0.###}; {verdict.ToString(CultureInfo.InvariantCulture)}");
}
