using System.Globalization;

namespace SkillOpt.Testing.Verifiers;

/// <summary>
/// The environment variables the <c>skillopt</c> trainer sets for a verifier process (the contract between the trainer
/// and a verifier executable; see docs/verifiers.md). Secrets are never passed this way or as arguments.
/// </summary>
public static class VerifierEnvironment
{
    /// <summary>Path of the candidate skill file the target model must use (<c>SKILLOPT_SKILL_FILE</c>).</summary>
    public const string SkillFile = "SKILLOPT_SKILL_FILE";

    /// <summary>Folder the verifier writes one result file per task into (<c>SKILLOPT_RESULTS_DIR</c>).</summary>
    public const string ResultsDir = "SKILLOPT_RESULTS_DIR";

    /// <summary>Sample index (an integer, 0-based) passed to the target model as its seed (<c>SKILLOPT_SAMPLE_INDEX</c>).</summary>
    public const string SampleIndex = "SKILLOPT_SAMPLE_INDEX";

    /// <summary>Path of the run's <c>skillopt.yaml</c> (<c>SKILLOPT_CONFIG</c>).</summary>
    public const string Config = "SKILLOPT_CONFIG";

    /// <summary>Stage of the training loop that asks for the rollout, e.g. <c>rollout</c> or <c>validate</c> (<c>SKILLOPT_STAGE</c>).</summary>
    public const string Stage = "SKILLOPT_STAGE";

    /// <summary>Reads a variable; <see langword="null"/> when unset or blank.</summary>
    /// <param name="name">Variable name.</param>
    public static string? Get(string name)
    {
        var v = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
    }

    /// <summary>The sample index from <see cref="SampleIndex"/>; 0 when unset.</summary>
    /// <exception cref="InvalidOperationException">The variable is set but is not an integer.</exception>
    public static int GetSampleIndex()
    {
        var v = Get(SampleIndex);
        if (v is null)
        {
            return 0;
        }
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
            ? i
            : throw new InvalidOperationException($"{SampleIndex} is '{v}', which is not an integer.");
    }
}
