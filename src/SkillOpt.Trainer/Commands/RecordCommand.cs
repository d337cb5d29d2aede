using System.CommandLine;
using SkillOpt.Testing.Gate;
using SkillOpt.Trainer.Approval;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer.Commands;

/// <summary>
/// <c>skillopt record</c>: scores the committed skill (no training) on the validation and test splits with the target's
/// responses recorded, and writes the received receipt and recording for approval. The command the gate prints when a
/// verifier prompt changed (a replay miss) or when a hand edit should be accepted with its evidence.
/// </summary>
internal static class RecordCommand
{
    /// <summary>Builds the <c>record</c> command.</summary>
    /// <param name="console">Where progress and diagnostics go.</param>
    public static Command Create(TrainerConsole console)
    {
        var command = new Command("record", "Re-score the committed skill on the validation and test splits against the target model, recording its responses; writes SKILL.received.receipt.json and SKILL.received.recording/ for approval.");
        var common = TrainerCommands.Common(command, "The skill to score (default: the committed skill file the verifier declares); the received files go beside it.");
        var concurrency = new Option<int?>("--concurrency") { Description = "Rollouts in flight at once (default: rollouts.concurrency)." };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds one verifier process may run (default: rollouts.timeout_seconds)." };
        var output = new Option<string?>("--work") { Description = "Folder for the evaluation's rollouts (default: .skillopt/records/<skill>-<hash>)." };
        command.Options.Add(concurrency);
        command.Options.Add(timeout);
        command.Options.Add(output);
        var (approve, forceApprove) = ApproveCommand.AddApprovalOptions(command);
        command.SetAction((parse, ct) => TrainerCommands.Guard(console, parse.GetValue(common.Verbose), async () =>
        {
            var approval = new ApprovalRequest(parse.GetValue(approve), parse.GetValue(forceApprove));
            approval.EnsureAllowed(BuildServer.DetectForProcess);
            var ctx = CommandContext.Resolve(parse.GetValue(common.Verifier)!, parse.GetValue(common.Skill), parse.GetValue(common.SkillFile), parse.GetValue(common.Config), requireSkillFile: true);
            var grace = TimeSpan.FromSeconds(5);
            using var interruption = new Interruption(console, grace);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, interruption.Token);
            var skill = SkillFileLoading.Load(ctx).Text;
            var work = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(".skillopt", "records", $"{ctx.Skill}-{ScoreReceipt.Sha256(skill)[..12]}"));
            await using var simlab = await SimLabHosting.StartIfNeededAsync(ctx, console, null, linked.Token).ConfigureAwait(false);
            simlab?.StopOnUnknownTasks(linked);
            TrainerCommands.PreflightTarget(ctx);
            var tasks = await TrainerCommands.ListTasksAsync(ctx, linked.Token).ConfigureAwait(false);
            console.Info($"recording skill '{ctx.Skill}' ({ctx.SkillFile}) with {Path.GetFileName(ctx.Verifier.AssemblyPath)}: {TrainerCommands.Counts(tasks)}");
            try
            {
                await ReceivedWriter.WriteAsync(ctx, console, tasks, skill, work, parse.GetValue(concurrency), parse.GetValue(timeout), grace, approval, interruption, null, linked.Token).ConfigureAwait(false);
                return TrainerDiagnostics.ExitOk;
            }
            catch (OperationCanceledException) when (simlab?.UnknownTasksError is { } unknown)
            {
                throw unknown;
            }
            catch (OperationCanceledException) when (interruption.Requested)
            {
                console.Warning(TrainerDiagnostics.Interrupted, "recording was interrupted; no received files were kept");
                return TrainerDiagnostics.ExitInterrupted;
            }
        }));
        return command;
    }
}
