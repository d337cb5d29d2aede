using System.Text.Json;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Processes;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

public class TrainingLoopTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));

    private static async Task<(RunSummary Summary, string Folder, ScriptedRunner Runner, ScriptedOptimizer Optimizer)> TrainAsync(SkillOptOptions? options = null, string? folder = null)
    {
        folder ??= NewFolder();
        var runner = new ScriptedRunner();
        var optimizer = new ScriptedOptimizer();
        var loop = new SkillTrainingLoop(options ?? HarnessConfig.Options(), runner, optimizer, folder);
        var summary = await loop.RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        return (summary, folder, runner, optimizer);
    }

    [Fact]
    public async Task The_loop_raises_the_validation_score_and_rejects_a_harmful_edit()
    {
        var options = HarnessConfig.Options("posterior"); // the default preset's own loop, which filters rejected edits in code (the reference's loop only shows them)
        options.Training.SlowUpdate.SkipUnchanged = false; // the scripted world learns everything in epoch 1; run the slow updates anyway
        var (summary, folder, _, optimizer) = await TrainAsync(options);

        Assert.Equal(0.0, summary.Initial.Validation);
        Assert.Equal(1.0, summary.Best.Validation);
        Assert.Equal(1.0, summary.Best.Test);
        Assert.True(summary.Accepted >= 2, $"accepted {summary.Accepted}");
        Assert.True(summary.Rejected >= 1, $"rejected {summary.Rejected}");

        var best = File.ReadAllText(Path.Combine(folder, "best_skill.md"));
        Assert.All(ScriptedWorld.Procedures, p => Assert.Contains($"[{p}]", best));
        Assert.DoesNotContain(ScriptedWorld.HarmfulPhrase, best);

        var history = AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!;
        Assert.Equal("baseline", history[0].Kind);
        var accepted = history.Where(h => h.Action == "accept").ToList();
        var rejected = history.Where(h => h.Action == "reject").ToList();
        Assert.NotEmpty(accepted);
        Assert.NotEmpty(rejected);
        Assert.All(accepted, h => Assert.True(h.Validation!.CandidateScore > h.Validation.IncumbentScore));
        var harmfulStep = rejected.First(h => h.Kind == "step");
        var candidate = File.ReadAllText(Path.Combine(folder, "steps", $"step_{harmfulStep.Step:D4}", "candidate_skill.md"));
        Assert.Contains(ScriptedWorld.HarmfulPhrase, candidate);

        // the rejected edit is remembered and filtered in code afterwards
        var buffer = RejectedEditBuffer.Load(Path.Combine(folder, "rejected_edits.json"));
        Assert.Contains(buffer.Entries, e => e.Content!.Contains(ScriptedWorld.HarmfulPhrase));
        Assert.Contains(history, h => h.EditsFilteredAsRejected > 0);

        // every stage of the loop was exercised, each call naming its schema
        Assert.Contains("skillopt_reflection", optimizer.SchemaNames);
        Assert.Contains("skillopt_slow_update", optimizer.SchemaNames);
        Assert.Contains("skillopt_meta_skill", optimizer.SchemaNames);
        Assert.Contains(history, h => h.Kind == "slow_update");
        Assert.Equal(1, history.Count(h => h.Kind == "meta_skill")); // epoch 2 only: the last epoch's advice would be unused

        // run folder layout
        Assert.True(File.Exists(Path.Combine(folder, "summary.json")));
        Assert.True(File.Exists(Path.Combine(folder, "skills", "skill_v0000.md")));
        Assert.True(File.Exists(Path.Combine(folder, "steps", "step_0001", "rollout.json")));
        Assert.True(File.Exists(Path.Combine(folder, "steps", "step_0001", "reflections.json")));
        Assert.True(File.Exists(Path.Combine(folder, "steps", "step_0001", "edit_report.json")));
        Assert.Contains("Question task-", File.ReadAllText(Path.Combine(folder, "steps", "step_0001", "rollout.json"))); // transcripts kept
        Assert.True(summary.Usage["rollout"].Calls > 0);
        Assert.True(summary.Usage["reflect"].Calls > 0);
        Assert.True(summary.Usage["validate"].Tasks > 0);
    }

    [Fact]
    public async Task Validation_results_are_reused_by_skill_hash_so_a_finished_run_costs_nothing_to_rerun()
    {
        var (_, folder, runner1, _) = await TrainAsync();
        var (again, _, runner2, optimizer2) = await TrainAsync(folder: folder);
        Assert.True(runner1.Calls > 0);
        Assert.Equal(0, runner2.Calls);
        Assert.Equal(0, optimizer2.Calls);
        Assert.Equal(1.0, again.Best.Validation);
    }

    [Fact]
    public async Task A_folder_of_another_configuration_is_refused()
    {
        var (_, folder, _, _) = await TrainAsync();
        var other = HarnessConfig.Options();
        other.Seed = 99;
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => TrainAsync(other, folder));
        Assert.Contains("another configuration", ex.Message);
    }

    [Fact]
    public async Task Classic_preset_applies_the_slow_update_without_the_gate()
    {
        var options = SkillOptConfigLoader.Parse("preset: classic\nseed: 7\ntraining:\n  epochs: 3\n  batch_size: 10\n  minibatch_size: 4\n", "c.yaml");
        var (_, folder, _, _) = await TrainAsync(options);
        var history = AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!;
        Assert.Contains(history, h => h.Kind == "slow_update" && h.Action == "applied_ungated");
        Assert.Equal(2, history.Count(h => h.Kind == "meta_skill")); // the reference also writes the unused last one
    }

    [Fact]
    public async Task Default_preset_writes_no_meta_skill_after_the_last_epoch_and_the_last_slow_update_can_be_left_out()
    {
        static async Task<List<HistoryRecord>> HistoryAsync(string extra)
        {
            var options = SkillOptConfigLoader.Parse($"seed: 7\ntraining:\n  epochs: 3\n  batch_size: 10\n  minibatch_size: 4\n  early_stopping: {{ ceiling: false }}\n{extra}", "d.yaml");
            var (_, folder, _, _) = await TrainAsync(options);
            return AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!;
        }

        // the reference's loop: the empty block after epoch 1, the ungated guidance after epoch 2, a slow update after
        // epoch 3 (the scripted optimizer repeats its guidance, so that one changes nothing); the meta skill's advice after
        // epoch 3 would be used by nothing
        var history = await HistoryAsync("");
        Assert.Equal([(1, "placeholder"), (2, "applied_ungated"), (3, "skip")], history.Where(h => h.Kind == "slow_update").Select(h => (h.Epoch, h.Action)));
        Assert.Equal([2], history.Where(h => h.Kind == "meta_skill").Select(h => h.Epoch));
        // without the last slow update
        history = await HistoryAsync("  slow_update: { in_last_epoch: false }\n");
        Assert.Equal([1, 2], history.Where(h => h.Kind == "slow_update").Select(h => h.Epoch));
        Assert.Equal([2], history.Where(h => h.Kind == "meta_skill").Select(h => h.Epoch));
    }

    [Theory]
    [InlineData(1, true, "S1")] // the reference adds its empty block after epoch 1 even then
    [InlineData(2, true, "S1 S2 M2")]
    [InlineData(3, true, "S1 S2 M2 S3 M3")]
    [InlineData(1, false, "")]
    [InlineData(2, false, "")] // the empty block after epoch 1 would wait for a slow update that never comes
    [InlineData(3, false, "S1 S2 M2")]
    [InlineData(4, false, "S1 S2 M2 S3 M3")]
    public void The_phase_plan_places_the_epoch_ends(int epochs, bool lastEpoch, string ends)
    {
        var plan = PhasePlan.Build(epochs, 2, slowUpdate: true, metaSkill: true, metaInLastEpoch: lastEpoch, slowUpdateAfterFirstEpoch: true, slowUpdateInLastEpoch: lastEpoch);
        var shown = string.Join(" ", plan.Where(p => p.Kind is PhaseKind.SlowUpdate or PhaseKind.MetaSkill)
            .Select(p => $"{(p.Kind == PhaseKind.SlowUpdate ? "S" : "M")}{p.Epoch}"));
        Assert.Equal(ends, shown);
        Assert.Equal(epochs * 2, plan.Count(p => p.Kind == PhaseKind.Step));
        Assert.Equal((PhaseKind.Baseline, PhaseKind.Test), (plan[0].Kind, plan[^1].Kind));
    }

    [Fact]
    public async Task Cancellation_then_resume_ends_like_an_uninterrupted_run()
    {
        var (reference, refFolder, _, _) = await TrainAsync();

        var folder = NewFolder();
        using var cts = new CancellationTokenSource();
        var rollouts = 0;
        var runner = new ScriptedRunner(onRequest: r => { if (r.Stage == "rollout" && ++rollouts == 3) { cts.Cancel(); } });
        var loop = new SkillTrainingLoop(HarnessConfig.Options(), runner, new ScriptedOptimizer(), folder);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop.RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), cts.Token));

        var resumed = await TrainAsync(folder: folder);
        AssertSameOutcome(refFolder, folder);
        Assert.Equal(reference.Accepted, resumed.Summary.Accepted);
    }

    [Fact]
    public async Task A_process_killed_mid_step_resumes_to_the_same_result()
    {
        var (_, refFolder, _, _) = await TrainAsync();

        var folder = NewFolder();
        var harness = Path.Combine(AppContext.BaseDirectory, "SkillOpt.Core.Harness.dll");
        var killedAt = "";
        var sawStep4 = false;
        ChildProcess? started = null;
        using var process = new ChildProcess(new ChildProcessStart
        {
            FileName = "dotnet",
            Arguments = [harness, folder, "150"],
            KeepText = true,
            OnStdout = line =>
            {
                // kill (not a graceful stop) while the rollout of step 4 is in flight; the lines after it are not looked at
                if (line == "ROLLOUT rollout 4" && !sawStep4)
                {
                    sawStep4 = true;
                    killedAt = File.ReadAllText(Path.Combine(folder, "runtime_state.json"));
                    started!.Kill();
                }
            },
        });
        started = process;
        process.Start();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        await process.WaitForOutputAsync(Timeout.InfiniteTimeSpan).WaitAsync(TestContext.Current.CancellationToken);
        Assert.True(sawStep4, "the harness never reached step 4: " + process.Stderr);
        Assert.False(File.Exists(Path.Combine(folder, "summary.json")));
        var completed = JsonDocument.Parse(killedAt).RootElement.GetProperty("completed_phases").GetInt32();
        Assert.InRange(completed, 4, 5); // baseline + 3 steps (+ nothing of step 4)

        await TrainAsync(folder: folder);
        AssertSameOutcome(refFolder, folder);
    }

    private static void AssertSameOutcome(string expectedFolder, string actualFolder)
    {
        Assert.Equal(File.ReadAllText(Path.Combine(expectedFolder, "best_skill.md")), File.ReadAllText(Path.Combine(actualFolder, "best_skill.md")));
        static List<string> Actions(string f) => AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(f, "history.json"))!
            .Select(h => $"{h.Phase}:{h.Kind}:{h.Step}:{h.Action}:{h.CandidateHash}").ToList();
        Assert.Equal(Actions(expectedFolder), Actions(actualFolder));
    }
}

public class TrainingSafeguardTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));

    private sealed class Progress : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Events { get; } = [];
        public void Report(TrainingProgress value) { lock (Events) { Events.Add(value); } }
    }

    [Fact]
    public async Task A_budget_stops_the_run_cleanly_and_still_writes_the_best_skill_and_summary()
    {
        var options = HarnessConfig.Options();
        options.Budget.MaxTargetCalls = 60;
        var folder = NewFolder();
        var progress = new Progress();
        var summary = await new SkillTrainingLoop(options, new ScriptedRunner(), new ScriptedOptimizer(), folder, progress)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);

        Assert.StartsWith("stopped: budget.max_target_calls reached", summary.Status);
        Assert.True(summary.TargetCalls >= 60 && summary.TargetCalls <= 60 + 10, $"{summary.TargetCalls} target calls"); // at most one rollout request (≤ 10 tasks) past the limit
        Assert.True(File.Exists(Path.Combine(folder, "best_skill.md")));
        Assert.Contains("stopped: budget", File.ReadAllText(Path.Combine(folder, "summary.json")));
        Assert.Contains(progress.Events, e => e.Stage == "budget" && e.Message.StartsWith("pre-flight estimate", StringComparison.Ordinal) && e.Message.Contains("steps"));
        Assert.Contains(progress.Events, e => e.Stage == "budget" && e.Message.StartsWith("warning:", StringComparison.Ordinal));

        // a bigger budget resumes the same run instead of refusing the folder
        options.Budget.MaxTargetCalls = null;
        var resumed = await new SkillTrainingLoop(options, new ScriptedRunner(), new ScriptedOptimizer(), folder)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.Equal("completed", resumed.Status);
    }

    [Fact]
    public async Task Gold_answers_are_redacted_for_the_optimizer_and_edits_that_copy_them_are_rejected()
    {
        var folder = NewFolder();
        var optimizer = new ScriptedOptimizer { LeakGoldAnswer = true };
        await new SkillTrainingLoop(HarnessConfig.Options(), new ScriptedRunner(), optimizer, folder)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);

        var reflections = optimizer.Prompts.Where(p => p.Contains("trajectories", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(reflections);
        Assert.All(reflections, p => Assert.DoesNotMatch(@"(?<![0-9])1042(?![0-9])", p));
        Assert.Contains(reflections, p => p.Contains("[redacted]", StringComparison.Ordinal));
        Assert.DoesNotContain("1042", File.ReadAllText(Path.Combine(folder, "best_skill.md")));
        var history = AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!;
        Assert.Contains(history, h => h.EditsRejectedAsLeaks > 0);
        Assert.Contains("contains the verifier literal '1042'", File.ReadAllText(Path.Combine(folder, "steps", "step_0001", "selected_edits.json")));
    }

    [Fact]
    public async Task Allowing_verifier_text_passes_it_through()
    {
        var options = HarnessConfig.Options();
        options.Training.AllowVerifierText = true;
        var optimizer = new ScriptedOptimizer();
        await new SkillTrainingLoop(options, new ScriptedRunner(), optimizer, NewFolder())
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.Contains(optimizer.Prompts, p => p.Contains("trajectories", StringComparison.Ordinal) && p.Contains("1041", StringComparison.Ordinal));
        Assert.DoesNotContain(optimizer.Prompts, p => p.Contains("[redacted]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_default_preset_reaches_the_classic_result_and_reuses_rollouts()
    {
        var classic = SkillOptConfigLoader.Parse("preset: classic\nseed: 7\ntraining:\n  epochs: 3\n  batch_size: 10\n  minibatch_size: 4\n", "c.yaml");
        var c = await new SkillTrainingLoop(classic, new ScriptedRunner(), new ScriptedOptimizer(), NewFolder())
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        var d = await new SkillTrainingLoop(HarnessConfig.Options(), new ScriptedRunner(), new ScriptedOptimizer(), NewFolder())
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.True(d.Best.Test >= c.Best.Test, $"default {d.Best.Test} vs classic {c.Best.Test}");
        // (call counts are compared on SimLab scenarios with realistic split sizes: docs/benchmarks.md)
        // the default preset's own loop (a paired gate) measures the current skill once per round and shares it through the cache
        var own = HarnessConfig.Options("posterior");
        var p = await new SkillTrainingLoop(own, new ScriptedRunner(), new ScriptedOptimizer(), NewFolder())
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.True(p.Best.Test >= c.Best.Test, $"posterior {p.Best.Test} vs classic {c.Best.Test}");
        Assert.True(p.CacheHits > 0);
    }

    [Fact]
    public async Task The_strict_gate_with_its_futility_stop_reaches_the_classic_result_and_leaves_validation_tasks_unscored()
    {
        // the default preset given gate.kind: strict (the reference's loop) stops futile candidates
        // (gate.strict.stop_probability 0.05); classic's strict gate scores every candidate on every validation task
        var classic = SkillOptConfigLoader.Parse("preset: classic\nseed: 7\ntraining:\n  epochs: 3\n  batch_size: 10\n  minibatch_size: 4\n", "c.yaml");
        var c = await new SkillTrainingLoop(classic, new ScriptedRunner(), new ScriptedOptimizer(), NewFolder())
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        // (the ceiling off: it would end the run once the skill scores 1, before the candidates this test looks at)
        var strict = SkillOptConfigLoader.Parse("seed: 7\ngate:\n  kind: strict\ntraining:\n  epochs: 3\n  batch_size: 10\n  minibatch_size: 4\n  early_stopping: { ceiling: false }\n", "s.yaml");
        Assert.Equal((0.05, 0), (strict.Gate.Strict.StopProbability, strict.Training.EarlyStopping.Patience));
        var d = await new SkillTrainingLoop(strict, new ScriptedRunner(), new ScriptedOptimizer(), NewFolder())
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.True(d.Best.Test >= c.Best.Test, $"strict with the stop {d.Best.Test} vs classic {c.Best.Test}");
        Assert.True(d.ValidationTasksSkipped > 0, $"{d.ValidationTasksSkipped} validation tasks skipped");
        Assert.Equal(0, c.ValidationTasksSkipped);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(151)]
    public async Task The_default_preset_gates_with_the_strict_gate_and_its_futility_stop_at_every_validation_split_size(int validationTasks)
    {
        var world = new ScriptedWorld(20 + validationTasks + 10);
        var splits = new TaskSplits([.. world.TaskIds.Take(20)], [.. world.TaskIds.Skip(20).Take(validationTasks)], [.. world.TaskIds.Skip(20 + validationTasks)]);
        var options = SkillOptConfigLoader.Parse("seed: 7\ntraining:\n  epochs: 1\n  batch_size: 10\n  minibatch_size: 4\n", "d.yaml");
        var folder = NewFolder();
        var progress = new Progress();
        await new SkillTrainingLoop(options, new ScriptedRunner(), new ScriptedOptimizer(), folder, progress)
            .RunAsync(HarnessConfig.InitialSkill, splits, TestContext.Current.CancellationToken);
        var gates = new RunStore(folder).ReadHistory().Where(h => h.Kind == "step").Select(h => h.Validation?.Gate).Where(g => g is not (null or "prescreen")).Distinct().ToList();
        Assert.Equal(["strict"], gates);
        // no pre-screen: on up to 150 validation tasks the futility stop looks every 4 tasks instead, above every 8
        Assert.DoesNotContain(new RunStore(folder).ReadHistory(), h => h.Validation?.Gate == "prescreen");
        var chunk = validationTasks <= StrictGateOptions.SmallSplitTasks ? 4 : 8;
        Assert.All(new RunStore(folder).ReadHistory().Where(h => h.Kind == "step" && h.Validation is { TasksSkipped: > 0 }),
            h => Assert.Equal(0, h.Validation!.Tasks % chunk));
        // the run says which gate and loop it uses, and how to choose the other, once
        var note = Assert.Single(progress.Events, e => e.Stage == "run" && e.Message.StartsWith("gate: ", StringComparison.Ordinal));
        Assert.Equal($"gate: strict, with a futility stop at 0.05 (checked every {chunk} validation tasks) that reads each task by its difficulty, in the reference's loop with candidates validated on fresh samples and verifier text hidden (gate.kind: posterior runs the default preset's own loop)",
            note.Message);
    }

    [Theory]
    [InlineData("gate:\n  kind: posterior\n")]
    [InlineData("preset: classic\n")]
    public async Task Only_the_default_preset_s_reference_loop_is_announced(string yaml)
    {
        var progress = new Progress();
        await new SkillTrainingLoop(SkillOptConfigLoader.Parse(yaml + "seed: 7\ntraining:\n  epochs: 1\n  batch_size: 10\n  minibatch_size: 4\n", "d.yaml"), new ScriptedRunner(),
            new ScriptedOptimizer(), NewFolder(), progress).RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.DoesNotContain(progress.Events, e => e.Stage == "run" && e.Message.StartsWith("gate: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_strict_gate_of_the_default_preset_never_validates_a_candidate_on_the_test_split_sample()
    {
        // sample 0 is the test split's (and the approval check's): the default preset's strict gate scores candidates on
        // 1 + r in round r, and so does the final skill's last validation, so luck a skill had on validation at one sample
        // cannot follow it to its test; classic keeps the reference's single sample 0
        async Task<(List<int> Candidates, int Accepted)> SamplesAsync(string yaml)
        {
            var requests = new List<(string Hash, int Sample)>();
            var runner = new ScriptedRunner(onRequest: r =>
            {
                if (r.Stage == ChatStage.Validate)
                {
                    lock (requests)
                    {
                        requests.Add((r.SkillHash, r.SampleIndex));
                    }
                }
            });
            var summary = await new SkillTrainingLoop(SkillOptConfigLoader.Parse(yaml, "s.yaml"), runner, new ScriptedOptimizer(), NewFolder())
                .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
            // the first validation is the baseline's, of the initial skill (sample 0 in both presets: no choice rests on it)
            Assert.Equal(0, requests[0].Sample);
            return ([.. requests.Where(r => r.Hash != requests[0].Hash).Select(r => r.Sample)], summary.Accepted);
        }

        var (strict, accepted) = await SamplesAsync("seed: 7\ngate:\n  kind: strict\ntraining:\n  epochs: 3\n  batch_size: 10\n  minibatch_size: 4\n");
        Assert.NotEmpty(strict);
        Assert.True(accepted > 0, "no candidate was accepted, so no later round was reached");
        Assert.DoesNotContain(0, strict);
        Assert.Contains(1, strict);
        Assert.Contains(accepted, strict); // the round of the last acceptance, r = accepted − 1, scores on 1 + r
        var (classic, _) = await SamplesAsync("preset: classic\nseed: 7\ntraining:\n  epochs: 3\n  batch_size: 10\n  minibatch_size: 4\n");
        Assert.NotEmpty(classic);
        Assert.All(classic, s => Assert.Equal(0, s));
    }

    [Theory]
    [InlineData("gate:\n  kind: strict\n", false)]
    [InlineData("preset: classic\n", true)]
    public async Task Only_classic_scores_a_final_skill_the_run_does_not_return_on_the_test_split(string preset, bool finalTested)
    {
        var tested = new List<string>();
        var runner = new ScriptedRunner(onRequest: r =>
        {
            if (r.Stage == ChatStage.Test)
            {
                lock (tested)
                {
                    tested.Add(r.SkillHash);
                }
            }
        });
        var folder = NewFolder();
        var summary = await new SkillTrainingLoop(SkillOptConfigLoader.Parse(preset + "seed: 7\ntraining:\n  epochs: 3\n  batch_size: 10\n  minibatch_size: 4\n  early_stopping: { ceiling: false }\n", "s.yaml"), runner,
            new ScriptedOptimizer(), folder).RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        // the ungated slow update of the reference's loop leaves a final skill that is neither the initial nor the best
        Assert.NotEqual(summary.Best.Hash, summary.Final.Hash);
        Assert.NotEqual(summary.Initial.Hash, summary.Final.Hash);
        Assert.Contains(summary.Initial.Hash, tested);
        Assert.Contains(summary.Best.Hash, tested);
        Assert.Equal(finalTested, tested.Contains(summary.Final.Hash));
        Assert.Equal(finalTested, summary.Final.Test is not null);
        Assert.NotNull(summary.Best.Test);
        // the final skill was still validated against the best before the test (the reference's promotion)
        var test = Assert.Single(new RunStore(folder).ReadHistory(), h => h.Kind == "test");
        Assert.Equal("final", test.Validation?.Gate);
        // the default preset's final validation goes through the strict gate's futility stop (here: the best scores 1, so
        // the final skill cannot end above it); classic scores it on every task
        Assert.Equal(!finalTested, test.Validation!.TasksSkipped > 0);
        Assert.Equal(!finalTested, test.Reason!.Contains("stopped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_strict_gate_s_ceiling_ends_training_once_the_score_to_beat_is_1_and_returns_the_same_skill()
    {
        // the scripted world's skill reaches 1 on its 20 validation tasks; a candidate must score strictly above, so every
        // later step, slow update and final promotion could only be turned away: the default preset stops, classic's
        // reference behaviour (and the ceiling turned off) trains on, and both return the same skill
        async Task<RunSummary> TrainAsync(string extra) => await new SkillTrainingLoop(
            SkillOptConfigLoader.Parse("seed: 7\ntraining:\n  epochs: 3\n  batch_size: 10\n  minibatch_size: 4\n" + extra, "s.yaml"), new ScriptedRunner(),
            new ScriptedOptimizer(), NewFolder()).RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        var stopped = await TrainAsync("");
        var on = await TrainAsync("  early_stopping: { ceiling: false }\n");
        Assert.NotNull(stopped.EarlyStopping);
        Assert.StartsWith("the current skill scores 1 on the validation split", stopped.EarlyStopping, StringComparison.Ordinal);
        Assert.Null(on.EarlyStopping);
        Assert.True(stopped.Steps < on.Steps, $"{stopped.Steps} vs {on.Steps} steps");
        Assert.True(stopped.TargetCalls < on.TargetCalls, $"{stopped.TargetCalls} vs {on.TargetCalls} target calls");
        Assert.Equal((1.0, on.Best.Hash, on.Best.Test), (stopped.Best.Validation, stopped.Best.Hash, stopped.Best.Test));
        Assert.Null(EarlyStopping.StrictCeiling(0.95));
        Assert.NotNull(EarlyStopping.StrictCeiling(1));
    }
}
