// Longer than 400 lines: the four gate checks (approved, nothing pending, replay, live) share the gate's files, verifier launch and messages.
using System.Globalization;
using System.Reflection;
using System.Text;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Verifiers;

namespace SkillOpt.Testing.Gate;

/// <summary>How a gate check ended.</summary>
internal enum GateStatus
{
    /// <summary>The check passed.</summary>
    Passed,
    /// <summary>The check failed: the test fails with the message.</summary>
    Failed,
    /// <summary>The check passed with a warning (an inconclusive live result).</summary>
    Warning,
    /// <summary>The check did not run (the live check without <c>SKILLOPT_LIVE=1</c>).</summary>
    Skipped,
}

/// <summary>The result of one gate check.</summary>
/// <param name="Status">Passed, failed, warning or skipped.</param>
/// <param name="Message">What was checked and found; for failures, what to do (the exact commands).</param>
internal sealed record GateOutcome(GateStatus Status, string Message);

/// <summary>The diagnostic codes of the skill gate (names for entries of <see cref="DiagnosticCodes"/>, the one table of codes; docs/diagnostics.md).</summary>
internal static class GateCodes
{
    /// <summary>The committed skill does not match its receipt (edited without approval).</summary>
    public const string SkillChanged = DiagnosticCodes.GateSkillChanged;
    /// <summary>Received files are waiting for approval.</summary>
    public const string Pending = DiagnosticCodes.GatePending;
    /// <summary>The replayed test split differs from the receipt.</summary>
    public const string ReplayDiffers = DiagnosticCodes.GateReplayDiffers;
    /// <summary>The replay asked for a request that was never recorded (a verifier prompt, tool or option changed).</summary>
    public const string RecordingMiss = DiagnosticCodes.GateRecordingMiss;
    /// <summary>The live re-run of the test split dropped significantly.</summary>
    public const string LiveRegression = DiagnosticCodes.GateLiveRegression;
    /// <summary>Warning: the live re-run dropped, but not significantly.</summary>
    public const string LiveInconclusive = DiagnosticCodes.GateLiveInconclusive;
    /// <summary>The skill has no (valid) approved receipt or recording.</summary>
    public const string NotApproved = DiagnosticCodes.GateNotApproved;
    /// <summary>The verifier could not be listed or run, or too many live tasks errored.</summary>
    public const string VerifierRun = DiagnosticCodes.GateVerifierRun;
}

/// <summary>
/// The skill regression gate of one skill: the checks behind <see cref="SkillGateTests"/>. The skill file is the one the
/// verifier assembly declares (or <c>SKILLOPT_SKILL_FILE</c>), its approval files sit beside it (see <see cref="ApprovalFiles"/>),
/// the configuration is the declared one (or <c>SKILLOPT_CONFIG</c>).
/// </summary>
internal sealed class SkillGate
{
    /// <summary>Set to <c>1</c> or <c>true</c> to run the live check (<c>SKILLOPT_LIVE</c>).</summary>
    public const string LiveVariable = "SKILLOPT_LIVE";

    /// <summary>The endpoint given to endpoint-based providers during a replay when none is configured (never contacted; <c>.invalid</c> is a reserved name).</summary>
    public const string ReplayEndpoint = "http://replay.invalid/v1";

    private readonly Func<string, string?> _environment;

    /// <summary>Creates the gate of <paramref name="skill"/> as declared by <paramref name="verifierAssembly"/> (the running test assembly).</summary>
    /// <param name="verifierAssembly">The verifier assembly that declares the skill and holds its verifiers.</param>
    /// <param name="skill">Skill name.</param>
    /// <exception cref="ArgumentException">The assembly declares no such skill.</exception>
    public SkillGate(Assembly verifierAssembly, string skill)
        : this(verifierAssembly?.Location ?? throw new ArgumentNullException(nameof(verifierAssembly)), SkillProject.For(verifierAssembly), skill, null)
    {
        LiveFromBuild = verifierAssembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Any(a => a.Key == LiveMetadataKey && a.Value?.Trim().ToLowerInvariant() is "true" or "1");
        Command = SkillOptCommand.ForVerifier(verifierAssembly, SkillProject.For(verifierAssembly).ProjectDirectory);
    }

    /// <summary>
    /// The assembly metadata key that turns the live check on from the build (<c>SkillOpt.Live</c> = <c>true</c>), which a
    /// verifier project emits for <c>-p:SkillOptLive=true</c> with
    /// <c>&lt;AssemblyMetadata Include="SkillOpt.Live" Value="true" Condition="'$(SkillOptLive)' == 'true'" /&gt;</c>.
    /// </summary>
    public const string LiveMetadataKey = "SkillOpt.Live";

    /// <summary>True when the verifier assembly was built with <see cref="LiveMetadataKey"/> = <c>true</c>.</summary>
    public bool LiveFromBuild { get; init; }

    /// <summary>Creates the gate of <paramref name="skill"/> of the verifier at <paramref name="assemblyPath"/>.</summary>
    /// <param name="assemblyPath">The verifier assembly (<c>.dll</c>), launched for the replay and live checks.</param>
    /// <param name="project">Its skill declarations.</param>
    /// <param name="skill">Skill name.</param>
    /// <param name="environment">Reads environment variables (<see langword="null"/>: the process environment).</param>
    /// <exception cref="ArgumentException">The project declares no such skill.</exception>
    public SkillGate(string assemblyPath, SkillProject project, string skill, Func<string, string?>? environment)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentException.ThrowIfNullOrEmpty(skill);
        _environment = environment ?? Environment.GetEnvironmentVariable;
        var declaration = project.Find(skill) ?? throw new ArgumentException(
            $"The verifier declares no skill '{skill}'" + (project.Skills.Count == 0 ? "" : $" (declared: {string.Join(", ", project.Skills.Select(s => s.Name))})")
            + $"; add [assembly: SkillDefinition(\"{skill}\", \"skills/{skill}/SKILL.md\", \"skills/{skill}/skillopt.yaml\")].", nameof(skill));
        Skill = skill;
        AssemblyPath = Path.GetFullPath(assemblyPath);
        Files = new ApprovalFiles(Env(VerifierEnvironment.SkillFile) ?? declaration.SkillFile);
        var config = Env(VerifierEnvironment.Config) ?? declaration.ConfigFile;
        ConfigFile = config is not null && File.Exists(config) ? Path.GetFullPath(config) : null;
    }

    /// <summary>Skill name.</summary>
    public string Skill { get; }

    /// <summary>The verifier assembly.</summary>
    public string AssemblyPath { get; }

    /// <summary>The skill's approval files (the committed skill file is <see cref="ApprovalFiles.SkillFile"/>).</summary>
    public ApprovalFiles Files { get; }

    /// <summary>The configuration file, or <see langword="null"/> for the defaults.</summary>
    public string? ConfigFile { get; }

    /// <summary>
    /// How the command hints start <c>skillopt</c> (<c>dotnet skillopt</c>, <c>skillopt</c> or
    /// <c>dotnet exec "…/skillopt.dll"</c>: what works from the project folder; see docs/approval.md).
    /// </summary>
    public string Command { get; init; } = SkillOptCommand.Prefix(null, null);

    /// <summary>The command that approves the received files.</summary>
    public string ApproveCommand => $"{Command} approve --skill-file {Quote(Files.SkillFile)}";

    /// <summary>The command that re-scores the committed skill and re-records its target responses (then approve).</summary>
    public string RecordCommand => $"{Command} record --verifier {Quote(AssemblyPath)} --skill {Skill} --skill-file {Quote(Files.SkillFile)}"
        + (ConfigFile is null ? "" : $" --config {Quote(ConfigFile)}");

    /// <summary>The command that trains the skill and writes received files for approval.</summary>
    public string TrainCommand => $"{Command} train --verifier {Quote(AssemblyPath)} --skill {Skill} --skill-file {Quote(Files.SkillFile)}"
        + (ConfigFile is null ? "" : $" --config {Quote(ConfigFile)}");

    /// <summary>
    /// Check (a): the committed skill file hashes to the receipt's <c>skill_sha256</c>. On a mismatch the message holds a
    /// unified diff from the approved text (kept in the recording folder as <c>skill.md</c>) to the committed one.
    /// </summary>
    public GateOutcome CheckApproved()
    {
        if (LoadReceipt(out var receipt) is { } missing)
        {
            return missing;
        }
        var text = File.ReadAllText(Files.SkillFile);
        var hash = ScoreReceipt.Sha256(text);
        if (string.Equals(hash, receipt!.SkillSha256, StringComparison.OrdinalIgnoreCase))
        {
            return new GateOutcome(GateStatus.Passed, $"skill '{Skill}' ({Files.SkillFile}) matches its receipt (sha256 {hash[..12]}).");
        }
        var sb = new StringBuilder();
        sb.Append(GateCodes.SkillChanged).Append(": the committed skill '").Append(Skill).Append("' does not match its approved receipt: it was edited without training and approval.\n");
        sb.Append("Skill: ").Append(Files.SkillFile).Append(" (sha256 ").Append(hash[..12]).Append(")\n");
        sb.Append("Receipt: ").Append(Files.Receipt).Append(" (sha256 ").Append(receipt.SkillSha256[..Math.Min(12, receipt.SkillSha256.Length)]).Append(")\n");
        if (File.Exists(Files.RecordedSkill) && ScoreReceipt.Sha256(File.ReadAllText(Files.RecordedSkill)) is var approvedHash
            && string.Equals(approvedHash, receipt.SkillSha256, StringComparison.OrdinalIgnoreCase))
        {
            var rel = Path.GetRelativePath(Files.Directory, Files.RecordedSkill).Replace('\\', '/');
            sb.Append("Diff (approved → committed):\n");
            sb.Append(SkillDiff.Unified(File.ReadAllText(Files.RecordedSkill), text, $"approved ({rel})", $"committed ({Path.GetFileName(Files.SkillFile)})"));
        }
        else
        {
            sb.Append("The approved text is not available (").Append(Files.RecordedSkill).Append(" is missing or does not match the receipt), so no diff can be shown.\n");
        }
        sb.Append("Either revert the edit, or score the edited skill and approve it:\n");
        sb.Append("  ").Append(RecordCommand).Append('\n');
        sb.Append("  ").Append(ApproveCommand).Append('\n');
        sb.Append("or retrain from it: ").Append(TrainCommand).Append('\n');
        return new GateOutcome(GateStatus.Failed, sb.ToString());
    }

    /// <summary>Check (b): no received file is waiting for approval. The failure message has Verify's fixed sections.</summary>
    public GateOutcome CheckNothingPending()
    {
        if (File.Exists(Files.ApprovalJournal))
        {
            return new GateOutcome(GateStatus.Failed, $"{GateCodes.Pending}: skill '{Skill}': an approval was interrupted ({Path.GetFileName(Files.ApprovalJournal)} is still there), so its committed files may be half replaced.\nFinish it: {ApproveCommand}\n");
        }
        var report = ApprovalReport.Build(Files);
        if (report.IsEmpty)
        {
            return new GateOutcome(GateStatus.Passed, $"skill '{Skill}': no received files are pending.");
        }
        var sb = new StringBuilder();
        sb.Append(GateCodes.Pending).Append(": skill '").Append(Skill).Append("' has received files waiting for approval (written by training; *.received.* is git-ignored).\n");
        sb.Append(report.Format());
        sb.Append("Approve: ").Append(ApproveCommand).Append('\n');
        sb.Append("Review: ").Append(Command).Append(" report --skill-file ").Append(Quote(Files.SkillFile)).Append('\n');
        sb.Append("Reject: delete the received files listed above.\n");
        return new GateOutcome(GateStatus.Failed, sb.ToString());
    }

    /// <summary>
    /// Check (c): re-scores the test split from the committed recording with zero model calls (the verifier assembly is
    /// launched with <c>SKILLOPT_RECORDING=replay</c>) and compares every task's outcome and score with the receipt.
    /// </summary>
    /// <param name="cancellationToken">Cancels the run.</param>
    public async Task<GateOutcome> ReplayAsync(CancellationToken cancellationToken = default)
    {
        if (LoadReceipt(out var receipt) is { } missing)
        {
            return missing;
        }
        if (!string.Equals(ScoreReceipt.Sha256(File.ReadAllText(Files.SkillFile)), receipt!.SkillSha256, StringComparison.OrdinalIgnoreCase))
        {
            return new GateOutcome(GateStatus.Failed, $"{GateCodes.SkillChanged}: the committed skill '{Skill}' does not match its receipt, so its recording cannot replay it (see the check that compares the skill with its receipt).");
        }
        if (!Directory.Exists(Files.Recording))
        {
            return new GateOutcome(GateStatus.Failed, $"{GateCodes.NotApproved}: the recording of skill '{Skill}' is missing ({Files.Recording}). Re-record and approve:\n  {RecordCommand}\n  {ApproveCommand}\n");
        }
        var (tasks, listingProblem) = await TestTasksAsync(receipt, cancellationToken).ConfigureAwait(false);
        if (listingProblem is not null)
        {
            return listingProblem;
        }
        var env = BaseEnvironment(receipt);
        env[VerifierEnvironment.Recording] = VerifierEnvironment.RecordingModeName(SkillOpt.Providers.RecordingMode.Replay);
        env[VerifierEnvironment.RecordingDir] = Files.Recording;
        // The key holds the provider and model: use the receipt's, whatever SKILLOPT_TARGET_* say in this environment.
        env["SKILLOPT_TARGET_PROVIDER"] = receipt.Target.Provider;
        env["SKILLOPT_TARGET_MODEL"] = receipt.Target.Model;
        if (receipt.Target.Provider != "scripted" && Env("SKILLOPT_TARGET_ENDPOINT") is null && string.IsNullOrWhiteSpace(LoadOptions().Models.Target.Endpoint))
        {
            // Replay never connects, but the provider settings are validated: give endpoint-based providers a placeholder.
            env["SKILLOPT_TARGET_ENDPOINT"] = ReplayEndpoint;
        }
        var run = await RunAsync(tasks.Run, env, cancellationToken).ConfigureAwait(false);

        var misses = new List<(string Id, string Reason)>();
        var differences = new List<string>();
        foreach (var r in run.Results.OrderBy(r => r.TaskId, StringComparer.Ordinal))
        {
            var approved = receipt.Test[r.TaskId];
            if (r.Outcome == TaskOutcome.Errored && (r.Reason ?? "").Contains("RecordingMissException", StringComparison.Ordinal))
            {
                misses.Add((r.TaskId, r.Reason!));
                continue;
            }
            if (approved.Outcome == "errored")
            {
                continue; // not evidence when it was approved either
            }
            var replayed = ReceiptTask.From(r);
            if (replayed.Outcome != approved.Outcome || Math.Abs((replayed.Score ?? 0) - (approved.Score ?? 0)) > 1e-9)
            {
                differences.Add($"  - {r.TaskId}: approved {approved}, replayed {replayed}" + (r.Reason is { Length: > 0 } why ? $" — {FirstLine(why, 300)}" : ""));
            }
        }
        differences.AddRange(tasks.Removed.Select(id => $"  - {id}: in the receipt's test split, but the verifier no longer has it in the test split"));
        differences.AddRange(tasks.Added.Select(id => $"  - {id}: in the verifier's test split, but not in the receipt"));

        if (misses.Count > 0)
        {
            var sb = new StringBuilder();
            sb.Append(GateCodes.RecordingMiss).Append(": ").Append(misses.Count).Append(" of ").Append(tasks.Run.Count)
                .Append(" test tasks of skill '").Append(Skill).Append("' asked the target something the approved recording does not hold: a verifier prompt, tool or option changed since approval.\n");
            sb.Append("Recording: ").Append(Files.Recording).Append('\n');
            sb.Append("Missed:\n");
            foreach (var (id, reason) in misses.Take(10))
            {
                sb.Append("  - ").Append(id).Append(": ").Append(MissSummary(reason)).Append('\n');
            }
            if (misses.Count > 10)
            {
                sb.Append("  - … and ").Append(misses.Count - 10).Append(" more\n");
            }
            if (differences.Count > 0)
            {
                sb.Append("Also different:\n").Append(string.Join("\n", differences)).Append('\n');
            }
            sb.Append("First miss: ").Append(FirstLine(misses[0].Reason, 1000)).Append('\n');
            sb.Append("Re-record (calls the target model; scores the committed skill again), review, then approve:\n");
            sb.Append("  ").Append(RecordCommand).Append('\n');
            sb.Append("  ").Append(ApproveCommand).Append('\n');
            return new GateOutcome(GateStatus.Failed, sb.ToString());
        }
        if (differences.Count > 0)
        {
            return new GateOutcome(GateStatus.Failed,
                $"{GateCodes.ReplayDiffers}: replaying the test split of skill '{Skill}' from its recording does not reproduce the receipt ({differences.Count} differences): a verifier's checks or data changed since approval.\n"
                + string.Join("\n", differences) + "\n"
                + $"Re-record and approve the new evidence:\n  {RecordCommand}\n  {ApproveCommand}\n");
        }
        var totals = receipt.TestTotals;
        return new GateOutcome(GateStatus.Passed,
            $"skill '{Skill}': the test split replayed from {Files.Recording} with zero model calls reproduces the receipt ({totals.Passed}/{totals.Scored} passed, mean {totals.MeanScore.ToString("0.###", CultureInfo.InvariantCulture)} on {tasks.Run.Count} tasks).");
    }

    /// <summary>
    /// Check (d), opt-in with <c>SKILLOPT_LIVE=1</c>: re-runs the test split against the configured target model and
    /// compares it with the receipt task by task (<see cref="LiveComparison"/>): a significant drop fails, an inconclusive
    /// drop is a warning.
    /// </summary>
    /// <param name="cancellationToken">Cancels the run.</param>
    public async Task<GateOutcome> LiveAsync(CancellationToken cancellationToken = default)
    {
        if (!IsLive)
        {
            return new GateOutcome(GateStatus.Skipped,
                $"live re-check of skill '{Skill}' is opt-in: set {LiveVariable}=1 (e.g. `dotnet test -e {LiveVariable}=1`) or build with -p:SkillOptLive=true to re-run its test split against the configured model.");
        }
        if (LoadReceipt(out var receipt) is { } missing)
        {
            return missing;
        }
        var (tasks, listingProblem) = await TestTasksAsync(receipt!, cancellationToken).ConfigureAwait(false);
        if (listingProblem is not null)
        {
            return listingProblem;
        }
        var env = BaseEnvironment(receipt!);
        env[VerifierEnvironment.Recording] = null;
        env[VerifierEnvironment.RecordingDir] = null;
        var run = await RunAsync(tasks.Run, env, cancellationToken).ConfigureAwait(false);
        var options = LoadOptions();
        var errored = run.Results.Where(r => r.Outcome == TaskOutcome.Errored).ToList();
        if (run.Results.Count > 0 && (double)errored.Count / run.Results.Count > options.Rollouts.MaxErrorRate)
        {
            return new GateOutcome(GateStatus.Failed,
                $"{GateCodes.VerifierRun}: {errored.Count} of {run.Results.Count} live test tasks of skill '{Skill}' errored (limit rollouts.max_error_rate {options.Rollouts.MaxErrorRate.ToString("0.##", CultureInfo.InvariantCulture)}): the provider or the verifier failed, which says nothing about the skill.\n"
                + string.Join("\n", errored.Take(5).Select(r => $"  - {r.TaskId}: {FirstLine(r.Reason ?? "", 300)}")) + "\n");
        }
        var comparison = LiveComparison.Compare(receipt!.Test, run.Results, options.Gate.Alpha);
        var target = LiveTarget();
        var header = $"skill '{Skill}', live target {target} (approved with {receipt.Target.Provider}/{receipt.Target.Model}): {comparison.Describe()}";
        var flips = comparison.Flips.Count == 0 ? "" : "\nChanged tasks:\n" + string.Join("\n", comparison.Flips.Select(f => $"  - {f.TaskId}: approved {f.Approved}, live {f.Live}")) + "\n";
        return comparison.Verdict switch
        {
            LiveVerdict.Regressed => new GateOutcome(GateStatus.Failed, $"{GateCodes.LiveRegression}: {header}{flips}"
                + "The agent is significantly worse on the test split than when the skill was approved (the model, the provider or a verifier changed). Investigate, then retrain or re-record:\n"
                + $"  {TrainCommand}\n  {RecordCommand}\n"),
            LiveVerdict.Inconclusive => new GateOutcome(GateStatus.Warning, $"{GateCodes.LiveInconclusive}: {header}{flips}"),
            _ => new GateOutcome(GateStatus.Passed, header + flips),
        };
    }

    /// <summary>True when <see cref="LiveVariable"/> is <c>1</c> or <c>true</c>, or the assembly was built live (<see cref="LiveFromBuild"/>) and the variable is not <c>0</c>/<c>false</c>.</summary>
    public bool IsLive => Env(LiveVariable)?.ToLowerInvariant() is "1" or "true" || (LiveFromBuild && Env(LiveVariable)?.ToLowerInvariant() is not ("0" or "false"));

    private sealed record TestTaskSet(IReadOnlyList<string> Run, IReadOnlyList<string> Added, IReadOnlyList<string> Removed);

    private async Task<(TestTaskSet Tasks, GateOutcome? Problem)> TestTasksAsync(ScoreReceipt receipt, CancellationToken ct)
    {
        IReadOnlyList<ListedTask> listed;
        try
        {
            listed = await new VerifierLauncher(AssemblyPath).ListAsync(Skill, ConfigEnvironment(), TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or System.Text.Json.JsonException or FileNotFoundException)
        {
            return (new TestTaskSet([], [], []), new GateOutcome(GateStatus.Failed, $"{GateCodes.VerifierRun}: listing the tasks of skill '{Skill}' failed: {ex.Message}"));
        }
        var current = listed.Where(t => t.Split == SkillSplits.Test).Select(t => t.TaskId).ToHashSet(StringComparer.Ordinal);
        var approved = receipt.Test.Keys.ToHashSet(StringComparer.Ordinal);
        return (new TestTaskSet(
            approved.Where(current.Contains).Order(StringComparer.Ordinal).ToList(),
            current.Except(approved).Order(StringComparer.Ordinal).ToList(),
            approved.Except(current).Order(StringComparer.Ordinal).ToList()), null);
    }

    private async Task<VerifierRun> RunAsync(IReadOnlyList<string> tasks, Dictionary<string, string?> env, CancellationToken ct)
    {
        var results = Path.Combine(Path.GetTempPath(), "skillopt-gate-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var timeout = TimeSpan.FromSeconds(Math.Max(1, LoadOptions().Rollouts.TimeoutSeconds));
            return await new VerifierLauncher(AssemblyPath).RunAsync(tasks, env, results, timeout, ct).ConfigureAwait(false);
        }
        finally
        {
            try { Directory.Delete(results, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private Dictionary<string, string?> ConfigEnvironment() => new()
    {
        [VerifierEnvironment.Config] = ConfigFile,
        [VerifierEnvironment.SkillFile] = null,
        [VerifierEnvironment.RunVerifiers] = null,
    };

    private Dictionary<string, string?> BaseEnvironment(ScoreReceipt receipt)
    {
        var env = ConfigEnvironment();
        env[VerifierEnvironment.SkillFile] = Files.SkillFile;
        env[VerifierEnvironment.SampleIndex] = receipt.SampleIndex.ToString(CultureInfo.InvariantCulture);
        env[VerifierEnvironment.Stage] = ChatStage.Test;
        env[LiveVariable] = null;
        return env;
    }

    private GateOutcome? LoadReceipt(out ScoreReceipt? receipt)
    {
        receipt = null;
        if (!File.Exists(Files.SkillFile))
        {
            return new GateOutcome(GateStatus.Failed, $"{GateCodes.NotApproved}: the skill file of '{Skill}' does not exist: {Files.SkillFile}");
        }
        if (!File.Exists(Files.Receipt))
        {
            var pending = File.Exists(Files.ReceivedReceipt) ? $"A received receipt is waiting: approve it with\n  {ApproveCommand}\n" : $"Train it, review, and approve:\n  {TrainCommand}\n  {ApproveCommand}\n";
            return new GateOutcome(GateStatus.Failed, $"{GateCodes.NotApproved}: skill '{Skill}' has no approved receipt ({Files.Receipt}). {pending}");
        }
        try
        {
            receipt = ScoreReceipt.Read(Files.Receipt);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            return new GateOutcome(GateStatus.Failed, $"{GateCodes.NotApproved}: {ex.Message}");
        }
        if (receipt.Skill != Skill)
        {
            return new GateOutcome(GateStatus.Failed, $"{GateCodes.NotApproved}: {Files.Receipt} is the receipt of skill '{receipt.Skill}', not '{Skill}'.");
        }
        return null;
    }

    private SkillOptOptions LoadOptions() => ConfigFile is null ? new SkillOptOptions().ApplyPreset() : SkillOptConfigLoader.Load(ConfigFile);

    private string LiveTarget()
    {
        var t = LoadOptions().Models.Target;
        var provider = Env("SKILLOPT_TARGET_PROVIDER") ?? t.Provider;
        var model = Env("SKILLOPT_TARGET_MODEL") ?? t.Model;
        return $"{(string.IsNullOrWhiteSpace(provider) ? "(custom)" : provider)}/{(string.IsNullOrWhiteSpace(model) ? "(default)" : model)}";
    }

    private string? Env(string name)
    {
        var v = _environment(name);
        return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
    }

    /// <summary>"no recording for “last user message” (request abcdef012345…)" from a RecordingMissException's message.</summary>
    private static string MissSummary(string reason)
    {
        var key = System.Text.RegularExpressions.Regex.Match(reason, "request ([0-9a-f]{64})");
        var user = System.Text.RegularExpressions.Regex.Match(reason, "Last user message \\(first 200 characters\\): \"(.*?)\"\\. The prompt", System.Text.RegularExpressions.RegexOptions.Singleline);
        return user.Success && key.Success
            ? $"no recording for \"{FirstLine(user.Groups[1].Value, 120)}\" (request {key.Groups[1].Value[..12]}…)"
            : FirstLine(reason, 300);
    }

    private static string FirstLine(string text, int max)
    {
        var line = text.Split('\n')[0].Trim();
        return line.Length <= max ? line : line[..max] + "…";
    }

    private static string Quote(string path) => SkillOptCommand.Quote(path);
}
