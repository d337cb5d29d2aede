// Longer than 400 lines: the command-line definitions of list, train and eval with their shared option handling; the other commands have files of their own.
using SkillOpt.Core;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Skills;
using SkillOpt.Core.Training;
using SkillOpt.Providers;
using SkillOpt.Providers.Scripted;
using SkillOpt.Testing.Gate;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Approval;
using SkillOpt.Trainer.Console;
using SkillOpt.Trainer.Reports;
using SkillOpt.Trainer.Runs;
using SkillOpt.Trainer.Verifiers;

namespace SkillOpt.Trainer.Commands;

/// <summary>The <c>skillopt</c> command line: <c>list</c>, <c>train</c> and <c>eval</c>.</summary>
internal static class TrainerCommands
{
    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="console">Where progress and diagnostics go.</param>
    public static Task<int> RunAsync(string[] args, TrainerConsole console)
    {
        var root = Build(console);
        // Ctrl+C and SIGTERM are handled by the commands (see Interruption), not by System.CommandLine.
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>Builds the command tree.</summary>
    /// <param name="console">Where progress and diagnostics go.</param>
    public static RootCommand Build(TrainerConsole console)
    {
        var root = new RootCommand("skillopt: train an agent's skill document against xUnit v3 verifiers (SkillOpt method).");
        root.Subcommands.Add(ListCommand(console));
        root.Subcommands.Add(TrainCommand(console));
        root.Subcommands.Add(EvalCommand(console));
        root.Subcommands.Add(RecordCommand.Create(console));
        root.Subcommands.Add(ApproveCommand.Create(console));
        root.Subcommands.Add(ReportCommand.Create(console));
        return root;
    }

    internal sealed record CommonOptions(Option<string> Verifier, Option<string?> Skill, Option<string?> SkillFile, Option<string?> Config, Option<bool> Verbose);

    internal static CommonOptions Common(Command command, string skillFileDescription)
    {
        var o = new CommonOptions(
            new Option<string>("--verifier") { Description = "The verifier test assembly (the .dll of an xUnit v3 test project that uses [SkillFact]/[SkillTheory]).", Required = true },
            new Option<string?>("--skill") { Description = "Skill name (default: the only skill the verifier declares)." },
            new Option<string?>("--skill-file") { Description = skillFileDescription },
            new Option<string?>("--config") { Description = "skillopt.yaml (default: the one the verifier declares for the skill)." },
            new Option<bool>("--verbose") { Description = "Print one line per verifier process and stack traces of unexpected errors." });
        command.Options.Add(o.Verifier);
        command.Options.Add(o.Skill);
        command.Options.Add(o.SkillFile);
        command.Options.Add(o.Config);
        command.Options.Add(o.Verbose);
        return o;
    }

    private static Command ListCommand(TrainerConsole console)
    {
        var command = new Command("list", "List the verifier's tasks with their stable ids and splits (from the verifier's own -list output).");
        var common = Common(command, "Not used by list.");
        var json = new Option<bool>("--json") { Description = "Print the tasks as JSON." };
        command.Options.Add(json);
        command.SetAction((parse, ct) => Guard(console, parse.GetValue(common.Verbose), async () =>
        {
            var ctx = CommandContext.Resolve(parse.GetValue(common.Verifier)!, parse.GetValue(common.Skill), parse.GetValue(common.SkillFile), parse.GetValue(common.Config), requireSkillFile: false);
            var tasks = await ListTasksAsync(ctx, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                var array = new JsonArray(tasks.Select(t => (JsonNode)new JsonObject { ["task_id"] = t.TaskId, ["split"] = t.Split, ["skill"] = t.Skill, ["display_name"] = t.DisplayName }).ToArray());
                System.Console.Out.WriteLine(array.ToJsonString(SkillOptJson.Options));
            }
            else
            {
                foreach (var t in tasks)
                {
                    System.Console.Out.WriteLine($"{t.Split,-6} {t.TaskId}");
                }
            }
            console.Info($"{tasks.Count} tasks of skill '{ctx.Skill}': {Counts(tasks)}");
            return TrainerDiagnostics.ExitOk;
        }));
        return command;
    }

    private static Command TrainCommand(TrainerConsole console)
    {
        var command = new Command("train", "Train the skill: the SkillOpt loop with the verifier executable as the rollout engine. Re-running with the same run folder resumes.");
        var common = Common(command, "The initial skill (default: the committed skill file the verifier declares).");
        var run = new Option<string?>("--run") { Description = "Run folder (default: .skillopt/runs/<skill> under the current directory)." };
        var concurrency = new Option<int?>("--concurrency") { Description = "Rollouts in flight at once (default: rollouts.concurrency)." };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds one verifier process may run (default: rollouts.timeout_seconds)." };
        var grace = new Option<double>("--grace") { Description = "Seconds running verifier processes get to finish after Ctrl+C (default 10).", DefaultValueFactory = _ => 10 };
        var progress = new Option<ProgressMode>("--progress")
        {
            Description = "auto (a live panel in an interactive terminal, else lines), live, or lines (no ANSI codes; a progress line after 15 s without output).",
            DefaultValueFactory = _ => ProgressMode.Auto,
        };
        command.Options.Add(run);
        command.Options.Add(progress);
        command.Options.Add(concurrency);
        command.Options.Add(timeout);
        command.Options.Add(grace);
        var (approve, forceApprove) = ApproveCommand.AddApprovalOptions(command);
        command.SetAction((parse, ct) => Guard(console, parse.GetValue(common.Verbose), async () =>
        {
            var approval = new ApprovalRequest(parse.GetValue(approve), parse.GetValue(forceApprove));
            approval.EnsureAllowed(BuildServer.DetectForProcess);
            var ctx = CommandContext.Resolve(parse.GetValue(common.Verifier)!, parse.GetValue(common.Skill), parse.GetValue(common.SkillFile), parse.GetValue(common.Config), requireSkillFile: true);
            var runFolder = Path.GetFullPath(parse.GetValue(run) ?? Path.Combine(".skillopt", "runs", ctx.Skill));
            var graceSpan = Seconds(parse.GetValue(grace), "--grace", allowZero: true);
            // a skill file that cannot be trained is refused before anything is written (not even the run folder's lock)
            var initialDocument = SkillFileLoading.Load(ctx);
            var initialSkill = initialDocument.Text;
            // one trainer per run folder: a second one fails here, at once, naming the first
            using var runLock = RunFolderLock.Acquire(runFolder, $"skillopt train --skill {ctx.Skill}");
            if (runLock.TakenOverFrom is { } previous)
            {
                console.Info($"run folder: taking it over from {previous}, which ended without releasing it; the run resumes from its last checkpoint");
            }
            using var interruption = new Interruption(console, graceSpan);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, interruption.Token);

            var tasks = await ListTasksAsync(ctx, linked.Token).ConfigureAwait(false);
            var splits = new TaskSplits(
                tasks.Where(t => t.Split == SkillSplits.Train).Select(t => t.TaskId).ToList(),
                tasks.Where(t => t.Split == SkillSplits.Validation).Select(t => t.TaskId).ToList(),
                tasks.Where(t => t.Split == SkillSplits.Test).Select(t => t.TaskId).ToList());
            if (splits.Train.Count == 0 || splits.Validation.Count == 0)
            {
                throw new TrainerException(TrainerDiagnostics.EmptySplit,
                    $"training needs train and validation tasks, but the skill '{ctx.Skill}' has {splits.Train.Count} train and {splits.Validation.Count} validation tasks; add tasks, change the splits ratios or pin splits with Split = \"val\"",
                    ctx.ConfigPath);
            }
            if (splits.Test.Count == 0)
            {
                // splits.test > 0 (checked with the configuration) does not put a task in the test split when tasks pin theirs
                throw new TrainerException(TrainerDiagnostics.EmptySplit, EmptyTestSplit(ctx, tasks), ctx.ConfigPath);
            }
            console.Info($"training skill '{ctx.Skill}' ({ctx.SkillFile}) with {Path.GetFileName(ctx.Verifier.AssemblyPath)}: {Counts(tasks)}; run folder {runFolder}");
            SkillFileLoading.WarnOverTokenBudget(ctx, console, initialDocument);

            await using var simlab = await SimLabHosting.StartIfNeededAsync(ctx, console, runFolder, linked.Token).ConfigureAwait(false);
            simlab?.StopOnUnknownTasks(linked);
            var monitor = new TrainingMonitor(ctx.Options, TimeProvider.System, runFolder);
            using var optimizer = new MonitoredChatClient(CreateClient("optimizer", ctx), monitor);
            PreflightTarget(ctx);
            var processRunner = CreateRunner(ctx, console, Path.Combine(runFolder, "rollouts"), parse.GetValue(concurrency), parse.GetValue(timeout), graceSpan);
            processRunner.ProcessEnded += r => monitor.RolloutsReported(r.Tasks);
            var runner = new MonitoredRolloutRunner(processRunner, monitor);
            interruption.KillNow = processRunner.KillAll;
            AtomicFile.WriteJson(Path.Combine(runFolder, "tasks.json"), new
            {
                schema_version = 1,
                skill = ctx.Skill,
                verifier = Path.GetFileName(ctx.Verifier.AssemblyPath),
                tasks = tasks.Select(t => new { task_id = t.TaskId, split = t.Split }),
            });
            AtomicFile.WriteJson(Path.Combine(runFolder, RunInfo.FileName), RunInfo.Create(ctx.Skill, ctx.SkillFile, ctx.Verifier.AssemblyPath, ctx.Options, Environment.GetEnvironmentVariable));

            var loop = new SkillTrainingLoop(ctx.Options, runner, optimizer, runFolder, console);
            var live = ProgressDisplay.IsLive(parse.GetValue(progress), Environment.GetEnvironmentVariable, System.Console.IsOutputRedirected || System.Console.IsErrorRedirected);
            try
            {
                RunSummary summary;
                await using (ProgressDisplay.Start(console, monitor, live, title: $"skillopt: training skill '{ctx.Skill}'" + (simlab is not null || ReceivedWriter.Target(ctx.Options).IsSimulated ? " (SIMULATED models)" : "")))
                {
                    summary = await loop.RunAsync(initialSkill, splits, linked.Token).ConfigureAwait(false);
                }
                WriteRunReport(console, runFolder);
                console.Info($"best skill: {loop.Store.BestSkillPath} (validation {summary.Best.Validation?.ToString("0.###", CultureInfo.InvariantCulture) ?? "n/a"}"
                    + (summary.Best.Test is { } test ? $", test {test.ToString("0.###", CultureInfo.InvariantCulture)}" : "")
                    + $"; skill {summary.Best.Hash[..12]}, validation pooled over its draws on {splits.Validation.Count} val tasks"
                    + (summary.Best.Test is null ? "" : $", test one draw on {summary.Best.TestTasks} test tasks") + ")");
                // The received files (skill, receipt, recording) beside the committed skill, for approval (docs/approval.md); the
                // run's test results of its initial skill (the committed one) are the committed side of the approval check.
                var receipt = await ReceivedWriter.WriteAsync(ctx, console, tasks, File.ReadAllText(loop.Store.BestSkillPath), Path.Combine(runFolder, "receipt"),
                    parse.GetValue(concurrency), parse.GetValue(timeout), graceSpan, approval, interruption,
                    loop.Store.ReadEvaluation("test", ScoreReceipt.Sha256(initialSkill), ReceivedWriter.SampleIndex)?.Results, linked.Token).ConfigureAwait(false);
                if (receipt.ApprovalCheck is { } check && receipt.SkillSha256 != ScoreReceipt.Sha256(initialSkill) && File.Exists(loop.Store.SummaryPath))
                {
                    AtomicFile.WriteJson(loop.Store.SummaryPath, summary with { ApprovalCheck = check });
                }
                return TrainerDiagnostics.ExitOk;
            }
            catch (OperationCanceledException) when (simlab?.UnknownTasksError is { } unknown)
            {
                throw unknown;
            }
            catch (OperationCanceledException) when (interruption.Requested)
            {
                console.Warning(TrainerDiagnostics.Interrupted, $"training was interrupted; the run folder keeps the last finished phase; run the same command again to resume ({runFolder})");
                return TrainerDiagnostics.ExitInterrupted;
            }
        }));
        return command;
    }

    /// <summary>Writes <c>report.html</c> into the run folder; a failure is a warning (SKOPT2105), never the end of the training.</summary>
    internal static void WriteRunReport(TrainerConsole console, string runFolder)
    {
        try
        {
            console.Info($"report: {ReportCommand.WriteHtml(RunFolder.Open(runFolder))}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or TrainerException or InvalidOperationException or System.Text.Json.JsonException)
        {
            console.Warning(TrainerDiagnostics.ReportNotWritten, $"the HTML report could not be written ({ex.Message}); the run folder is complete, and `skillopt report --html --run {runFolder}` writes it later");
        }
    }

    private static Command EvalCommand(TrainerConsole console)
    {
        var command = new Command("eval", "Score a skill on a split, optionally with another target model (a cross-model transfer check).");
        var common = Common(command, "The skill to score (default: the committed skill file the verifier declares).");
        var split = new Option<string>("--split") { Description = "train, val, test or all (default: test).", DefaultValueFactory = _ => "test" };
        var sample = new Option<int>("--sample") { Description = "Sample index passed to the target as its seed (default 0).", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Folder for the evaluation (evaluation.json and the rollouts; default: .skillopt/evals/<skill>-<split>-<hash>)." };
        var targetProvider = new Option<string?>("--target-provider") { Description = "Use another target provider (passed to the verifiers as SKILLOPT_TARGET_PROVIDER)." };
        var targetModel = new Option<string?>("--target-model") { Description = "Use another target model (SKILLOPT_TARGET_MODEL)." };
        var targetEndpoint = new Option<string?>("--target-endpoint") { Description = "Use another target endpoint (SKILLOPT_TARGET_ENDPOINT)." };
        var concurrency = new Option<int?>("--concurrency") { Description = "Rollouts in flight at once (default: rollouts.concurrency)." };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds one verifier process may run (default: rollouts.timeout_seconds)." };
        foreach (var o in new Option[] { split, sample, output, targetProvider, targetModel, targetEndpoint, concurrency, timeout })
        {
            command.Options.Add(o);
        }
        command.SetAction((parse, ct) => Guard(console, parse.GetValue(common.Verbose), async () =>
        {
            var ctx = CommandContext.Resolve(parse.GetValue(common.Verifier)!, parse.GetValue(common.Skill), parse.GetValue(common.SkillFile), parse.GetValue(common.Config), requireSkillFile: true);
            var which = (parse.GetValue(split) ?? "test").Trim().ToLowerInvariant();
            if (which is not ("all" or "train" or "val" or "validation" or "test"))
            {
                throw new TrainerException(TrainerDiagnostics.InvalidOption, $"--split must be train, val, test or all, not '{which}'");
            }
            which = which == "validation" ? SkillSplits.Validation : which;
            using var interruption = new Interruption(console, TimeSpan.FromSeconds(5));
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, interruption.Token);

            var env = new Dictionary<string, string?>();
            void Target(string setting, string? value)
            {
                if (!string.IsNullOrWhiteSpace(value))
                {
                    env[ChatClientFactory.EnvironmentVariableName("target", setting)] = value;
                    Environment.SetEnvironmentVariable(ChatClientFactory.EnvironmentVariableName("target", setting), value);
                }
            }
            Target("PROVIDER", parse.GetValue(targetProvider));
            Target("MODEL", parse.GetValue(targetModel));
            Target("ENDPOINT", parse.GetValue(targetEndpoint));
            await using var simlab = await SimLabHosting.StartIfNeededAsync(ctx, console, null, linked.Token).ConfigureAwait(false);
            simlab?.StopOnUnknownTasks(linked);
            PreflightTarget(ctx);

            var tasks = (await ListTasksAsync(ctx, linked.Token).ConfigureAwait(false)).Where(t => which == "all" || t.Split == which).Select(t => t.TaskId).ToList();
            if (tasks.Count == 0)
            {
                throw new TrainerException(TrainerDiagnostics.EmptySplit, $"the skill '{ctx.Skill}' has no {which} tasks", ctx.ConfigPath);
            }
            var skillDoc = SkillFileLoading.Load(ctx);
            var skill = skillDoc.Text;
            var hash = skillDoc.Hash;
            var folder = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(".skillopt", "evals", $"{ctx.Skill}-{which}-{hash[..12]}-s{parse.GetValue(sample)}"));
            simlab?.MarkOutput(folder);
            var runner = CreateRunner(ctx, console, Path.Combine(folder, "rollouts"), parse.GetValue(concurrency), parse.GetValue(timeout), TimeSpan.FromSeconds(5), env);
            interruption.KillNow = runner.KillAll;
            var stage = which == SkillSplits.Validation ? ChatStage.Validate : which == SkillSplits.Train ? ChatStage.Rollout : ChatStage.Test;
            var executor = new RolloutExecutor(runner, ctx.Options.Rollouts.ErroredRetries, ctx.Options.Rollouts.MaxErrorRate);
            var sw = Stopwatch.StartNew();
            Evaluation evaluation;
            try
            {
                evaluation = await executor.RunAsync(skill, hash, tasks, parse.GetValue(sample), stage, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (simlab?.UnknownTasksError is { } unknown)
            {
                throw unknown;
            }
            catch (OperationCanceledException) when (interruption.Requested)
            {
                console.Warning(TrainerDiagnostics.Interrupted, "the evaluation was interrupted; nothing was written");
                return TrainerDiagnostics.ExitInterrupted;
            }
            var skipped = evaluation.Results.Count(r => r.Outcome == TaskOutcome.Skipped);
            var failed = evaluation.Results.Count(r => r.Outcome == TaskOutcome.Failed);
            AtomicFile.WriteJson(Path.Combine(folder, "evaluation.json"), new
            {
                schema_version = 1,
                skill = ctx.Skill,
                skill_file = ctx.SkillFile,
                skill_hash = hash,
                split = which,
                sample_index = parse.GetValue(sample),
                target = new { provider = parse.GetValue(targetProvider), model = parse.GetValue(targetModel), endpoint = parse.GetValue(targetEndpoint) },
                tasks = evaluation.Results.Count,
                passed = evaluation.PassedCount,
                failed,
                errored = evaluation.ErroredCount,
                skipped,
                mean_score = Math.Round(evaluation.MeanScore, 6),
                seconds = Math.Round(sw.Elapsed.TotalSeconds, 3),
                results = evaluation.Results,
            });
            console.Info($"eval: {evaluation.PassedCount}/{evaluation.Results.Count} passed, mean {evaluation.MeanScore.ToString("0.###", CultureInfo.InvariantCulture)} on {which} "
                + $"({failed} failed, {evaluation.ErroredCount} errored, {skipped} skipped) with skill {hash[..12]}"
                + (parse.GetValue(targetModel) is { } m ? $" and target model {m}" : "") + $"; {Path.Combine(folder, "evaluation.json")}");
            return TrainerDiagnostics.ExitOk;
        }));
        return command;
    }

    internal static async Task<IReadOnlyList<VerifierTask>> ListTasksAsync(CommandContext ctx, CancellationToken ct)
    {
        IReadOnlyList<VerifierTask> tasks;
        try
        {
            tasks = await ctx.Verifier.ListAsync(ctx.VerifierEnvironmentVariables(), ctx.Skill, ct).ConfigureAwait(false);
        }
        catch (VerifierListingException ex)
        {
            throw new TrainerException(TrainerDiagnostics.ListingFailed, ex.Message, ctx.Verifier.AssemblyPath);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new TrainerException(TrainerDiagnostics.VerifierNotFound, $"could not start {VerifierExecutable.DotnetHost}: {ex.Message}", ctx.Verifier.AssemblyPath);
        }
        if (tasks.Count == 0)
        {
            throw new TrainerException(TrainerDiagnostics.NoTasks,
                $"the verifier has no task for the skill '{ctx.Skill}': mark verifiers with [SkillFact(Skill = \"{ctx.Skill}\")] or [SkillTheory(Skill = \"{ctx.Skill}\")]", ctx.Verifier.AssemblyPath);
        }
        return tasks;
    }

    internal static VerifierProcessRunner CreateRunner(CommandContext ctx, TrainerConsole console, string workDirectory, int? concurrency, double? timeout, TimeSpan grace,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var c = concurrency ?? ctx.Options.Rollouts.Concurrency;
        if (ConfigRanges.Find("rollouts.concurrency") is { } concurrencyRange && !concurrencyRange.Contains(c))
        {
            throw new TrainerException(TrainerDiagnostics.InvalidOption, $"--concurrency must be {concurrencyRange} (as rollouts.concurrency), not {c}");
        }
        if (timeout is { } t && ConfigRanges.Find("rollouts.timeout_seconds") is { } timeoutRange && !timeoutRange.Contains(t))
        {
            throw new TrainerException(TrainerDiagnostics.InvalidOption, $"--timeout must be {timeoutRange} (as rollouts.timeout_seconds), not {t.ToString(CultureInfo.InvariantCulture)}");
        }
        var env = ctx.VerifierEnvironmentVariables();
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>())
        {
            env[k] = v;
        }
        var runner = new VerifierProcessRunner(ctx.Verifier, new VerifierRunnerOptions
        {
            Concurrency = c,
            Isolation = string.Equals(ctx.Options.Rollouts.Isolation, "process", StringComparison.OrdinalIgnoreCase) ? VerifierIsolation.Process : VerifierIsolation.Worker,
            Workers = ctx.Options.Rollouts.Workers > 0 ? ctx.Options.Rollouts.Workers : Math.Clamp(Environment.ProcessorCount, 1, 64),
            Timeout = Seconds(timeout ?? ctx.Options.Rollouts.TimeoutSeconds, "--timeout", allowZero: false),
            GracePeriod = grace,
            MaxOutputBytes = ctx.Options.Rollouts.MaxOutputBytes,
            ConfigPath = ctx.ConfigPath,
            WorkDirectory = workDirectory,
            Environment = env,
        });
        runner.ProcessEnded += r =>
        {
            if (r.TimedOut)
            {
                console.Warning(TrainerDiagnostics.VerifierTimedOut, r.Worker is not null
                    ? $"a rollout ran past {r.Elapsed.TotalSeconds:0.#} s and its verifier worker was killed; the task is Errored (see {Path.Combine(r.Folder, "output.log")})"
                    : $"a verifier process ran past {r.Elapsed.TotalSeconds:0.#} s and was killed; {r.Tasks - r.Reported} of its {r.Tasks} tasks are Errored (see {Path.Combine(r.Folder, "output.log")})");
            }
            else if (r.Crashed && r.Worker is not null)
            {
                console.Warning(TrainerDiagnostics.VerifierCrashed, $"verifier worker {r.Worker} ended with a rollout in flight (exit code {r.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}); the task is Errored, the worker is replaced and the run goes on: {Last(r.OutputTail)} (see {Path.Combine(r.Folder, "output.log")})");
            }
            else if (r.Crashed)
            {
                console.Warning(TrainerDiagnostics.VerifierCrashed, $"a verifier process crashed (exit code {r.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}); {r.Tasks - r.Reported} of its {r.Tasks} tasks are Errored and the run goes on: {Last(r.OutputTail)} (see {Path.Combine(r.Folder, "output.log")})");
            }
            else
            {
                console.Detail($"verifier process: {r.Reported}/{r.Tasks} results in {r.Elapsed.TotalSeconds:0.00} s, exit code {r.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"} ({r.Folder})");
            }
        };
        runner.BadResult += (path, why) => console.Warning(TrainerDiagnostics.BadResultFile, why, path);
        runner.BatchEnded += (request, processes, elapsed) =>
            console.Detail($"{request.Stage}: {request.TaskIds.Count} tasks in {processes} verifier processes, {elapsed.TotalSeconds:0.00} s");
        return runner;
    }

    /// <summary>
    /// Builds and drops the target's client so that a target the verifiers could not build fails once, here, instead of
    /// erroring every task. Skipped when no target is configured (a verifier may plug in its own via SkillAgent.ClientFactory).
    /// </summary>
    internal static void PreflightTarget(CommandContext ctx)
    {
        var env = Environment.GetEnvironmentVariable(ChatClientFactory.EnvironmentVariableName("target", "PROVIDER"));
        if (string.IsNullOrWhiteSpace(ctx.Options.Models.Target.Provider) && string.IsNullOrWhiteSpace(env))
        {
            return;
        }
        CreateClient("target", ctx).Dispose();
    }

    private static Microsoft.Extensions.AI.IChatClient CreateClient(string role, CommandContext ctx)
    {
        try
        {
            return RoleChatClients.Create(role, role == "target" ? ctx.Options.Models.Target : ctx.Options.Models.Optimizer, ctx.ConfigDirectory);
        }
        catch (ProviderConfigurationException ex)
        {
            throw new TrainerException(TrainerDiagnostics.ModelConfiguration, ex.Message, ctx.ConfigPath);
        }
    }

    internal static async Task<int> Guard(TrainerConsole console, bool verbose, Func<Task<int>> action)
    {
        console.Verbose = verbose;
        VerifierWorkerPool.BeginScope();
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (TrainerException ex)
        {
            console.Error(ex.Code, ex.Message, ex.Origin);
        }
        catch (OutputWriteException ex)
        {
            // disk full, read-only, permission denied or a vanished run folder: what to free or fix, and that the run resumes
            console.Raw(ex.Diagnostic);
        }
        catch (DamagedFileException ex)
        {
            // a run-folder file cut short or edited: name it and what to do, not "report it"
            console.Raw(FileDiagnosticException.Format(TrainerDiagnostics.DamagedFile, ex.File, ex.Line, ex.Column,
                $"SkillOpt cannot read this file back ({ex.Detail}); it writes its files whole, so the file was cut short or changed outside SkillOpt. "
                + "The committed skill is untouched. Restore the file, or start over in a new run folder (--run, -p:SkillOptRunDirectory=…) or after deleting this one."));
        }
        catch (FileDiagnosticException ex)
        {
            // configuration, scripted rules and scenario errors already carry their canonical file(line,col) form
            console.Raw(ex.Message);
        }
        catch (RolloutErrorsException ex)
        {
            console.Error(TrainerDiagnostics.TooManyErrors, ex.Message + " Fix the cause and run the same command again to resume.");
        }
        catch (ProviderException ex)
        {
            // a call the trainer itself makes (the optimizer's; the target is called in the verifier processes) failed for
            // good: the phase under way is abandoned and the run folder keeps the last finished one
            console.Error(TrainerDiagnostics.ProviderFailed, ex.Message
                + " The run folder keeps the last finished phase: fix the cause (or wait for the provider), then run the same command again; it resumes from there.");
        }
        catch (ApprovalException ex)
        {
            console.Error(ex.NothingPending ? TrainerDiagnostics.NothingToApprove : TrainerDiagnostics.ApprovalFailed, ex.Message);
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("run folder", StringComparison.OrdinalIgnoreCase))
        {
            console.Error(TrainerDiagnostics.RunFolderConflict, ex.Message);
        }
        catch (OperationCanceledException)
        {
            console.Warning(TrainerDiagnostics.Interrupted, "cancelled");
            return TrainerDiagnostics.ExitInterrupted;
        }
        catch (Exception ex)
        {
            console.Error(TrainerDiagnostics.Unexpected, $"{ex.GetType().Name}: {ex.Message}" + (verbose ? "\n" + ex.StackTrace : " (run with --verbose for the stack trace)"));
        }
        finally
        {
            // the verifier workers end once their rollouts finish, their logs complete
            await VerifierWorkerPool.EndScopeAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        return TrainerDiagnostics.ExitError;
    }

    internal static TimeSpan Seconds(double value, string option, bool allowZero)
    {
        if (!double.IsFinite(value) || value < 0 || (!allowZero && value == 0) || value > 86_400)
        {
            throw new TrainerException(TrainerDiagnostics.InvalidOption,
                $"{option} must be a {(allowZero ? "non-negative" : "positive")} number of seconds, at most 86,400, not {value.ToString(CultureInfo.InvariantCulture)}");
        }
        return TimeSpan.FromSeconds(value);
    }

    /// <summary>
    /// Why the listed tasks leave the test split empty. The listing does not say which tasks pin their split, but a task
    /// the ratios put in the test split and that is listed in another one pins it.
    /// </summary>
    private static string EmptyTestSplit(CommandContext ctx, IReadOnlyList<VerifierTask> tasks)
    {
        var ratios = ctx.Options.Splits;
        var test = ratios.Test.ToString("0.###", CultureInfo.InvariantCulture);
        var pinnedAway = tasks.Count(t => SkillSplits.Assign(t.TaskId, ratios) == SkillSplits.Test);
        var cause = pinnedAway > 0
            ? $"the {pinnedAway} {(pinnedAway == 1 ? "task" : "tasks")} that the splits ratios (test: {test}) would put in the test split {(pinnedAway == 1 ? "is" : "are")} pinned to train or validation (Split = \"train\" or \"val\"), so every task is in train or validation"
            : $"no task pins Split = \"test\", and none of the {tasks.Count} tasks falls in the test split by the splits ratios (test: {test})";
        return $"the skill '{ctx.Skill}' has no test tasks ({tasks.Count(t => t.Split == SkillSplits.Train)} train, {tasks.Count(t => t.Split == SkillSplits.Validation)} val): {cause}; "
            + "the test split must not be empty: the approval check compares the trained skill with the committed one on the test split. "
            + "Pin some tasks with Split = \"test\", or add unpinned tasks (the splits ratios assign them)";
    }

    internal static string Counts(IReadOnlyList<VerifierTask> tasks) =>
        $"{tasks.Count(t => t.Split == SkillSplits.Train)} train, {tasks.Count(t => t.Split == SkillSplits.Validation)} val, {tasks.Count(t => t.Split == SkillSplits.Test)} test";

    private static string Last(string tail)
    {
        var lines = tail.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("at ", StringComparison.Ordinal)).ToList();
        return lines.Count == 0 ? "no output" : lines[^1];
    }
}
