using System.Globalization;

namespace SkillOpt.Testing.Verifiers;

/// <summary>
/// The environment variables the <c>skillopt</c> trainer sets for a verifier process (the contract between the trainer
/// and a verifier executable; see docs/verifiers.md). Secrets are never passed this way or as arguments.
/// </summary>
internal static class VerifierEnvironment
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

    /// <summary>
    /// Recording mode of the target model's responses (<c>SKILLOPT_RECORDING</c>): <c>off</c> (default), <c>record</c>,
    /// <c>replay</c> or <c>record-missing</c> (see <see cref="SkillOpt.Providers.RecordingMode"/>). Set by the trainer for the
    /// final evaluation of a trained skill and by the skill gate for the replay.
    /// </summary>
    public const string Recording = "SKILLOPT_RECORDING";

    /// <summary>Folder of the recordings (<c>SKILLOPT_RECORDING_DIR</c>); required unless <see cref="Recording"/> is <c>off</c>.</summary>
    public const string RecordingDir = "SKILLOPT_RECORDING_DIR";

    /// <summary>
    /// <c>1</c> or <c>true</c> runs skill verifiers in a plain test run (<c>SKILLOPT_VERIFIERS</c>). Without it, and without
    /// <see cref="ResultsDir"/> (which the trainer and the skill gate set), a skill task is skipped: it would call the
    /// configured model with the committed skill, which costs money and guards nothing (the skill gate does that).
    /// </summary>
    public const string RunVerifiers = "SKILLOPT_VERIFIERS";

    /// <summary>
    /// The skip reason of a skill task in this process: <see langword="null"/> when it runs (the trainer or the skill gate
    /// launched the process with <see cref="ResultsDir"/>, or <see cref="RunVerifiers"/> is <c>1</c>/<c>true</c>).
    /// </summary>
    public static string? PlainRunSkipReason()
    {
        if (Get(ResultsDir) is not null || Get(RunVerifiers) is "1" or "true" or "True" or "TRUE")
        {
            return null;
        }
        return $"skill verifier: it runs under `skillopt train`/`skillopt eval` and in the skill gate (SkillGateTests), not in a plain test run, where it would call the configured model; set {RunVerifiers}=1 to run it here.";
    }

    /// <summary>
    /// The recording settings named by <see cref="Recording"/> and <see cref="RecordingDir"/>, as pipeline options for the
    /// target's client; <see langword="null"/> when recording is off.
    /// </summary>
    /// <exception cref="InvalidOperationException">The mode is not one of <c>off</c>, <c>record</c>, <c>replay</c>, <c>record-missing</c>, or the folder is missing.</exception>
    public static SkillOpt.Providers.ChatPipelineOptions? RecordingPipeline()
    {
        var mode = ParseRecordingMode(Get(Recording));
        if (mode == SkillOpt.Providers.RecordingMode.Off)
        {
            return null;
        }
        var dir = Get(RecordingDir) ?? throw new InvalidOperationException($"{Recording} is '{Get(Recording)}' but {RecordingDir} names no folder.");
        return new SkillOpt.Providers.ChatPipelineOptions { Recording = mode, RecordingDirectory = Path.GetFullPath(dir) };
    }

    /// <summary>Parses a <see cref="Recording"/> value: <c>off</c> (or unset), <c>record</c>, <c>replay</c>, <c>record-missing</c> (case-insensitive).</summary>
    /// <param name="value">The variable's value.</param>
    /// <exception cref="InvalidOperationException">Another value.</exception>
    public static SkillOpt.Providers.RecordingMode ParseRecordingMode(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "off" => SkillOpt.Providers.RecordingMode.Off,
        "record" => SkillOpt.Providers.RecordingMode.Record,
        "replay" => SkillOpt.Providers.RecordingMode.Replay,
        "record-missing" or "recordmissing" => SkillOpt.Providers.RecordingMode.RecordMissing,
        _ => throw new InvalidOperationException($"{Recording} is '{value}': use off, record, replay or record-missing."),
    };

    /// <summary>The value of <see cref="Recording"/> for <paramref name="mode"/>.</summary>
    /// <param name="mode">A recording mode.</param>
    public static string RecordingModeName(SkillOpt.Providers.RecordingMode mode) => mode switch
    {
        SkillOpt.Providers.RecordingMode.Record => "record",
        SkillOpt.Providers.RecordingMode.Replay => "replay",
        SkillOpt.Providers.RecordingMode.RecordMissing => "record-missing",
        _ => "off",
    };

    /// <summary>
    /// Set by the trainer for a long-lived verifier worker (<c>SKILLOPT_WORKER</c>, the protocol version, <c>1</c>): the
    /// process serves many rollouts over the named pipe <see cref="WorkerPipe"/> instead of running its filtered test once.
    /// </summary>
    internal const string Worker = "SKILLOPT_WORKER";

    /// <summary>Name of the named pipe a verifier worker serves its rollouts over (<c>SKILLOPT_WORKER_PIPE</c>).</summary>
    internal const string WorkerPipe = "SKILLOPT_WORKER_PIPE";

    /// <summary>The per-rollout variables of the rollout running on this flow in a worker (they win over the process's).</summary>
    private static readonly AsyncLocal<IReadOnlyDictionary<string, string?>?> RolloutVariables = new();

    /// <summary>Gives the rollout running on this flow (and the flows it starts) its own values of the per-rollout variables.</summary>
    /// <param name="variables">Variable names and values (a <see langword="null"/> value hides the process's value).</param>
    internal static void SetForRollout(IReadOnlyDictionary<string, string?>? variables) => RolloutVariables.Value = variables;

    /// <summary>
    /// Reads a variable; <see langword="null"/> when unset or blank. In a verifier worker the rollout's own values (sent
    /// with its request) win over the process's environment.
    /// </summary>
    /// <param name="name">Variable name.</param>
    public static string? Get(string name)
    {
        var v = RolloutVariables.Value is { } rollout && rollout.TryGetValue(name, out var own) ? own : Environment.GetEnvironmentVariable(name);
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
