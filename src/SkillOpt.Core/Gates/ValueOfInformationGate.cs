using System.Globalization;
using MathNet.Numerics.Distributions;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Gates;

/// <summary>
/// A training gate that decides on the expected gain of accepting and scores more pairs only while the information they
/// would bring is worth their calls (a Bayesian sequential decision with a sampling cost; the knowledge-gradient rule of
/// Frazier, Powell and Dayanik 2008, looked ahead over several horizons as in Frazier and Powell's KG(*)).
/// <list type="bullet">
/// <item>Candidate and current skill are scored on the same validation tasks with the same sample index, in chunks, in a
/// seeded order, draw after draw (at most <c>maxDraws</c>), the current skill lazily through the rollout cache, as in
/// <see cref="PosteriorPairedGate"/>.</item>
/// <item>Δ, the candidate's expected score minus the current skill's per task (the validation score difference), has a
/// normal prior N(0, <c>priorSd</c>²); after m pairs with mean difference d̄ and variance s² its posterior is normal with
/// precision 1/priorSd² + m/s².</item>
/// <item>Stopping now is worth max(μ − margin, 0) (accept exactly when the posterior mean gain exceeds <c>margin</c>).
/// Scoring k more pairs is worth the expected value of that maximum after them; the gate goes on while, for some k among
/// one chunk, two, four, … up to the pairs left, the gain in value exceeds <c>callValue</c> × k. A clear candidate stops
/// early because its decision is known; a marginal one is scored while the information is worth its price, so the price
/// sets how long.</item>
/// </list>
/// Not selectable in skillopt.yaml: measured with GateBench and the SimLab benchmark (docs/method.md, "Later attempts to
/// move the frontier"), which construct it directly.
/// </summary>
internal sealed class ValueOfInformationGate : IPairedGate
{
    private const double CeilingConfidence = 0.8;

    private readonly double _callValue;
    private readonly double _priorSd;
    private readonly double _margin;
    private readonly int _chunkSize;

    /// <summary>Creates the gate.</summary>
    /// <param name="callValue">Validation-score gain one more paired task must be expected to bring (&gt; 0; e.g. 1e-4: 100 tasks for 0.01).</param>
    /// <param name="priorSd">Prior standard deviation of a candidate's gain (&gt; 0, score units; 0.05 by default).</param>
    /// <param name="margin">Posterior mean gain a candidate needs to be accepted (≥ 0; 0 by default).</param>
    /// <param name="chunkSize">Validation tasks per chunk (≥ 1, default 8).</param>
    /// <param name="maxDraws">Most draws per candidate (≥ 1, default 3).</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is outside its range.</exception>
    public ValueOfInformationGate(double callValue = 1e-4, double priorSd = 0.05, double margin = 0, int chunkSize = 8, int maxDraws = 3)
    {
        if (!(callValue > 0) || double.IsInfinity(callValue))
        {
            throw new ArgumentOutOfRangeException(nameof(callValue), callValue, "the value of a call must be positive");
        }
        if (!(priorSd > 0) || double.IsInfinity(priorSd))
        {
            throw new ArgumentOutOfRangeException(nameof(priorSd), priorSd, "the prior standard deviation must be positive");
        }
        if (!(margin >= 0) || double.IsInfinity(margin))
        {
            throw new ArgumentOutOfRangeException(nameof(margin), margin, "the margin must be at least 0");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDraws, 1);
        (_callValue, _priorSd, _margin, _chunkSize, MaxDraws) = (callValue, priorSd, margin, chunkSize, maxDraws);
    }

    /// <inheritdoc />
    public string Name => "value";

    /// <summary>Most draws per candidate.</summary>
    public int MaxDraws { get; }

    /// <summary>The fewest discordant wins, without a loss, whose posterior mean gain exceeds the margin (every pair a difference of +1).</summary>
    public int WinsToAccept => Math.Max(1, Enumerable.Range(1, 64).FirstOrDefault(w => Posterior(w, w, w).Mean > _margin, 64));

    string? IPairedGate.CeilingReason(IReadOnlyList<RolloutResult> currentSkill, int validationTasks) =>
        PairedScoring.CeilingReason(currentSkill, validationTasks, MaxDraws, WinsToAccept, CeilingConfidence);

    /// <inheritdoc />
    public async Task<GateDecision> DecideAsync(GateContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var tally = new PairedTally(context);
        var decided = await tally.ScoreDrawsAsync(MaxDraws, () => _chunkSize, (_, remaining) => AfterChunk(tally, remaining), null, cancellationToken).ConfigureAwait(false);
        if (decided is not null)
        {
            return decided;
        }
        var (m, v, _) = Posterior(tally);
        return Verdict(tally, m, v, $"after {MaxDraws} draw(s)");
    }

    /// <summary>After a chunk: decide now when no horizon of more pairs is worth its price.</summary>
    private GateDecision? AfterChunk(PairedTally tally, int remaining)
    {
        if (remaining == 0)
        {
            return null;
        }
        var (mean, variance, s2) = Posterior(tally);
        var next = Math.Min(_chunkSize, remaining);
        return WorthMore(mean, variance, s2, remaining, out var gain)
            ? null
            : Verdict(tally, mean, variance, string.Create(CultureInfo.InvariantCulture,
                $"no more pairs are worth their price (another {next} would add {gain:0.######} of expected gain for {_callValue * next:0.######}): decided now"));
    }

    private GateDecision Verdict(PairedTally tally, double mean, double variance, string when)
    {
        var accepted = mean > _margin;
        var verdict = accepted ? GateVerdict.Accept : tally.Wins > tally.Losses ? GateVerdict.Inconclusive : GateVerdict.Reject;
        return tally.Decide(verdict, string.Create(CultureInfo.InvariantCulture,
            $"value of information over {tally.Pairs.Count} paired tasks: {tally.Wins} wins, {tally.Losses} losses, posterior gain {mean:+0.####;-0.####;0} ± {Math.Sqrt(variance):0.####} {(accepted ? ">" : "≤")} {_margin:0.###}; {when}"), null);
    }

    /// <summary>
    /// True when some horizon of k more pairs (one chunk, two, four, …, all that are left) is worth more than k calls;
    /// <paramref name="nextChunk"/> is what one more chunk would add to the expected value of the decision.
    /// </summary>
    private bool WorthMore(double mean, double variance, double s2, int remaining, out double nextChunk)
    {
        nextChunk = 0;
        var now = Math.Max(mean - _margin, 0);
        for (var k = Math.Min(_chunkSize, remaining); ; k = Math.Min(remaining, k * 2))
        {
            var after = 1 / (1 / variance + k / s2);
            var spread = Math.Sqrt(Math.Max(variance - after, 0));
            var gain = 0.0;
            if (spread > 0)
            {
                var z = (mean - _margin) / spread;
                gain = spread * Normal.PDF(0, 1, z) + (mean - _margin) * Normal.CDF(0, 1, z) - now;
            }
            if (k <= _chunkSize)
            {
                nextChunk = gain;
            }
            if (gain > _callValue * k)
            {
                return true;
            }
            if (k >= remaining)
            {
                return false;
            }
        }
    }

    private (double Mean, double Variance, double S2) Posterior(PairedTally tally)
    {
        var diffs = tally.Differences();
        return Posterior(diffs.Sum(), diffs.Sum(d => d * d), diffs.Count);
    }

    /// <summary>The normal posterior of the mean difference from m pairs with these sums (a discordance of 0.3 as half a pair's prior weight on s²).</summary>
    private (double Mean, double Variance, double S2) Posterior(double sum, double sumSquares, int m)
    {
        var prior = _priorSd * _priorSd;
        if (m == 0)
        {
            return (0, prior, 0.3);
        }
        var mean = sum / m;
        var s2 = Math.Max((sumSquares + 0.3 * 0.5) / (m + 0.5) - mean * mean, 0.01);
        var precision = 1 / prior + m / s2;
        return (m * mean / s2 / precision, 1 / precision, s2);
    }
}
