using MathNet.Numerics.Distributions;

namespace SkillOpt.Trainer.Reports;

/// <summary>
/// The mean of paired differences (run B − run A, per shared task) with its two-sided 95% confidence interval from
/// Student's t distribution: mean ± t(0.975, n−1) · s / √n, where s is the sample standard deviation of the differences
/// (n − 1 in the denominator). With one shared task there is no interval (null bounds); when every difference is equal
/// the interval is the mean itself.
/// </summary>
/// <param name="Tasks">Shared tasks n (scored in both runs).</param>
/// <param name="Mean">Mean difference, in score units ([−1, 1]).</param>
/// <param name="Lower">Lower bound of the 95% interval, or null when n &lt; 2.</param>
/// <param name="Upper">Upper bound of the 95% interval, or null when n &lt; 2.</param>
internal sealed record PairedDifference(int Tasks, double Mean, double? Lower, double? Upper)
{
    /// <summary>The confidence level of the interval (0.95).</summary>
    public const double Level = 0.95;

    /// <summary>Computes the paired difference of <paramref name="b"/> − <paramref name="a"/> over the task ids both hold; null when they share none.</summary>
    /// <param name="a">Scores of run A by task id, in [0,1].</param>
    /// <param name="b">Scores of run B by task id, in [0,1].</param>
    public static PairedDifference? Of(IReadOnlyDictionary<string, double> a, IReadOnlyDictionary<string, double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var diffs = a.Keys.Where(b.ContainsKey).Order(StringComparer.Ordinal).Select(k => b[k] - a[k]).ToList();
        return diffs.Count == 0 ? null : Of(diffs);
    }

    /// <summary>Computes the mean and interval of differences.</summary>
    /// <param name="differences">The per-task differences (at least one).</param>
    public static PairedDifference Of(IReadOnlyList<double> differences)
    {
        ArgumentNullException.ThrowIfNull(differences);
        if (differences.Count == 0)
        {
            throw new ArgumentException("At least one difference is needed.", nameof(differences));
        }
        var n = differences.Count;
        var mean = differences.Average();
        if (n < 2)
        {
            return new PairedDifference(n, mean, null, null);
        }
        var variance = differences.Sum(d => (d - mean) * (d - mean)) / (n - 1);
        var half = StudentT.InvCDF(0, 1, n - 1, 1 - (1 - Level) / 2) * Math.Sqrt(variance / n);
        return new PairedDifference(n, mean, mean - half, mean + half);
    }
}
