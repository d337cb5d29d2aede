using System.Globalization;
using MathNet.Numerics.Distributions;

namespace SkillOpt.Bench;

/// <summary>The benchmark's statistics: means, paired t intervals over seeds, exact binomial (Clopper–Pearson) intervals.</summary>
internal static class BenchStats
{
    public static double Mean(IEnumerable<double> xs)
    {
        var list = xs.ToList();
        return list.Count == 0 ? double.NaN : list.Average();
    }

    public static double Sd(IReadOnlyList<double> xs)
    {
        if (xs.Count < 2)
        {
            return 0;
        }
        var m = xs.Average();
        return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / (xs.Count - 1));
    }

    /// <summary>Mean of <paramref name="xs"/> with a two-sided t interval at <paramref name="level"/> (a single value: the interval is that value).</summary>
    public static (double Mean, double Low, double High) TInterval(IReadOnlyList<double> xs, double level = 0.95)
    {
        if (xs.Count == 0)
        {
            return (double.NaN, double.NaN, double.NaN);
        }
        var m = xs.Average();
        if (xs.Count < 2)
        {
            return (m, m, m);
        }
        var half = StudentT.InvCDF(0, 1, xs.Count - 1, 1 - (1 - level) / 2) * Sd(xs) / Math.Sqrt(xs.Count);
        return (m, m - half, m + half);
    }

    /// <summary>The exact (Clopper–Pearson) two-sided interval at <paramref name="level"/> of a binomial proportion <paramref name="k"/>/<paramref name="n"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not in [0, <paramref name="n"/>].</exception>
    public static (double Low, double High) ClopperPearson(int k, int n, double level = 0.95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, n);
        if (n == 0)
        {
            return (0, 1);
        }
        var a = (1 - level) / 2;
        var low = k == 0 ? 0 : Beta.InvCDF(k, n - k + 1, a);
        var high = k == n ? 1 : Beta.InvCDF(k + 1, n - k, 1 - a);
        return (low, high);
    }

    public static string F(double x, string format) => x.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>A signed number in <paramref name="format"/> ("+0.012", "-0.003"); no sign when it rounds to zero.</summary>
    public static string Signed(double x, string format = "0.000")
    {
        var s = F(Math.Abs(x), format);
        return s.Trim('0', '.').Length == 0 ? s : (x > 0 ? "+" : "-") + s;
    }

    public static string Percent(double x) => F(100 * x, "0.0") + "%";
}
