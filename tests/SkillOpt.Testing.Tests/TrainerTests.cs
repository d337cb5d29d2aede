using System.Diagnostics;
using System.Text.Json;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Testing.Tests.Infrastructure;
using SkillOpt.Tests.Shared;
using SkillOpt.Testing.Verifiers;

namespace SkillOpt.Testing.Tests;

/// <summary>The built <c>skillopt</c> command run as a process over the sample verifier project.</summary>
public class TrainerTests
{
    private static readonly string Verifier = ToolPaths.SampleVerifiers;

    /// <summary>A copy of the committed arith skill: training writes its received files beside the skill it starts from.</summary>
    private static string ArithSkill(TempFolder dir)
    {
        var copy = dir.Combine("SKILL.md");
        File.Copy(Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "arith", "SKILL.md"), copy, overwrite: true);
        return copy;
    }

    [Fact]
    public async Task Train_then_eval_end_to_end()
    {
        using var dir = new TempFolder();
        var list = await Tool.SkilloptAsync(dir.Path, null, "list", "--verifier", Verifier, "--skill", "arith");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("val    arith/Tools.UsesTheCalculator", list.Stdout);
        Assert.Contains("skillopt: 19 tasks of skill 'arith': 9 train, 6 val, 4 test", list.Stdout);

        var train = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", ArithSkill(dir), "--run", "run");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("skillopt: baseline: validation 0 on 6 tasks (0 errored)", train.Stdout);
        Assert.Contains("skillopt: [epoch 1 step 1/1] rollout: 0/9 passed, mean 0, 0 errored", train.Stdout);
        Assert.Contains("skillopt: [epoch 1 step 1/1] gate: accept", train.Stdout);
        // the only warning: 3 scored test tasks (the fourth is skipped) cannot show the trained skill better than the committed one
        var stderr = train.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(stderr.Length == 1 && stderr[0].Contains("warning SKOPT3103: the trained skill is not shown better than the committed one", StringComparison.Ordinal), train.Stderr);
        Assert.Contains("3 wins, 0 losses, mean difference +1, one-sided sign test p = 0.125 > α = 0.025: not shown better) (with 3 paired results even 3 wins without a loss give p = 0.125 > α: the test split is too small for this check)", train.Stderr);

        var run = dir.Combine("run");
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))).RootElement;
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Equal(0, summary.GetProperty("initial").GetProperty("validation").GetDouble());
        Assert.Equal(1, summary.GetProperty("best").GetProperty("validation").GetDouble());
        Assert.Equal(1, summary.GetProperty("accepted").GetInt32());
        var best = File.ReadAllText(Path.Combine(run, "best_skill.md"));
        Assert.StartsWith(File.ReadAllText(Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "arith", "SKILL.md")).TrimEnd(), best);
        Assert.Contains("[units] [percent] [rates] [tools] [explain]", best);

        // The transcript of every rollout is in the run folder: every result file the verifiers wrote, and the step's rollout.
        var resultFiles = Directory.GetFiles(Path.Combine(run, "rollouts"), "*.json", SearchOption.AllDirectories);
        Assert.True(resultFiles.Length >= 19, $"{resultFiles.Length} result files");
        foreach (var file in resultFiles)
        {
            var r = VerifierResultFile.Read(file).Result;
            if (r.Outcome != TaskOutcome.Skipped)
            {
                Assert.True(r.Transcript.Count >= 2, $"{file} has no transcript");
                Assert.Equal("user", r.Transcript[0].Role);
            }
        }
        var rollout = AtomicFile.ReadJson<Evaluation>(Path.Combine(run, "steps", "step_0001", "rollout.json"))!;
        Assert.Equal(9, rollout.Results.Count);
        Assert.All(rollout.Results, r => Assert.NotEmpty(r.Transcript));
        var tasks = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "tasks.json"))).RootElement;
        Assert.Equal(19, tasks.GetProperty("tasks").GetArrayLength());

        // eval: the trained skill on the held-out test split, then with another target model (cross-model check)
        var eval = await Tool.SkilloptAsync(dir.Path, null, "eval", "--verifier", Verifier, "--skill", "arith", "--skill-file", Path.Combine(run, "best_skill.md"),
            "--split", "test", "--out", "eval-best");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.Contains("skillopt: eval: 3/4 passed, mean 1 on test (0 failed, 0 errored, 1 skipped)", eval.Stdout);
        var evaluation = JsonDocument.Parse(File.ReadAllText(dir.Combine("eval-best", "evaluation.json"))).RootElement;
        Assert.Equal(1, evaluation.GetProperty("mean_score").GetDouble());
        Assert.Equal(4, evaluation.GetProperty("results").GetArrayLength());

        var initial = await Tool.SkilloptAsync(dir.Path, null, "eval", "--verifier", Verifier, "--skill", "arith", "--split", "test", "--target-model", "another-model", "--out", "eval-initial");
        Assert.True(initial.ExitCode == 0, initial.ToString());
        Assert.Contains("skillopt: eval: 0/4 passed, mean 0 on test (3 failed, 0 errored, 1 skipped)", initial.Stdout);
        Assert.Contains("and target model another-model", initial.Stdout);
        Assert.Equal("another-model", JsonDocument.Parse(File.ReadAllText(dir.Combine("eval-initial", "evaluation.json"))).RootElement.GetProperty("target").GetProperty("model").GetString());
    }

    [Fact]
    public async Task A_crashing_verifier_process_does_not_stop_training_and_exceptions_are_errored()
    {
        using var dir = new TempFolder();
        var train = await Tool.SkilloptAsync(dir.Path, new Dictionary<string, string?> { ["SKILLOPT_SAMPLE_FAULT"] = "crash,throw" },
            "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", ArithSkill(dir), "--run", "run");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("skillopt : warning SKOPT2101: a verifier process crashed (exit code", train.Stderr);
        Assert.Contains("simulated verifier crash", train.Stderr);
        Assert.Contains("skillopt: [epoch 1 step 1/1] rollout: 0/9 passed, mean 0, 2 errored", train.Stdout);
        Assert.Contains("completed: best validation 1 (initial 0)", train.Stdout);

        var rollout = AtomicFile.ReadJson<Evaluation>(Path.Combine(dir.Path, "run", "steps", "step_0001", "rollout.json"))!;
        var crashed = rollout.Results.Single(r => r.TaskId == "arith/Faults.CrashesWhenAsked");
        Assert.Equal(TaskOutcome.Errored, crashed.Outcome);
        Assert.Contains("crashed", crashed.Reason);
        var thrown = rollout.Results.Single(r => r.TaskId == "arith/Faults.ThrowsWhenAsked");
        Assert.Equal(TaskOutcome.Errored, thrown.Outcome); // not Failed: a non-assertion exception is not evidence about the skill
        Assert.Contains("InvalidOperationException", thrown.Reason);
        Assert.Equal(7, rollout.Results.Count(r => r.Outcome == TaskOutcome.Failed));
    }

    [Fact]
    public async Task Ctrl_C_checkpoints_and_running_the_same_command_again_resumes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "sends SIGINT through libc");
        using var dir = new TempFolder();
        var interrupted = 0;
        var first = await Tool.RunAsync(ToolPaths.Trainer, dir.Path, new Dictionary<string, string?> { ["SKILLOPT_SAMPLE_FAULT"] = "hang" }, TestTimeouts.Trainer,
            (process, line) =>
            {
                // The step's train rollout hangs (Faults.HangsWhenAsked); interrupt once the baseline is checkpointed.
                if (line.Contains("baseline:", StringComparison.Ordinal) && Interlocked.Exchange(ref interrupted, 1) == 0)
                {
                    Tool.Interrupt(process);
                }
            },
            "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", ArithSkill(dir), "--run", "run", "--grace", "1");
        // 130, not 0: the hanging rollout was stopped by the interrupt, not by rollouts.timeout_seconds (no wall-clock assertion)
        Assert.True(first.ExitCode == 130, first.ToString());
        Assert.Contains("interrupted (SIGINT)", first.Stdout);
        Assert.Contains("warning SKOPT2104: training was interrupted", first.Stderr);
        var state = JsonDocument.Parse(File.ReadAllText(dir.Combine("run", "runtime_state.json"))).RootElement;
        Assert.Equal(1, state.GetProperty("completed_phases").GetInt32());

        var second = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", dir.Combine("SKILL.md"), "--run", "run");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("resuming after phase 1", second.Stdout);
        Assert.DoesNotContain("baseline:", second.Stdout);
        Assert.Contains("completed: best validation 1 (initial 0)", second.Stdout);
    }

    [Fact]
    public async Task A_verifier_path_that_is_a_folder_or_not_an_assembly_says_which()
    {
        using var dir = new TempFolder();
        var folder = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", dir.Path);
        Assert.Equal(1, folder.ExitCode);
        Assert.Contains("error SKOPT2001: The verifier path", folder.Stderr);
        Assert.Contains("is a folder, not the verifier's .dll", folder.Stderr);

        var notes = dir.Combine("README.md");
        File.WriteAllText(notes, "# notes\n");
        var markdown = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", notes);
        Assert.Equal(1, markdown.ExitCode);
        Assert.Matches(@"README\.md : error SKOPT2001: not a \.NET assembly: .*README\.md is a file of another kind", markdown.Stderr);

        var fake = dir.Combine("Fake.dll");
        File.WriteAllText(fake, "not a PE file");
        var text = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", fake);
        Assert.Equal(1, text.ExitCode);
        Assert.Matches(@"Fake\.dll : error SKOPT2001: not a \.NET assembly: ", text.Stderr);
        foreach (var outcome in new[] { folder, markdown, text })
        {
            Assert.DoesNotContain("does not exist", outcome.Stderr);
            Assert.DoesNotContain("SKOPT2099", outcome.Stderr);
        }
    }

    [Fact]
    public async Task A_verifier_whose_data_throws_during_discovery_names_the_test_and_the_error()
    {
        using var dir = new TempFolder();
        var faulty = new Dictionary<string, string?> { ["SKILLOPT_SAMPLE_FAULT"] = "data" };
        var list = await Tool.SkilloptAsync(dir.Path, faulty, "list", "--verifier", Verifier, "--skill", "arith");
        Assert.True(list.ExitCode == 1, list.ToString());
        Assert.Contains("error SKOPT2002: Discovering the tasks of SkillOpt.SampleVerifiers.dll failed for 1 test: ", list.Stderr);
        Assert.Contains("UnitConversions.ConvertsKilometres", list.Stderr);
        Assert.Contains("FormatException: line 3 of the task data is not valid JSON", list.Stderr);
        Assert.DoesNotContain("SKOPT2003", list.Stderr);

        var train = await Tool.SkilloptAsync(dir.Path, faulty, "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", ArithSkill(dir), "--run", "run");
        Assert.True(train.ExitCode == 1, train.ToString());
        Assert.Contains("error SKOPT2002: Discovering the tasks", train.Stderr);
        // another skill's listing is not affected
        var simmath = await Tool.SkilloptAsync(dir.Path, faulty, "list", "--verifier", Verifier, "--skill", "simmath");
        Assert.True(simmath.ExitCode == 0, simmath.ToString());
    }

    [Fact]
    public async Task Errors_are_canonical_diagnostics()
    {
        using var dir = new TempFolder();
        var missing = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", dir.Combine("nope.dll"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Matches(@"nope\.dll : error SKOPT2001: The verifier assembly does not exist", missing.Stderr);

        var ambiguous = await Tool.SkilloptAsync(dir.Path, null, "list", "--verifier", Verifier);
        Assert.Equal(1, ambiguous.ExitCode);
        Assert.Matches(@"SkillOpt\.SampleVerifiers\.dll : error SKOPT2004: the verifier declares several skills \((arith|bench|pinned|simmath)(, (arith|bench|pinned|simmath)){3}\); pass --skill", ambiguous.Stderr);

        var config = dir.Combine("skillopt.yaml");
        File.WriteAllText(config, "training:\n  epochs: 2\n  bach_size: 8\n");
        var bad = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", "arith", "--config", config);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains($"{config}(3,3): error SKOPT1001: unknown key 'bach_size' in 'training' (did you mean 'batch_size'?)", bad.Stderr);

        File.WriteAllText(config, "models:\n  target:\n    provider: scripted\n    endpoint: missing.rules.yaml\n");
        var rules = await Tool.SkilloptAsync(dir.Path, null, "eval", "--verifier", Verifier, "--skill", "arith", "--config", config);
        Assert.Equal(1, rules.ExitCode);
        Assert.Contains("missing.rules.yaml: error SKOPT2201: the scripted model's rules file does not exist", rules.Stderr);
    }
}
