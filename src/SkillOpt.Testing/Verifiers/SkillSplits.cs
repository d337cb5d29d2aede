using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Testing.Verifiers;

/// <summary>
/// Deterministic train / validation / test assignment: a task's split depends only on its stable id and the configured
/// ratios, never on the machine, the run or the other tasks. The first 8 bytes of SHA-256(<c>"skillopt-split:" + id</c>),
/// read big-endian, give <c>u</c> in [0, 1) (top 53 bits / 2^53); <c>u &lt; train</c> is train, <c>u &lt; train + val</c>
/// is validation, the rest is test.
/// </summary>
internal static class SkillSplits
{
    /// <summary>The train split.</summary>
    public const string Train = "train";
    /// <summary>The validation split.</summary>
    public const string Validation = "val";
    /// <summary>The test split.</summary>
    public const string Test = "test";

    /// <summary>Returns the split of <paramref name="taskId"/> under <paramref name="ratios"/>.</summary>
    /// <param name="taskId">The stable task id.</param>
    /// <param name="ratios">The <c>splits</c> section of the configuration.</param>
    public static string Assign(string taskId, SplitOptions ratios)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        ArgumentNullException.ThrowIfNull(ratios);
        var u = UnitValue(taskId);
        return u < ratios.Train ? Train : u < ratios.Train + ratios.Val ? Validation : Test;
    }

    /// <summary>The hash position of <paramref name="taskId"/> in [0, 1) that <see cref="Assign"/> compares with the ratios.</summary>
    /// <param name="taskId">The stable task id.</param>
    public static double UnitValue(string taskId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("skillopt-split:" + taskId), hash);
        var v = BinaryPrimitives.ReadUInt64BigEndian(hash);
        return (v >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Returns the canonical split name of a pin (<c>train</c>, <c>val</c> or <c>validation</c>, <c>test</c>), or <see langword="null"/> for none.</summary>
    /// <param name="pin">The pinned split as written by the user.</param>
    /// <exception cref="ArgumentException">The pin is not a split name.</exception>
    public static string? Normalize(string? pin)
    {
        if (string.IsNullOrWhiteSpace(pin))
        {
            return null;
        }
        return pin.Trim().ToLowerInvariant() switch
        {
            "train" => Train,
            "val" or "validation" => Validation,
            "test" => Test,
            _ => throw new ArgumentException($"'{pin}' is not a split: use train, val or test.", nameof(pin)),
        };
    }
}
