using System.Globalization;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Providers;
using SkillOpt.Testing.Gate;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Commands;
using SkillOpt.Trainer.Console;
using SkillOpt.Trainer.Verifiers;

namespace SkillOpt.Trainer.Approval;

/// <summary>What to do with received files once written.</summary>
/// <param name="Approve">Approve them at once (<c>--approve</c>).</param>
/// <param name="Force">Approve even on a build server (<c>--force-approve</c>).</param>
internal sealed record ApprovalRequest(bool Approve, bool Force)
{
    /// <summary>Fails fast when auto-approval is asked for on a build server without <see cref="Force"/>.</summary>
    /// <param name="detectBuildServer">Returns what reveals a build server, or <see langword="null"/>.</param>
    /// <exception cref="TrainerException">Auto-approval on a build server (SKOPT3001).</exception>
    public void EnsureAllowed(Func<string?> detectBuildServer)
    {
        ArgumentNullException.ThrowIfNull(detectBuildServer);
        if (Approve && !Force && detectBuildServer() is { } reason)
        {
            throw new TrainerException(TrainerDiagnostics.AutoApproveOnBuildServer,
                $"auto-approval is refused on a build server ({reason} is set): a pipeline must not approve its own training result; approve locally with `{SkillOpt.Testing.Gate.SkillOptCommand.ForTrainer()} approve`, or pass --force-approve (MSBuild: -p:SkillOptForceAutoApprove=true) if this pipeline really should");
        }
    }
}

/// <summary>
/// Writes the received approval files of a skill (see <see cref="ApprovalFiles"/>): scores the skill on the validation and
/// test splits with the target's responses recorded (the verifier processes get <c>SKILLOPT_RECORDING=record</c> and
/// <c>SKILLOPT_RECORDING_DIR</c>), then writes the received recording (with <c>skill.md</c>), the received receipt and, when
/// the skill text changed, the received skill. A changed skill is first compared with the committed one on the test split
/// (<see cref="ApprovalComparison"/>, <c>approval.alpha</c> and <c>approval.test_draws</c>): the verdict goes into the receipt
/// (<c>approval_check</c>) and the console, a warning (SKOPT3103) when the skill is not shown better. Identical to the
/// committed files → they are removed again ("nothing to approve"); otherwise they are approved (<c>--approve</c>) or left
/// for review with a diff tool opened locally.
/// </summary>
internal static class ReceivedWriter
{
    /// <summary>The sample index of the final evaluation (each task sends it to the target as its seed).</summary>
    public const int SampleIndex = 0;

    /// <summary>Evaluates <paramref name="skillText"/>, writes the received files and handles approval.</summary>
    /// <param name="ctx">The command's verifier, skill and configuration.</param>
    /// <param name="console">Progress and diagnostics.</param>
    /// <param name="tasks">Every task of the skill with its split.</param>
    /// <param name="skillText">The skill to evaluate and propose (the trained best skill, or the committed one for <c>record</c>).</param>
    /// <param name="workDirectory">Folder for the evaluation's rollouts (result files and output logs).</param>
    /// <param name="concurrency">Rollouts in flight at once (<see langword="null"/>: <c>rollouts.concurrency</c>).</param>
    /// <param name="timeout">Seconds per verifier process (<see langword="null"/>: <c>rollouts.timeout_seconds</c>).</param>
    /// <param name="grace">Grace period after Ctrl+C.</param>
    /// <param name="approval">Whether to approve at once.</param>
    /// <param name="interruption">Ctrl+C handling (its second signal kills the processes), if any.</param>
    /// <param name="committedTest">The committed skill's test results at sample <see cref="SampleIndex"/> when already known (the
    /// training run scored its initial skill, the committed one, on the test split), or <see langword="null"/> to score them here.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <returns>The receipt that was written (with its <see cref="ScoreReceipt.ApprovalCheck"/>).</returns>
    /// <exception cref="RolloutErrorsException">Too many tasks errored.</exception>
    /// <exception cref="TrainerException">The skill has no validation and no test tasks.</exception>
    public static async Task<ScoreReceipt> WriteAsync(CommandContext ctx, TrainerConsole console, IReadOnlyList<VerifierTask> tasks, string skillText,
        string workDirectory, int? concurrency, double? timeout, TimeSpan grace, ApprovalRequest approval, Interruption? interruption,
        IReadOnlyList<RolloutResult>? committedTest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(approval);
        var files = new ApprovalFiles(ctx.SkillFile);
        var val = tasks.Where(t => t.Split == SkillSplits.Validation).Select(t => t.TaskId).ToList();
        var test = tasks.Where(t => t.Split == SkillSplits.Test).Select(t => t.TaskId).ToList();
        if (val.Count + test.Count == 0)
        {
            throw new TrainerException(TrainerDiagnostics.EmptySplit, $"the skill '{ctx.Skill}' has no validation and no test tasks to score for its receipt", ctx.ConfigPath);
        }

        // A fresh received recording: only the requests of this evaluation (never over an interrupted approval's files).
        SkillApprover.ThrowIfInterrupted(files);
        DeleteReceived(files);
        Directory.CreateDirectory(files.ReceivedRecording);
        var env = new Dictionary<string, string?>
        {
            [VerifierEnvironment.Recording] = VerifierEnvironment.RecordingModeName(RecordingMode.Record),
            [VerifierEnvironment.RecordingDir] = files.ReceivedRecording,
        };
        var runner = TrainerCommands.CreateRunner(ctx, console, workDirectory, concurrency, timeout, grace, env);
        if (interruption is not null)
        {
            interruption.KillNow = runner.KillAll;
        }
        var hash = ScoreReceipt.Sha256(skillText);
        console.Info($"receipt: scoring skill {hash[..12]} on {val.Count} validation and {test.Count} test tasks with the target's responses recorded into {files.ReceivedRecording}");
        var executor = new RolloutExecutor(runner, ctx.Options.Rollouts.ErroredRetries, ctx.Options.Rollouts.MaxErrorRate);
        Evaluation evaluation;
        try
        {
            evaluation = await executor.RunAsync(skillText, hash, [.. val, .. test], SampleIndex, ChatStage.Test, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            DeleteReceived(files);
            throw;
        }
        var byId = evaluation.Results.ToDictionary(r => r.TaskId, StringComparer.Ordinal);
        var committedSkill = File.Exists(files.SkillFile) ? File.ReadAllText(files.SkillFile) : null;
        ScoreReceipt receipt;
        ApprovalComparison? check;
        try
        {
            AtomicFile.WriteAllText(Path.Combine(files.ReceivedRecording, ApprovalFiles.SkillCopyName), skillText);
            var recorded = ApprovalFiles.RecordingKeys(files.ReceivedRecording).Count;
            receipt = ScoreReceipt.Create(ctx.Skill, ctx.SkillFile, skillText, Target(ctx.Options), SampleIndex,
                tasks.ToDictionary(t => t.TaskId, t => t.Split, StringComparer.Ordinal), val.Select(id => byId[id]), test.Select(id => byId[id]), recorded);
            check = committedSkill is null || test.Count == 0 ? null
                : committedSkill == skillText ? CarriedCheck(files, receipt.SkillSha256)
                : await CompareAsync(ctx, console, committedSkill, skillText, hash, test, byId, committedTest, Path.Combine(workDirectory, "approval"), concurrency, timeout, grace, interruption, cancellationToken).ConfigureAwait(false);
            receipt = receipt with { ApprovalCheck = check };
            AtomicFile.WriteAllText(files.ReceivedReceipt, receipt.ToJson());
            if (committedSkill != skillText)
            {
                AtomicFile.WriteAllText(files.ReceivedSkill, skillText);
            }
        }
        catch
        {
            // never half a set of received files (a refused write, an interrupted comparison): the committed skill is
            // untouched and training again writes them whole
            DeleteReceived(files);
            throw;
        }
        var keys = receipt.RecordingKeys;
        var errored = evaluation.Results.Where(r => r.Outcome == TaskOutcome.Errored).ToList();
        if (errored.Count > 0)
        {
            console.Warning(TrainerDiagnostics.ReceiptErrored,
                $"{errored.Count} tasks errored in the receipt's evaluation and are recorded as errored (not evidence; the gate does not compare them): {string.Join(", ", errored.Take(5).Select(r => r.TaskId))}",
                files.ReceivedReceipt);
        }
        var ci = CultureInfo.InvariantCulture;
        console.Info($"receipt: validation {receipt.ValidationTotals.MeanScore.ToString("0.###", ci)} ({receipt.ValidationTotals.Passed}/{receipt.ValidationTotals.Scored} passed), "
            + $"test {receipt.TestTotals.MeanScore.ToString("0.###", ci)} ({receipt.TestTotals.Passed}/{receipt.TestTotals.Scored} passed), {keys} recorded requests; target {receipt.Target}"
            + (receipt.Target.IsSimulated ? " (SIMULATED: not a language model)" : ""));

        if (check is not null && committedSkill != skillText)
        {
            if (check.ShownBetter)
            {
                console.Info($"approval check: {check.Describe()}");
            }
            else
            {
                // a split so small that even a win on every pair stays above α cannot show anything: say so
                var tooSmall = check.Test == "sign" && PairedStatistics.SignTestPValue(check.Pairs, 0) > check.Alpha
                    ? string.Create(CultureInfo.InvariantCulture, $" (with {check.Pairs} paired results even {check.Pairs} wins without a loss give p = {PairedStatistics.SignTestPValue(check.Pairs, 0):0.####} > α: the test split is too small for this check)")
                    : "";
                console.Warning(TrainerDiagnostics.NotShownBetter,
                    $"the trained skill is not shown better than the committed one on the test split ({check.Describe()}){tooSmall}; it is written for approval all the same, labelled in its receipt (approval_check): approve it only if you accept that it may be no better; more test tasks, or approval.test_draws, give this check more power",
                    files.ReceivedReceipt);
            }
        }

        var report = ApprovalReport.Build(files);
        if (report.AllEqual)
        {
            DeleteReceived(files);
            console.Info($"received: the skill, its receipt and its recorded requests equal the approved ones; nothing to approve ({files.SkillFile})");
            return receipt;
        }
        if (approval.Approve)
        {
            var moved = SkillApprover.Approve(files);
            console.Info($"approved: {string.Join(", ", moved.Select(m => $"{Path.GetFileName(m.From)} → {Path.GetFileName(m.To)}"))} in {files.Directory}");
            return receipt;
        }
        console.Info($"received: waiting for approval in {files.Directory}: {string.Join(", ", files.PendingReceived().Select(Path.GetFileName))}; "
            + $"review with `{SkillOpt.Testing.Gate.SkillOptCommand.ForTrainer()} report --skill-file {SkillOpt.Testing.Gate.SkillOptCommand.Quote(files.SkillFile)}`, approve with `{SkillOpt.Testing.Gate.SkillOptCommand.ForTrainer()} approve --skill-file {SkillOpt.Testing.Gate.SkillOptCommand.Quote(files.SkillFile)}`");
        if (File.Exists(files.ReceivedSkill) && File.Exists(files.SkillFile))
        {
            console.Info("diff tool: " + await DiffTool.LaunchAsync(files.ReceivedSkill, files.SkillFile).ConfigureAwait(false));
        }
        return receipt;
    }

    /// <summary>
    /// Compares the received skill with the committed one on the test split (see <see cref="ApprovalComparison"/>): draw 0
    /// is the receipt's evaluation against the committed skill's results at the same sample (the run's, or scored now); each
    /// further draw of <c>approval.test_draws</c> scores both skills at the next sample index, without recording.
    /// </summary>
    private static async Task<ApprovalComparison> CompareAsync(CommandContext ctx, TrainerConsole console, string committedSkill, string receivedSkill, string receivedHash,
        IReadOnlyList<string> test, IReadOnlyDictionary<string, RolloutResult> received, IReadOnlyList<RolloutResult>? committedTest, string workDirectory,
        int? concurrency, double? timeout, TimeSpan grace, Interruption? interruption, CancellationToken cancellationToken)
    {
        var a = ctx.Options.Approval;
        var committedHash = ScoreReceipt.Sha256(committedSkill);
        var known = committedTest?.GroupBy(r => r.TaskId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var missing = test.Where(t => known is null || !known.ContainsKey(t)).ToList();
        RolloutExecutor? executor = null;
        RolloutExecutor Executor()
        {
            if (executor is null)
            {
                var runner = TrainerCommands.CreateRunner(ctx, console, workDirectory, concurrency, timeout, grace);
                if (interruption is not null)
                {
                    interruption.KillNow = runner.KillAll;
                }
                executor = new RolloutExecutor(runner, ctx.Options.Rollouts.ErroredRetries, ctx.Options.Rollouts.MaxErrorRate);
            }
            return executor;
        }
        console.Info($"approval check: comparing the trained skill with the committed skill {committedHash[..12]} on {test.Count} test tasks × {a.TestDraws} draw(s)"
            + (missing.Count == 0 && a.TestDraws == 1 ? " (no further calls: the run scored the committed skill at sample 0)" : ""));
        var committed = new Dictionary<string, RolloutResult>(known ?? [], StringComparer.Ordinal);
        if (missing.Count > 0)
        {
            foreach (var r in (await Executor().RunAsync(committedSkill, committedHash, missing, SampleIndex, ChatStage.Test, cancellationToken).ConfigureAwait(false)).Results)
            {
                committed[r.TaskId] = r;
            }
        }
        var pairs = test.Where(t => received.ContainsKey(t) && committed.ContainsKey(t)).Select(t => (received[t], committed[t])).ToList();
        for (var draw = 1; draw < a.TestDraws; draw++)
        {
            var r = (await Executor().RunAsync(receivedSkill, receivedHash, test, SampleIndex + draw, ChatStage.Test, cancellationToken).ConfigureAwait(false)).Results.ToDictionary(x => x.TaskId, StringComparer.Ordinal);
            var c = (await Executor().RunAsync(committedSkill, committedHash, test, SampleIndex + draw, ChatStage.Test, cancellationToken).ConfigureAwait(false)).Results.ToDictionary(x => x.TaskId, StringComparer.Ordinal);
            pairs.AddRange(test.Where(t => r.ContainsKey(t) && c.ContainsKey(t)).Select(t => (r[t], c[t])));
        }
        return ApprovalComparison.Compare(pairs, a.Alpha, a.TestDraws, committedHash);
    }

    /// <summary>
    /// The committed receipt's comparison when the skill did not change (so a receipt re-made for the same skill equals the
    /// approved one): the check that got this skill approved stays with it.
    /// </summary>
    private static ApprovalComparison? CarriedCheck(ApprovalFiles files, string skillSha256)
    {
        try
        {
            return File.Exists(files.Receipt) && ScoreReceipt.Read(files.Receipt) is { } approved && approved.SkillSha256 == skillSha256 ? approved.ApprovalCheck : null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>The receipt's description of the target: provider, model and sampling settings after environment overrides (never an endpoint).</summary>
    /// <param name="options">The configuration.</param>
    public static ReceiptTarget Target(SkillOptOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Models.Target.Clone();
        var providerOverride = Environment.GetEnvironmentVariable(ChatClientFactory.EnvironmentVariableName("target", "PROVIDER"));
        var provider = (string.IsNullOrWhiteSpace(providerOverride) ? o.Provider : providerOverride).Trim().ToLowerInvariant();
        var scripted = provider == ChatClientFactory.ScriptedProvider;
        try
        {
            // A scripted target's endpoint is its rules file, not a URL: keep it out of the validation (as RoleChatClients does).
            var factory = new ChatClientFactory(name => scripted && name == ChatClientFactory.EnvironmentVariableName("target", "ENDPOINT") ? null : Environment.GetEnvironmentVariable(name));
            if (scripted)
            {
                o.Endpoint = null;
            }
            var r = factory.Resolve("target", o);
            return new ReceiptTarget(r.Provider, r.Model, r.Temperature is { } t ? Math.Round((double)t, 4) : null, r.MaxOutputTokens, r.ReasoningEffort, r.Seed);
        }
        catch (ProviderConfigurationException)
        {
            // no provider configured: the verifier builds its own client (SkillAgent.ClientFactory)
            return new ReceiptTarget(provider.Length == 0 ? "custom" : provider, string.IsNullOrWhiteSpace(o.Model) ? "custom" : o.Model.Trim());
        }
    }

    /// <summary>Deletes the received files of <paramref name="files"/> (missing ones are fine).</summary>
    /// <param name="files">The skill's approval files.</param>
    public static void DeleteReceived(ApprovalFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        foreach (var (received, _, isFolder) in files.Pairs)
        {
            if (isFolder && Directory.Exists(received))
            {
                Directory.Delete(received, recursive: true);
            }
            else if (!isFolder && File.Exists(received))
            {
                File.Delete(received);
            }
        }
    }
}
