using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace SkillOpt.Core.Gates;

/// <summary>
/// The Bayesian statistics of <see cref="PosteriorPairedGate"/>: a Beta posterior on the share θ of discordant pairs (one
/// skill passes a task, the other fails it) that the candidate wins, and the posterior predictive distribution of the wins
/// still to come (beta-binomial), with MathNet.Numerics' special functions.
/// </summary>
/// <remarks>
/// Under a Beta(a, b) prior and w wins, l losses, θ's posterior is Beta(a + w, b + l) (the conjugate Beta–binomial model;
/// Gelman et al., Bayesian Data Analysis, 3rd ed., §2.4). θ &gt; ½ is the same event as "the candidate passes more tasks than the
/// current skill in expectation", since the expected wins minus losses per task equal the difference of the two skills' mean
/// pass rates. With the uniform prior (a = b = 1) and integer counts, P(θ ≤ ½ | w, l) equals the binomial tail
/// P(Bin(w + l + 1, ½) ≥ w + 1), so the posterior probability is the one-sided sign test's p-value of one more win.
/// </remarks>
internal static class PairedPosterior
{
    /// <summary>
    /// The posterior probability that the candidate is better, P(θ &gt; ½ | wins, losses) = 1 − I_½(a + wins, b + losses)
    /// (I the regularized incomplete beta function), for a Beta(<paramref name="priorWins"/>, <paramref name="priorLosses"/>) prior on θ.
    /// E.g. 8 wins, 4 losses, uniform prior: 1 − 1093/8192 = 0.8666.
    /// </summary>
    /// <param name="wins">Discordant pairs the candidate won (≥ 0).</param>
    /// <param name="losses">Discordant pairs it lost (≥ 0).</param>
    /// <param name="priorWins">a &gt; 0, the prior's pseudo-wins (1 with <paramref name="priorLosses"/> = 1: uniform).</param>
    /// <param name="priorLosses">b &gt; 0, the prior's pseudo-losses.</param>
    /// <returns>A probability in [0,1].</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative or a prior parameter is not positive.</exception>
    public static double ProbabilityBetter(int wins, int losses, double priorWins = 1, double priorLosses = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(wins);
        ArgumentOutOfRangeException.ThrowIfNegative(losses);
        CheckPrior(priorWins, priorLosses);
        return Math.Clamp(1 - SpecialFunctions.BetaRegularized(priorWins + wins, priorLosses + losses, 0.5), 0, 1);
    }

    /// <summary>
    /// The fewest wins out of <paramref name="discordant"/> discordant pairs whose <see cref="ProbabilityBetter"/> reaches
    /// <paramref name="threshold"/>, or <paramref name="discordant"/> + 1 when no count does. P(θ &gt; ½) grows with the wins at a
    /// fixed total, so every count from the returned one up passes. E.g. uniform prior, 0.7: 1 of 1, 3 of 4, 7 of 12.
    /// </summary>
    /// <param name="discordant">Discordant pairs (≥ 0).</param>
    /// <param name="threshold">Posterior probability in (0, 1) a candidate needs.</param>
    /// <param name="priorWins">a &gt; 0.</param>
    /// <param name="priorLosses">b &gt; 0.</param>
    /// <returns>A count from 0 to <paramref name="discordant"/> + 1.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, the threshold is outside (0, 1) or a prior parameter is not positive.</exception>
    public static int WinsNeeded(int discordant, double threshold, double priorWins = 1, double priorLosses = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(discordant);
        CheckThreshold(threshold);
        CheckPrior(priorWins, priorLosses);
        // binary search on the monotone posterior probability
        int lo = 0, hi = discordant + 1;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (ProbabilityBetter(mid, discordant - mid, priorWins, priorLosses) >= threshold)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /// <summary>
    /// The posterior predictive probability that the candidate is accepted at the end: that after <paramref name="remaining"/>
    /// more discordant pairs its wins reach <see cref="WinsNeeded"/> for the final total, when the remaining wins follow the
    /// beta-binomial distribution BetaBin(remaining, a + wins, b + losses) (the posterior predictive; the predictive-probability
    /// monitoring of Bayesian adaptive trials, Lee and Liu, Clinical Trials 5, 2008). 1 or 0 when no pair remains and the
    /// candidate has, or has not, enough wins.
    /// </summary>
    /// <param name="wins">Discordant pairs won so far (≥ 0).</param>
    /// <param name="losses">Discordant pairs lost so far (≥ 0).</param>
    /// <param name="remaining">Discordant pairs still to come (≥ 0).</param>
    /// <param name="threshold">Posterior probability in (0, 1) the final decision needs.</param>
    /// <param name="priorWins">a &gt; 0.</param>
    /// <param name="priorLosses">b &gt; 0.</param>
    /// <returns>A probability in [0,1].</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, the threshold is outside (0, 1) or a prior parameter is not positive.</exception>
    public static double PredictiveProbabilityOfAcceptance(int wins, int losses, int remaining, double threshold, double priorWins = 1, double priorLosses = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(wins);
        ArgumentOutOfRangeException.ThrowIfNegative(losses);
        ArgumentOutOfRangeException.ThrowIfNegative(remaining);
        var needed = WinsNeeded(wins + losses + remaining, threshold, priorWins, priorLosses) - wins;
        if (needed <= 0)
        {
            return 1;
        }
        if (needed > remaining)
        {
            return 0;
        }
        double alpha = priorWins + wins, beta = priorLosses + losses;
        var denominator = SpecialFunctions.BetaLn(alpha, beta);
        var tail = 0.0;
        for (var k = needed; k <= remaining; k++)
        {
            tail += Math.Exp(SpecialFunctions.BinomialLn(remaining, k) + SpecialFunctions.BetaLn(k + alpha, remaining - k + beta) - denominator);
        }
        return Math.Clamp(tail, 0, 1);
    }

    /// <summary>
    /// How many of <paramref name="remainingTasks"/> paired tasks still to score are expected to be discordant, from the
    /// <paramref name="discordant"/> of <paramref name="pairs"/> scored so far: remainingTasks · (discordant + 1) / (pairs + 2)
    /// (the posterior mean of the discordance rate under a uniform prior, Laplace's rule of succession), rounded half away from zero.
    /// </summary>
    /// <param name="discordant">Discordant pairs so far (0 ≤ discordant ≤ pairs).</param>
    /// <param name="pairs">Paired tasks scored so far (≥ 0).</param>
    /// <param name="remainingTasks">Paired tasks still to score (≥ 0).</param>
    /// <returns>A count from 0 to <paramref name="remainingTasks"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, or discordant exceeds pairs.</exception>
    public static int ExpectedDiscordant(int discordant, int pairs, int remainingTasks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(discordant);
        ArgumentOutOfRangeException.ThrowIfNegative(remainingTasks);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(discordant, pairs);
        return (int)Math.Round(remainingTasks * (discordant + 1.0) / (pairs + 2.0), MidpointRounding.AwayFromZero);
    }

    /// <summary>
    /// The probability that a candidate no better than the current skill (every discordant pair a fair coin, θ = ½) is accepted
    /// by the final decision on <paramref name="discordant"/> pairs alone: P(Bin(discordant, ½) ≥ <see cref="WinsNeeded"/>).
    /// The frequentist false-accept rate of one final look, for documentation and tests (sequential stops add to it).
    /// </summary>
    /// <param name="discordant">Discordant pairs (≥ 0).</param>
    /// <param name="threshold">Posterior probability in (0, 1).</param>
    /// <param name="priorWins">a &gt; 0.</param>
    /// <param name="priorLosses">b &gt; 0.</param>
    /// <returns>A probability in [0,1].</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, the threshold is outside (0, 1) or a prior parameter is not positive.</exception>
    public static double NullAcceptanceProbability(int discordant, double threshold, double priorWins = 1, double priorLosses = 1)
    {
        var needed = WinsNeeded(discordant, threshold, priorWins, priorLosses);
        return needed > discordant ? 0 : needed == 0 ? 1 : PairedStatistics.SignTestPValue(needed, discordant - needed);
    }

    private static void CheckPrior(double a, double b)
    {
        if (!(a > 0) || double.IsInfinity(a))
        {
            throw new ArgumentOutOfRangeException(nameof(a), a, "the prior's pseudo-wins must be positive");
        }
        if (!(b > 0) || double.IsInfinity(b))
        {
            throw new ArgumentOutOfRangeException(nameof(b), b, "the prior's pseudo-losses must be positive");
        }
    }

    private static void CheckThreshold(double threshold)
    {
        if (threshold is <= 0 or >= 1 || double.IsNaN(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the posterior probability threshold must be in (0, 1)");
        }
    }
}
