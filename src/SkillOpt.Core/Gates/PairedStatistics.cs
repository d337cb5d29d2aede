using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace SkillOpt.Core.Gates;

/// <summary>The statistics of the paired gate (exact sign test and paired t bound), with MathNet.Numerics distributions.</summary>
internal static class PairedStatistics
{
    /// <summary>
    /// One-sided exact sign (McNemar) test p-value that the candidate is better: P(X ≥ <paramref name="wins"/>) for
    /// X ~ Binomial(<paramref name="wins"/> + <paramref name="losses"/>, 1/2), where wins are tasks only the candidate
    /// passed and losses tasks only the incumbent passed (McNemar 1947; the exact form is the binomial sign test on the
    /// discordant pairs). Returns 1 when there is no discordant pair.
    /// </summary>
    /// <param name="wins">Discordant pairs in the candidate's favour (≥ 0).</param>
    /// <param name="losses">Discordant pairs against it (≥ 0).</param>
    /// <returns>A probability in [0,1].</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative.</exception>
    public static double SignTestPValue(int wins, int losses)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(wins);
        ArgumentOutOfRangeException.ThrowIfNegative(losses);
        var n = wins + losses;
        if (n == 0 || wins == 0)
        {
            return 1.0;
        }
        // P(X >= wins) = Σ_{k=wins..n} C(n,k) / 2^n, summed in log space (exact to double precision; avoids the
        // incomplete-beta rounding that makes 1/4 come out as 0.2500000000000009).
        var terms = Enumerable.Range(wins, n - wins + 1).Select(k => SpecialFunctions.BinomialLn(n, k) - n * Math.Log(2)).ToList();
        var max = terms.Max();
        return Math.Clamp(Math.Exp(max) * terms.Sum(t => Math.Exp(t - max)), 0.0, 1.0);
    }

    /// <summary>
    /// One-sided lower confidence bound at level 1 − <paramref name="alpha"/> of the mean paired difference:
    /// mean − t(1−α, n−1)·sd/√n (Student's t; for graded verifiers). <see cref="double.NegativeInfinity"/> when n &lt; 2.
    /// </summary>
    /// <param name="differences">Per-task candidate minus incumbent scores, each in [−1, 1].</param>
    /// <param name="alpha">Significance level in (0, 1).</param>
    public static double PairedLowerBound(IReadOnlyList<double> differences, double alpha) => Bound(differences, alpha, lower: true);

    /// <summary>One-sided upper confidence bound at level 1 − <paramref name="alpha"/> of the mean paired difference (see <see cref="PairedLowerBound"/>).</summary>
    public static double PairedUpperBound(IReadOnlyList<double> differences, double alpha) => Bound(differences, alpha, lower: false);

    private static double Bound(IReadOnlyList<double> d, double alpha, bool lower)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (alpha is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in (0, 1)");
        }
        var n = d.Count;
        if (n < 2)
        {
            return lower ? double.NegativeInfinity : double.PositiveInfinity;
        }
        var mean = d.Average();
        var variance = d.Sum(x => (x - mean) * (x - mean)) / (n - 1);
        var half = StudentT.InvCDF(0, 1, n - 1, 1 - alpha) * Math.Sqrt(variance / n);
        return lower ? mean - half : mean + half;
    }

    /// <summary>
    /// Log likelihood ratio of Wald's sequential probability ratio test (SPRT) on the discordant pairs: the share θ of
    /// discordant pairs the candidate wins is θ₁ = <paramref name="alternative"/> (alternative) against θ₀ = 1/2 (null), so
    /// ln Λ = wins·ln(2θ₁) + losses·ln(2(1 − θ₁)) (Wald, Sequential Tests of Statistical Hypotheses, Ann. Math. Stat. 16, 1945).
    /// Under the null, and for any θ ≤ 1/2 (a useless or harmful candidate), Λ is a non-negative (super)martingale, so by
    /// Ville's inequality P(Λ ever reaches 1/α) ≤ α, however often it is looked at (Ville 1939).
    /// </summary>
    /// <param name="wins">Discordant pairs in the candidate's favour (≥ 0).</param>
    /// <param name="losses">Discordant pairs against it (≥ 0).</param>
    /// <param name="alternative">θ₁ in (0.5, 1).</param>
    /// <returns>ln Λ (0 when there is no discordant pair).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative or θ₁ is outside (0.5, 1).</exception>
    public static double SprtLogLikelihoodRatio(int wins, int losses, double alternative)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(wins);
        ArgumentOutOfRangeException.ThrowIfNegative(losses);
        if (alternative is <= 0.5 or >= 1 || double.IsNaN(alternative))
        {
            throw new ArgumentOutOfRangeException(nameof(alternative), alternative, "the alternative win share must be in (0.5, 1)");
        }
        return wins * Math.Log(2 * alternative) + losses * Math.Log(2 * (1 - alternative));
    }

    /// <summary>
    /// The SPRT's stopping boundaries on ln Λ: accept (the candidate is better) at ln(1/α), which keeps the false-accept
    /// rate at most α by Ville's inequality (slightly more conservative than Wald's ln((1 − β)/α)); stop for futility at
    /// Wald's ln(β/(1 − α)), which only ever lowers the false-accept rate and loses a true effect of θ₁ with probability about β.
    /// </summary>
    /// <param name="alpha">Significance level in (0, 0.5].</param>
    /// <param name="beta">Type II error at the alternative in (0, 1) (1 − power).</param>
    /// <returns>(Lower, Upper): the futility and acceptance boundaries.</returns>
    /// <exception cref="ArgumentOutOfRangeException">α or β is outside its range.</exception>
    public static (double Lower, double Upper) SprtBoundaries(double alpha, double beta)
    {
        if (alpha is <= 0 or > 0.5 || double.IsNaN(alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in (0, 0.5]");
        }
        if (beta is <= 0 or >= 1 || double.IsNaN(beta))
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be in (0, 1)");
        }
        return (Math.Log(beta / (1 - alpha)), Math.Log(1 / alpha));
    }

    /// <summary>
    /// The fewest discordant wins, without a loss, that take the SPRT's Λ to its acceptance boundary 1/α:
    /// ⌈ln(1/α) / ln(2θ₁)⌉ (each win multiplies Λ by 2θ₁, see <see cref="SprtLogLikelihoodRatio"/>); e.g. 9 at α = 0.05, θ₁ = 0.7.
    /// A candidate can only win a pair the current skill failed, so a gate whose draws hold fewer failures of the current
    /// skill than this cannot accept any candidate.
    /// </summary>
    /// <param name="alpha">Significance level in (0, 0.5].</param>
    /// <param name="alternative">θ₁ in (0.5, 1).</param>
    /// <returns>A count ≥ 1.</returns>
    /// <exception cref="ArgumentOutOfRangeException">α or θ₁ is outside its range.</exception>
    public static int SprtWinsToAccept(double alpha, double alternative)
    {
        var upper = SprtBoundaries(alpha, 0.5).Upper;
        var perWin = SprtLogLikelihoodRatio(1, 0, alternative);
        // the tolerance keeps a boundary that is an exact multiple of ln(2θ₁) from rounding up through floating-point error
        return Math.Max(1, (int)Math.Ceiling(upper / perWin - 1e-9));
    }

    /// <summary>
    /// The exact null distribution behind the final analysis of a truncated SPRT: given the cumulative number of discordant
    /// pairs at each look (the last entry is the final look), the probability that the SPRT with acceptance boundary
    /// Λ ≥ 1/<paramref name="alpha"/> (<see cref="SprtBoundaries"/>) accepted at some look, and the distribution of the wins
    /// at the final look of every path that never did. Under the null each discordant pair is won with probability ½
    /// independently of which pairs are discordant, so the wins follow a symmetric random walk in the discordant pairs and
    /// the distribution is propagated exactly, look by look, with the SPRT's acceptances removed (the exact recursion of
    /// Armitage, McPherson and Rowe, J. R. Stat. Soc. A 132, 1969; here on the binomial walk). The futility boundary and
    /// every other early stop are ignored: they only stop without accepting, so leaving them out keeps the final test valid
    /// whether or not they are applied (Jennison and Turnbull, Group Sequential Methods, 2000, §5.2, non-binding futility).
    /// </summary>
    /// <param name="discordantAtLooks">Discordant pairs after each look, non-decreasing, at least one look.</param>
    /// <param name="alpha">Significance level in (0, 0.5]: the SPRT's acceptance boundary is 1/α.</param>
    /// <param name="alternative">θ₁ of the SPRT in (0.5, 1).</param>
    /// <returns>The SPRT's spent error and the survivors' distribution (see <see cref="TruncatedSprtNull"/>).</returns>
    /// <exception cref="ArgumentException">No look, or the counts are negative or decrease.</exception>
    /// <exception cref="ArgumentOutOfRangeException">α or θ₁ is outside its range.</exception>
    public static TruncatedSprtNull TruncatedSprtNullDistribution(IReadOnlyList<int> discordantAtLooks, double alpha, double alternative)
    {
        ArgumentNullException.ThrowIfNull(discordantAtLooks);
        if (discordantAtLooks.Count == 0)
        {
            throw new ArgumentException("at least one look is needed", nameof(discordantAtLooks));
        }
        var upper = SprtBoundaries(alpha, 0.5).Upper;
        var survivors = new double[] { 1.0 };
        var previous = 0;
        var spent = 0.0;
        foreach (var d in discordantAtLooks)
        {
            if (d < previous)
            {
                throw new ArgumentException("discordant counts must be non-negative and non-decreasing", nameof(discordantAtLooks));
            }
            var added = d - previous;
            var step = Enumerable.Range(0, added + 1).Select(j => Math.Exp(SpecialFunctions.BinomialLn(added, j) - added * Math.Log(2))).ToArray();
            var next = new double[d + 1];
            for (var s = 0; s < survivors.Length; s++)
            {
                if (survivors[s] == 0)
                {
                    continue;
                }
                for (var j = 0; j <= added; j++)
                {
                    next[s + j] += survivors[s] * step[j];
                }
            }
            for (var s = 0; s <= d; s++)
            {
                if (next[s] > 0 && SprtLogLikelihoodRatio(s, d - s, alternative) >= upper)
                {
                    spent += next[s];
                    next[s] = 0;
                }
            }
            survivors = next;
            previous = d;
        }
        return new TruncatedSprtNull(spent, survivors);
    }

    /// <summary>
    /// One-sided Clopper–Pearson upper confidence bound at level 1 − <paramref name="alpha"/> of a failure probability
    /// from <paramref name="failures"/> failures in <paramref name="trials"/> independent trials: the (1 − α) quantile of
    /// Beta(failures + 1, trials − failures), 1 when every trial failed, and 1 − α^(1/trials) when none did
    /// (Clopper and Pearson, Biometrika 26, 1934; MathNet.Numerics' Beta distribution).
    /// </summary>
    /// <param name="failures">Failed trials, 0 ≤ failures ≤ trials.</param>
    /// <param name="trials">Trials (≥ 0); with none the bound is 1.</param>
    /// <param name="alpha">1 − confidence, in (0, 1).</param>
    /// <returns>A probability in (0, 1].</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range or α is outside (0, 1).</exception>
    public static double FailureRateUpperBound(int failures, int trials, double alpha)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trials);
        ArgumentOutOfRangeException.ThrowIfNegative(failures);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(failures, trials);
        if (alpha is <= 0 or >= 1 || double.IsNaN(alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in (0, 1)");
        }
        return failures >= trials ? 1 : Beta.InvCDF(failures + 1, trials - failures, 1 - alpha);
    }
}

/// <summary>
/// The null distribution of a truncated SPRT at its final look (<see cref="PairedStatistics.TruncatedSprtNullDistribution"/>).
/// </summary>
/// <param name="SprtSpent">Probability in [0,1] under the null that the SPRT accepted at some look: the part of α it spent.</param>
/// <param name="Survivors">Entry s: probability under the null that the SPRT never accepted and the candidate holds s wins at the
/// final look (s from 0 to the final discordant count).</param>
internal sealed record TruncatedSprtNull(double SprtSpent, IReadOnlyList<double> Survivors)
{
    /// <summary>
    /// The final analysis' p-value of <paramref name="wins"/> wins at the final look, for a path the SPRT never accepted:
    /// P(the SPRT accepts at some look, or it never does and the final wins are ≥ <paramref name="wins"/>) under the null,
    /// the stage-wise ordering of Jennison and Turnbull (2000, §8.4). With a single look it equals the exact sign test's
    /// <see cref="PairedStatistics.SignTestPValue"/>; with more looks it is never smaller.
    /// </summary>
    /// <param name="wins">Discordant pairs won at the final look (≥ 0).</param>
    /// <returns>A probability in [0,1].</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="wins"/> is negative.</exception>
    public double PValue(int wins)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(wins);
        return Math.Clamp(SprtSpent + Survivors.Skip(wins).Sum(), 0, 1);
    }

    /// <summary>
    /// The fewest final-look wins whose <see cref="PValue"/> is at most <paramref name="alpha"/>, so that the SPRT and the
    /// final analysis together accept a useless candidate with probability at most α; one more than the final discordant count
    /// when the SPRT left too little of α for any final acceptance.
    /// </summary>
    /// <param name="alpha">Significance level in (0, 1).</param>
    /// <returns>A count from 1 to the final discordant count + 1 (0 wins always has p = 1 > α).</returns>
    /// <exception cref="ArgumentOutOfRangeException">α is outside (0, 1).</exception>
    public int WinsToAccept(double alpha)
    {
        if (alpha is <= 0 or >= 1 || double.IsNaN(alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in (0, 1)");
        }
        var tail = SprtSpent;
        for (var s = Survivors.Count - 1; s >= 0; s--)
        {
            // a relative tolerance keeps an exact boundary (p = α) from failing on rounding
            if (tail + Survivors[s] > alpha * (1 + 1e-12))
            {
                return s + 1;
            }
            tail += Survivors[s];
        }
        return 0;
    }
}

