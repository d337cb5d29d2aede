using System.Security.Cryptography;
using System.Text;

namespace SkillOpt.SimLab;

/// <summary>
/// A deterministic random source: seeded with SHA-256 of its key parts, then SplitMix64. The same parts give the same
/// sequence on every machine and runtime; nothing depends on time or on <see cref="System.Random"/>.
/// </summary>
internal sealed class SimRandom
{
    private ulong _state;

    private SimRandom(ulong seed) => _state = seed;

    /// <summary>Creates a source keyed by <paramref name="parts"/> (joined with a separator that cannot occur in them ambiguously).</summary>
    public static SimRandom Create(params object?[] parts)
    {
        var sb = new StringBuilder();
        foreach (var p in parts)
        {
            var s = Convert.ToString(p, System.Globalization.CultureInfo.InvariantCulture) ?? "";
            sb.Append(s.Length).Append(':').Append(s).Append('|');
        }
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString()));
        return new SimRandom(BitConverter.ToUInt64(hash, 0));
    }

    /// <summary>Hex SHA-256 of a string.</summary>
    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    public int Next(int maxExclusive) => maxExclusive <= 1 ? 0 : (int)(NextUInt64() % (ulong)maxExclusive);

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Standard normal (Box–Muller).</summary>
    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>One element of <paramref name="items"/>.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];
}

/// <summary>Normalisation of question text, so that a task is recognised whatever quotes, spacing or case a client uses.</summary>
internal static class QuestionText
{
    /// <summary>Lower case, letters and digits only, single spaces.</summary>
    public static string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length);
        var space = true;
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                sb.Append(char.ToLowerInvariant(c));
                space = false;
            }
            else if (!space)
            {
                sb.Append(' ');
                space = true;
            }
        }
        return sb.ToString().TrimEnd();
    }

    /// <summary>Approximate token count (about four characters a token, at least one for non-empty text).</summary>
    public static int Tokens(string? text) => string.IsNullOrEmpty(text) ? 0 : Math.Max(1, (text.Length + 3) / 4);
}
