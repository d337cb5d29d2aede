using System.Text.Json;
using SkillOpt.Core.Processes;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Testing.Tests.Infrastructure;
using SkillOpt.Tests.Shared;
using SkillOpt.Trainer.Commands;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Testing.Tests;

/// <summary>The trainer on bad days: a verifier that prints the key, floods its output, a second trainer, a killed one, a full disk.</summary>
public class HardeningTests
{
    private static readonly string Verifier = ToolPaths.SampleVerifiers;

    /// <summary>A copy of the arith skill, its configuration (with <paramref name="extraTargetYaml"/> under models.target) and rules files.</summary>
    private static (string Skill, string Config) ArithCopy(TempFolder dir, string extraTargetYaml = "")
    {
        var source = Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "arith");
        foreach (var name in new[] { "SKILL.md", "target.rules.yaml", "optimizer.rules.yaml" })
        {
            File.Copy(Path.Combine(source, name), dir.Combine(name), overwrite: true);
        }
        var config = File.ReadAllText(Path.Combine(source, "skillopt.yaml"));
        if (extraTargetYaml.Length > 0)
        {
            config = config.Replace("    endpoint: target.rules.yaml\n", "    endpoint: target.rules.yaml\n" + extraTargetYaml, StringComparison.Ordinal);
        }
        File.WriteAllText(dir.Combine("skillopt.yaml"), config);
        return (dir.Combine("SKILL.md"), dir.Combine("skillopt.yaml"));
    }

    [Fact]
    public async Task A_verifier_that_prints_the_key_leaves_it_in_no_file_and_no_diagnostic()
    {
        using var dir = new TempFolder();
        var (skill, config) = ArithCopy(dir, "    api_key_env: SKOPT_SAMPLE_CREDENTIAL\n");
        // a key shaped like OpenAI's, and a configured key variable whose value has no particular shape
        var openAiKey = "sk-proj-" + Guid.NewGuid().ToString("N") + "T3st" + Guid.NewGuid().ToString("N");
        var credential = "plain-credential-" + Guid.NewGuid().ToString("N")[..12];
        var env = new Dictionary<string, string?>
        {
            ["OPENAI_API_KEY"] = openAiKey,
            ["SKOPT_SAMPLE_CREDENTIAL"] = credential,
            ["SKILLOPT_SAMPLE_FAULT"] = "leak,crash",
            ["SKILLOPT_SAMPLE_LEAK"] = "OPENAI_API_KEY,SKOPT_SAMPLE_CREDENTIAL",
        };
        var train = await Tool.SkilloptAsync(dir.Path, env, "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", skill, "--config", config, "--run", "run");

        // The verifier did leak (into its output, its transcript, an assertion, an exception and a crash message) …
        Assert.Contains("warning SKOPT2101: a verifier process crashed", train.Stderr);
        var logs = Directory.GetFiles(dir.Combine("run"), "output.log", SearchOption.AllDirectories).Select(File.ReadAllText).ToList();
        Assert.Contains(logs, l => l.Contains("verifier stdout: OPENAI_API_KEY=[REDACTED] SKOPT_SAMPLE_CREDENTIAL=[REDACTED]", StringComparison.Ordinal));
        var rollout = AtomicFile.ReadJson<Evaluation>(dir.Combine("run", "steps", "step_0001", "rollout.json"))!;
        Assert.Contains("[REDACTED]", rollout.Results.Single(r => r.TaskId == "arith/Faults.ThrowsWhenAsked").Reason);
        Assert.Contains(rollout.Results.Single(r => r.TaskId == "arith/Faults.ThrowsWhenAsked").Transcript, m => m.Text?.Contains("remember OPENAI_API_KEY=[REDACTED]", StringComparison.Ordinal) == true);
        Assert.Contains("[REDACTED]", rollout.Results.Single(r => r.TaskId == "arith/Faults.HangsWhenAsked").Reason);

        // … and neither value is in any file SkillOpt wrote (run folder, received files) nor in any diagnostic.
        foreach (var file in Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(file);
            Assert.False(text.Contains(openAiKey, StringComparison.Ordinal), $"{file} holds the OpenAI key");
            Assert.False(text.Contains(credential, StringComparison.Ordinal), $"{file} holds the configured key");
        }
        foreach (var output in new[] { train.Stdout, train.Stderr })
        {
            Assert.DoesNotContain(openAiKey, output, StringComparison.Ordinal);
            Assert.DoesNotContain(credential, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_hundred_megabytes_of_verifier_output_leave_the_run_folder_small()
    {
        using var dir = new TempFolder();
        var (skill, config) = ArithCopy(dir);
        var env = new Dictionary<string, string?> { ["SKILLOPT_SAMPLE_FAULT"] = "flood", ["SKILLOPT_SAMPLE_FLOOD_MB"] = "100" };
        var train = await Tool.SkilloptAsync(dir.Path, env, "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", skill, "--config", config, "--run", "run");
        Assert.True(train.ExitCode == 0, train.ToString());

        var flooded = Directory.GetFiles(dir.Combine("run"), "output.log", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains("lines (", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(flooded);
        foreach (var log in flooded)
        {
            var text = File.ReadAllText(log);
            Assert.InRange(new FileInfo(log).Length, 1_000_000, 1_100_000); // rollouts.max_output_bytes (1 MiB) and the cut's note
            Assert.Matches(@"\[skillopt: \d{5,} lines \(\d{8,} bytes\) of output cut here: rollouts\.max_output_bytes keeps the first and the last 524288 bytes of 1048576\]", text);
            // the head and the tail are kept: the process's first and last messages
            Assert.StartsWith("{\"$type\":", text, StringComparison.Ordinal);
            Assert.Contains("{\"$type\":\"test-assembly-finished\"", text[text.IndexOf("of output cut here", StringComparison.Ordinal)..], StringComparison.Ordinal);
        }
        var size = Directory.GetFiles(dir.Combine("run"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(size < 10_000_000, $"the run folder holds {size} bytes");
    }

    [Fact]
    public async Task A_second_trainer_on_the_same_run_folder_fails_at_once_and_a_killed_trainers_folder_is_taken_over()
    {
        using var dir = new TempFolder();
        var (skill, config) = ArithCopy(dir);
        string[] args = ["train", "--verifier", Verifier, "--skill", "arith", "--skill-file", skill, "--config", config, "--run", "run"];
        var holding = new TaskCompletionSource<ChildProcess>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The first trainer's step-1 rollout hangs (the process timeout is long); it holds the folder until it is killed.
        var first = Tool.RunAsync(ToolPaths.Trainer, dir.Path, new Dictionary<string, string?> { ["SKILLOPT_SAMPLE_FAULT"] = "hang" }, TestTimeouts.Trainer,
            (process, line) =>
            {
                if (line.Contains("baseline:", StringComparison.Ordinal))
                {
                    holding.TrySetResult(process);
                }
            },
            [.. args, "--timeout", "3600"]);
        var holder = await holding.Task.WaitAsync(TestTimeouts.Trainer, TestContext.Current.CancellationToken);
        var holderId = holder.Id!.Value;

        var second = await Tool.SkilloptAsync(dir.Path, null, args);
        Assert.Equal(1, second.ExitCode);
        Assert.Matches($@"error SKOPT2011: another trainer is using the run folder .*run: process {holderId} on .+, started \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ \(skillopt train --skill arith\)", second.Stderr);
        Assert.DoesNotContain("skillopt: training skill", second.Stdout); // it did not list tasks or start a rollout
        Assert.False(File.Exists(Path.Combine(dir.Path, "SKILL.received.md")));

        // kill -9: the operating system releases the lock; the holder file stays behind
        holder.Kill(); // the whole process tree
        await first;
        Assert.True(File.Exists(dir.Combine("run", ".skillopt.lock.json")));

        var third = await Tool.SkilloptAsync(dir.Path, null, args);
        Assert.True(third.ExitCode == 0, third.ToString());
        Assert.Contains($"run folder: taking it over from process {holderId} on", third.Stdout);
        Assert.Contains("resuming after phase 1", third.Stdout);
        Assert.Contains("completed: best validation 1 (initial 0)", third.Stdout);
        Assert.False(File.Exists(dir.Combine("run", ".skillopt.lock.json"))); // released on exit
    }

    [Theory]
    [InlineData("training: ~\n", null, "(1,1): error SKOPT1002: the section 'training' is empty")]
    [InlineData("models:\n  target: ~\n", null, "(2,3): error SKOPT1002: the section 'models.target' is empty")]
    [InlineData("- a\n- b\n", null, "(1,1): error SKOPT1002: the file must be a mapping of keys")]
    [InlineData("rollouts:\n  timeout_seconds: 1e30\n", null, "(2,20): error SKOPT1002: invalid value '1e30' for key 'rollouts.timeout_seconds': must be more than 0 and at most 86,400 seconds")]
    [InlineData("seed: 1\n", "gemini", "skillopt: error SKOPT1005: the environment variable SKILLOPT_TARGET_PROVIDER='gemini' is invalid")]
    public async Task A_bad_configuration_or_override_stops_the_trainer_before_anything_runs(string yaml, string? provider, string says)
    {
        using var dir = new TempFolder();
        var config = dir.Combine("skillopt.yaml");
        File.WriteAllText(config, yaml);
        var env = provider is null ? null : new Dictionary<string, string?> { ["SKILLOPT_TARGET_PROVIDER"] = provider };
        var run = await Tool.SkilloptAsync(dir.Path, env, "train", "--verifier", Verifier, "--skill", "arith", "--config", config, "--run", "run");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains(says, run.Stderr);
        Assert.DoesNotContain("SKOPT2099", run.Stderr);
        Assert.DoesNotContain("Exception", run.Stderr);
        Assert.False(Directory.Exists(dir.Combine("run")));
    }

    [Theory]
    [InlineData("default: \"\"\n", true)]
    [InlineData("default: \"\"\nrules:\n  - when: { user_contains: sky }\n    reply: \"It just is.\"\n", false)]
    public async Task A_target_that_answers_every_baseline_task_with_empty_text_is_a_warning_and_the_scores_stand(string targetRules, bool warned)
    {
        // HTTP 200 with empty content looks the same to the verifiers: an assistant message without text
        using var dir = new TempFolder();
        var (skill, config) = ArithCopy(dir);
        File.WriteAllText(dir.Combine("target.rules.yaml"), targetRules);
        var train = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", skill, "--config", config, "--run", "run");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("skillopt: baseline: validation 0 on 6 tasks (0 errored)", train.Stdout);
        const string warning = "skillopt : warning SKOPT2106: the target returned empty answers for 6 of 6 tasks of the baseline (the initial skill on the validation split), so its scores say nothing about the skill";
        if (warned)
        {
            Assert.Contains(warning, train.Stderr);
            Assert.Contains("check the target's provider and model configuration", train.Stderr);
            Assert.Single(train.Stderr.Split('\n'), l => l.Contains("SKOPT2106", StringComparison.Ordinal));
        }
        else
        {
            Assert.DoesNotContain("SKOPT2106", train.Stderr);
        }
    }

    [Theory]
    [InlineData("", "(1 train, 1 val): the 1 task that the splits ratios (test: 0.2) would put in the test split is pinned to train or validation")]
    [InlineData("splits: { train: 0.5, val: 0.45, test: 0.05 }\n", "(1 train, 1 val): no task pins Split = \"test\", and none of the 2 tasks falls in the test split by the splits ratios (test: 0.05)")]
    public async Task A_test_split_left_empty_by_pinned_tasks_stops_training_before_it_starts(string splits, string cause)
    {
        // splits.test > 0 passes the configuration check, but every task of the sample "pinned" skill pins train or val
        using var dir = new TempFolder();
        var source = Path.Combine(ToolPaths.SampleVerifiersProject, "skills");
        File.Copy(Path.Combine(source, "pinned", "SKILL.md"), dir.Combine("SKILL.md"));
        File.WriteAllText(dir.Combine("skillopt.yaml"), splits + $$"""
            models:
              target: { provider: scripted, endpoint: '{{Path.Combine(source, "arith", "target.rules.yaml")}}' }
              optimizer: { provider: scripted, endpoint: '{{Path.Combine(source, "arith", "optimizer.rules.yaml")}}' }

            """);
        var train = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", "pinned", "--skill-file", dir.Combine("SKILL.md"),
            "--config", dir.Combine("skillopt.yaml"), "--run", "run");
        Assert.True(train.ExitCode == 1, train.ToString());
        Assert.Contains($"{dir.Combine("skillopt.yaml")} : error SKOPT2005: the skill 'pinned' has no test tasks {cause}", train.Stderr);
        Assert.Contains("the test split must not be empty: the approval check compares the trained skill with the committed one on the test split", train.Stderr);
        Assert.Contains("Pin some tasks with Split = \"test\", or add unpinned tasks", train.Stderr);
        Assert.DoesNotContain("baseline", train.Stdout);
        Assert.False(File.Exists(dir.Combine("run", "summary.json")));
        Assert.Empty(Directory.GetFiles(dir.Path, "SKILL.received*"));
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("-rf")]
    [InlineData("a/b")]
    public async Task An_invalid_skill_name_is_a_coded_error(string name)
    {
        using var dir = new TempFolder();
        var run = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", name);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"error SKOPT2012: --skill '{name}' is not a valid skill name: use a letter or digit", run.Stderr);
        Assert.False(Directory.Exists(dir.Combine(".skillopt")));
    }

    [Fact]
    public async Task A_full_disk_stops_training_with_a_coded_error_touches_no_skill_file_and_the_run_resumes_once_space_is_freed()
    {
        using var dir = new TempFolder();
        var (skill, config) = ArithCopy(dir);
        var committed = File.ReadAllText(skill);
        var runFolder = dir.Combine("run");
        string[] args = ["train", "--verifier", Verifier, "--skill", "arith", "--skill-file", skill, "--config", config, "--run", runFolder];

        // The disk fills up right after the baseline's checkpoint: every later write into the run folder fails.
        var checkpoints = 0;
        var full = false;
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int exit;
        using (AtomicFile.InjectFaults(path =>
        {
            if (path.StartsWith(runFolder, StringComparison.Ordinal) && Path.GetFileName(path) == "runtime_state.json" && Interlocked.Increment(ref checkpoints) == 2)
            {
                full = true;
            }
            return full && path.StartsWith(runFolder, StringComparison.Ordinal) ? new IOException("No space left on device", 28) : null;
        }))
        {
            exit = await TrainerCommands.RunAsync(args, new TrainerConsole(stdout, stderr));
        }
        Assert.True(exit == 1, $"{stdout}\n{stderr}");
        Assert.Matches(@"run: error SKOPT2010: could not write .*runtime_state\.json \(No space left on device\): the disk is full \(no space left on the device.*\): free space on the file system that holds .*run .*then run the same command again: the run resumes after its last finished phase", stderr.ToString());
        Assert.DoesNotContain("SKOPT2099", stderr.ToString());
        Assert.Equal(committed, File.ReadAllText(skill));
        Assert.Empty(Directory.GetFiles(dir.Path, "SKILL.received*"));
        foreach (var json in Directory.GetFiles(runFolder, "*.json", SearchOption.AllDirectories))
        {
            using var _ = JsonDocument.Parse(File.ReadAllText(json));
        }

        var resumed = await Tool.SkilloptAsync(dir.Path, null, args);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("resuming after phase 1", resumed.Stdout);
        Assert.Contains("completed: best validation 1 (initial 0)", resumed.Stdout);
        Assert.True(File.Exists(dir.Combine("SKILL.received.md")));
        Assert.Equal(committed, File.ReadAllText(skill));
    }

    [Fact]
    public async Task A_run_folder_file_cut_short_outside_the_trainer_is_a_coded_error_that_names_the_file_and_its_line()
    {
        using var dir = new TempFolder();
        var (skill, config) = ArithCopy(dir);
        var runFolder = dir.Combine("run");
        string[] args = ["train", "--verifier", Verifier, "--skill", "arith", "--skill-file", skill, "--config", config, "--run", runFolder];
        var first = await Tool.SkilloptAsync(dir.Path, null, args);
        Assert.True(first.ExitCode == 0, first.ToString());
        var received = File.ReadAllText(dir.Combine("SKILL.received.md"));

        foreach (var name in new[] { "runtime_state.json", "history.json" })
        {
            var path = Path.Combine(runFolder, name);
            var whole = File.ReadAllText(path);
            File.WriteAllText(path, whole[..(whole.Length / 2)]); // a partial copy
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            var exit = await TrainerCommands.RunAsync(args, new TrainerConsole(stdout, stderr));
            Assert.True(exit == 1, $"{stdout}\n{stderr}");
            Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(path)}\(\d+,\d+\): error SKOPT2014: SkillOpt cannot read this file back \(.+\); it writes its files whole, so the file was cut short or changed outside SkillOpt\. .*start over in a new run folder", stderr.ToString());
            Assert.DoesNotContain("SKOPT2099", stderr.ToString());
            File.WriteAllText(path, whole);
        }
        // nothing was lost: the restored files resume the finished run, whose received skill is the same
        var again = await Tool.SkilloptAsync(dir.Path, null, args);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(received, File.ReadAllText(dir.Combine("SKILL.received.md")));
    }
}
