using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace SkillOpt.Core.Gates;

/// <summary>The statistics of the paired gate (exact sign test and paired t bound), with MathNet.Numerics distributions.</summary>
public static class PairedStatistics
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
    /// Deterministic curtailment of the sign test: with <paramref name="wins"/> and <paramref name="losses"/> observed and at
    /// most <paramref name="possibleWins"/> further wins and <paramref name="possibleLosses"/> further losses still possible,
    /// returns whether the final test at level <paramref name="alpha"/> is already decided. Stopping when the final outcome
    /// is certain leaves the test's error rates exactly those of the full-sample test (deterministic curtailment; Jennison
    /// &amp; Turnbull, Group Sequential Methods with Applications to Clinical Trials, 2000, §10.1).
    /// </summary>
    /// <returns><see langword="true"/> = significant whatever happens; <see langword="false"/> = cannot become significant; <see langword="null"/> = undecided.</returns>
    public static bool? CurtailedSignTest(int wins, int losses, int possibleWins, int possibleLosses, double alpha)
    {
        if (SignTestPValue(wins, losses + possibleLosses) <= alpha)
        {
            return true; // the worst case for the candidate is still significant (p grows with losses)
        }
        if (SignTestPValue(wins + possibleWins, losses) > alpha)
        {
            return false; // even the best case is not significant (p shrinks with wins)
        }
        return null;
    }
}
