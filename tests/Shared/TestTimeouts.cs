using System.Globalization;

namespace SkillOpt.Tests.Shared;

/// <summary>
/// Wall-clock limits of tests that run processes. Every limit is generous (minutes for what takes seconds on a quiet
/// machine) and is multiplied by <c>SKILLOPT_TEST_TIMEOUT_SCALE</c> (a positive number, default 1) for slower machines.
/// A limit only stops a hung process: no test asserts how long something took. Linked into the test projects that need it.
/// </summary>
internal static class TestTimeouts
{
    /// <summary>The variable that scales every limit.</summary>
    public const string ScaleVariable = "SKILLOPT_TEST_TIMEOUT_SCALE";

    /// <summary>The factor from <see cref="ScaleVariable"/> (1 when unset or not a positive number).</summary>
    public static double Scale { get; } =
        double.TryParse(Environment.GetEnvironmentVariable(ScaleVariable), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && double.IsFinite(s) ? s : 1;

    /// <summary><paramref name="limit"/> times <see cref="Scale"/>.</summary>
    public static TimeSpan Scaled(TimeSpan limit) => TimeSpan.FromTicks((long)Math.Min(limit.Ticks * Scale, TimeSpan.MaxValue.Ticks / 2.0));

    /// <summary>A <c>skillopt</c> command (list, train, eval…): 10 minutes, scaled.</summary>
    public static TimeSpan Trainer => Scaled(TimeSpan.FromMinutes(10));

    /// <summary>A verifier executable run directly: 5 minutes, scaled.</summary>
    public static TimeSpan Verifier => Scaled(TimeSpan.FromMinutes(5));
}
