using SkillOpt.Core.Configuration;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

public class EarlyStoppingTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));

    private sealed class Progress : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Events { get; } = [];
        public void Report(TrainingProgress value) { lock (Events) { Events.Add(value); } }
    }

    // patience, the ceiling rule, reused and skipped slow updates are the default preset's own loop's: a paired gate
    private static SkillOptOptions Options(int patience, bool reuse = true, bool skipUnchanged = false, string gateKind = "posterior")
    {
        var o = HarnessConfig.Options(gateKind);
        o.Training.EarlyStopping.Patience = patience;
        o.Training.SlowUpdate.ReuseStepRollouts = reuse;
        o.Training.SlowUpdate.SkipUnchanged = skipUnchanged;
        return o;
    }

    private static async Task<(RunSummary Summary, List<HistoryRecord> History, ScriptedRunner Runner, Progress Progress, List<RolloutRequest> Requests)> TrainAsync(SkillOptOptions options, string folder)
    {
        var progress = new Progress();
        var requests = new List<RolloutRequest>();
        var runner = new ScriptedRunner(onRequest: r => { lock (requests) { requests.Add(r); } });
        var summary = await new SkillTrainingLoop(options, runner, new ScriptedOptimizer(), folder, progress)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        return (summary, AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!, runner, progress, requests);
    }

    [Fact]
    public async Task Training_stops_after_patience_steps_without_an_accepted_edit_and_still_scores_the_test_split()
    {
        var full = await TrainAsync(Options(patience: 0), NewFolder());
        var folder = NewFolder();
        var early = await TrainAsync(Options(patience: 2), folder);

        Assert.Null(full.Summary.EarlyStopping);
        Assert.Equal(6, full.History.Count(h => h.Kind == "step")); // 3 epochs × 2 batches
        var steps = early.History.Where(h => h.Kind == "step").ToList();
        Assert.InRange(steps.Count, 2, 5);
        Assert.All(steps.TakeLast(2), h => Assert.NotEqual("accept", h.Action)); // the two steps that triggered it
        Assert.Contains(early.History.SkipWhile(h => h.Kind != "step").Take(steps.Count), h => h.Action == "accept");
        Assert.Equal($"no edit accepted in the last 2 step(s) (training.early_stopping.patience = 2); steps {steps.Count + 1}–6 and their slow updates skipped", early.Summary.EarlyStopping);
        Assert.Contains(early.Progress.Events, e => e.Stage == "run" && e.Message.StartsWith("early stopping: no edit accepted", StringComparison.Ordinal));
        Assert.Equal("completed", early.Summary.Status);

        // the same best skill as the full run, tested, for fewer rollouts
        Assert.Equal(full.Summary.Best.Hash, early.Summary.Best.Hash);
        Assert.Equal(full.Summary.Best.Test, early.Summary.Best.Test);
        Assert.NotNull(early.Summary.Best.Test);
        Assert.True(early.Summary.TargetCalls < full.Summary.TargetCalls, $"{early.Summary.TargetCalls} vs {full.Summary.TargetCalls} target calls");

        // the decision is part of the checkpoint: running the folder again pays for nothing and stops at the same place
        var again = await TrainAsync(Options(patience: 2), folder);
        Assert.Equal(0, again.Runner.Calls);
        Assert.Equal(early.Summary.EarlyStopping, again.Summary.EarlyStopping);
        Assert.Equal(steps.Count, again.History.Count(h => h.Kind == "step"));
    }

    [Fact]
    public async Task Training_stops_at_the_ceiling_once_the_current_skill_passes_every_validation_task()
    {
        // the paired sequential gate's ceiling (5 wins without a loss); the posterior gate's (2 wins) is in PosteriorGateLoopTests
        var on = Options(patience: 0, gateKind: "paired");
        on.Training.EarlyStopping.Ceiling = true;
        var folder = NewFolder();
        var early = await TrainAsync(on, folder);
        var off = Options(patience: 0, gateKind: "paired");
        var full = await TrainAsync(off, NewFolder());

        Assert.Null(full.Summary.EarlyStopping);
        var steps = early.History.Where(h => h.Kind == "step").ToList();
        Assert.InRange(steps.Count, 1, 5);
        // 20 validation tasks, all passed: u = 1 − 0.2^(1/20) = 0.077, and 3 draws × 20 × 0.077 = 4.6 < 5 wins
        Assert.StartsWith("the current skill failed 0 of 20 validation measurements this round", early.Summary.EarlyStopping, StringComparison.Ordinal);
        Assert.EndsWith($"(training.early_stopping.ceiling); steps {steps.Count + 1}–6 and their slow updates skipped", early.Summary.EarlyStopping, StringComparison.Ordinal);
        Assert.Contains(early.Progress.Events, e => e.Stage == "run" && e.Message.StartsWith("early stopping: the current skill failed 0 of 20", StringComparison.Ordinal));
        Assert.Equal(1.0, early.Summary.Best.Validation);
        // it stops right after the step that accepted the perfect skill: that skill passed all 20 tasks as a candidate, so it
        // was measured at once on its own round's first draw (samples 3·accepted …), and the decision rests on that draw
        Assert.Equal("accept", steps[^1].Action);
        var accepted = early.History.Count(h => h.Action == "accept");
        Assert.Contains(early.Requests, r => r.Stage == "validate" && r.SampleIndex == 3 * accepted && r.TaskIds.Count == 20);

        // the same best skill as the full run, tested, for fewer rollouts
        Assert.Equal(full.Summary.Best.Hash, early.Summary.Best.Hash);
        Assert.Equal(1.0, early.Summary.Best.Test);
        Assert.True(early.Summary.TargetCalls < full.Summary.TargetCalls, $"{early.Summary.TargetCalls} vs {full.Summary.TargetCalls} target calls");

        // part of the checkpoint: running the folder again pays for nothing and stops at the same place
        var again = await TrainAsync(on, folder);
        Assert.Equal(0, again.Runner.Calls);
        Assert.Equal(early.Summary.EarlyStopping, again.Summary.EarlyStopping);
    }

    [Fact]
    public async Task A_skill_that_already_passes_every_validation_task_stops_after_the_baseline()
    {
        var options = Options(patience: 0, gateKind: "paired");
        options.Training.EarlyStopping.Ceiling = null; // the default preset's value
        var progress = new Progress();
        var runner = new ScriptedRunner();
        var perfect = HarnessConfig.InitialSkill + string.Concat(ScriptedWorld.Procedures.Select(p => $"- Apply the [{p}] procedure.\n"));
        var summary = await new SkillTrainingLoop(options, runner, new ScriptedOptimizer(), NewFolder(), progress)
            .RunAsync(perfect, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);

        Assert.Equal(0, summary.Steps);
        Assert.EndsWith("steps 1–6 and their slow updates skipped", summary.EarlyStopping, StringComparison.Ordinal);
        Assert.Equal(summary.Initial.Hash, summary.Best.Hash);
        Assert.Equal(1.0, summary.Best.Test);
        Assert.Equal(20 + 10, runner.Calls); // the baseline's validation and the test split, nothing else

        // the posterior gate (the default preset's own loop) accepts on 2 wins: one clean draw of 20 tasks (3 × 20 × 0.077 = 4.6 failures
        // to win) does not rule that out, so the run goes on; its steps pre-screen away the harmful rule and validate nothing
        var posterior = Options(patience: 0);
        posterior.Training.EarlyStopping.Ceiling = null;
        var goesOn = await new SkillTrainingLoop(posterior, new ScriptedRunner(), new ScriptedOptimizer(), NewFolder())
            .RunAsync(perfect, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.Equal("posterior", posterior.Gate.Kind);
        Assert.Equal((6, (string?)null, summary.Best.Hash), (goesOn.Steps, goesOn.EarlyStopping, goesOn.Best.Hash));

        // the classic preset has no ceiling rule and trains every step
        var classic = HarnessConfig.Options();
        classic.Preset = "classic";
        classic.Training.EarlyStopping.Ceiling = null;
        var all = await new SkillTrainingLoop(classic, new ScriptedRunner(), new ScriptedOptimizer(), NewFolder())
            .RunAsync(perfect, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.Equal(6, all.Steps);
        Assert.Null(all.EarlyStopping);
    }

    [Fact]
    public void Steps_without_acceptance_count_back_to_the_last_accepted_edit()
    {
        static HistoryRecord R(string kind, string action, int? step = null) => new() { Kind = kind, Action = action, CurrentHash = "h", Step = step };

        Assert.Equal(0, EarlyStopping.StepsWithoutAcceptance([R("baseline", "none")]));
        Assert.Equal(2, EarlyStopping.StepsWithoutAcceptance([R("baseline", "none"), R("step", "reject", 1), R("step", "skip", 2)]));
        Assert.Equal(1, EarlyStopping.StepsWithoutAcceptance([R("baseline", "none"), R("step", "reject", 1), R("step", "accept", 2), R("step", "inconclusive", 3), R("meta_skill", "updated")]));
        // an accepted slow update (gated, or applied by the classic preset) resets the count; a rejected one does not
        Assert.Equal(1, EarlyStopping.StepsWithoutAcceptance([R("baseline", "none"), R("step", "reject", 1), R("slow_update", "accept"), R("step", "reject", 2)]));
        Assert.Equal(0, EarlyStopping.StepsWithoutAcceptance([R("baseline", "none"), R("step", "reject", 1), R("slow_update", "applied_ungated")]));
        Assert.Equal(2, EarlyStopping.StepsWithoutAcceptance([R("baseline", "none"), R("step", "reject", 1), R("slow_update", "reject"), R("step", "reject", 2)]));
    }

    [Fact]
    public void The_slow_update_reuses_the_latest_step_that_rolled_out_the_current_or_else_the_previous_skill()
    {
        static HistoryRecord R(int phase, string kind, int epoch, int? step, string after) => new() { Phase = phase, Kind = kind, Epoch = epoch, Step = step, Action = "x", CurrentHash = after };
        // epoch 2: step 3 rolls out A and changes it to B, step 4 rolls out B and keeps it
        List<HistoryRecord> history = [R(0, "baseline", 0, null, "A"), R(1, "step", 1, 1, "A"), R(2, "step", 1, 2, "A"), R(3, "step", 2, 3, "B"), R(4, "step", 2, 4, "B")];
        Assert.Equal(4, SlowUpdatePhase.ReusableStep(history, 2, previousHash: "A", currentHash: "B"));
        Assert.Equal(2, SlowUpdatePhase.ReusableStep(history, 1, previousHash: "A", currentHash: "A"));
        // step 4 changed B to C: no step rolled out C, so the previous skill's step is reused
        history[4] = R(4, "step", 2, 4, "C");
        Assert.Equal(3, SlowUpdatePhase.ReusableStep(history, 2, previousHash: "A", currentHash: "C"));
        Assert.Null(SlowUpdatePhase.ReusableStep(history, 2, previousHash: "Z", currentHash: "C"));
        Assert.Null(SlowUpdatePhase.ReusableStep(history, 3, previousHash: "C", currentHash: "C"));
    }

    [Fact]
    public async Task The_slow_update_compares_skills_on_a_step_batch_so_the_cache_pays_for_the_side_already_rolled_out()
    {
        var reused = await TrainAsync(Options(patience: 0, reuse: true), NewFolder());
        var fresh = await TrainAsync(Options(patience: 0, reuse: false), NewFolder());

        var slowReused = reused.Requests.Where(r => r.Stage == "slow_update_rollout").ToList();
        var slowFresh = fresh.Requests.Where(r => r.Stage == "slow_update_rollout").ToList();
        Assert.All(slowFresh, r => Assert.True(r.SampleIndex >= 100_000, $"sample {r.SampleIndex}"));
        Assert.All(slowReused, r => Assert.InRange(r.SampleIndex, 1, 6)); // a step's sample index
        Assert.True(slowReused.Sum(r => r.TaskIds.Count) < slowFresh.Sum(r => r.TaskIds.Count),
            $"{slowReused.Sum(r => r.TaskIds.Count)} vs {slowFresh.Sum(r => r.TaskIds.Count)} slow-update rollouts");
        Assert.Equal(fresh.Summary.Best.Test, reused.Summary.Best.Test);
    }

    [Fact]
    public async Task In_the_reference_loop_the_epoch_comparison_reads_one_side_from_the_steps_and_rolls_out_the_other_afresh()
    {
        // the default preset with its strict gate runs the reference's loop, whose slow update compares the two skills on 20 train tasks
        SkillOptOptions Reference(bool reuse)
        {
            var o = HarnessConfig.Options();
            o.Training.SlowUpdate.ReuseStepRollouts = reuse;
            return o;
        }
        var reused = await TrainAsync(Reference(reuse: true), NewFolder());
        var fresh = await TrainAsync(Reference(reuse: false), NewFolder());

        var slowReused = reused.Requests.Where(r => r.Stage == "slow_update_rollout").ToList();
        var slowFresh = fresh.Requests.Where(r => r.Stage == "slow_update_rollout").ToList();
        Assert.NotEmpty(slowFresh);
        Assert.All(slowFresh, r => Assert.True(r.SampleIndex >= EpochComparison.PreviousSample(1), $"sample {r.SampleIndex}"));
        // the side read from the steps costs no call: every request the runner saw is a fresh draw
        Assert.All(slowReused, r => Assert.True(r.SampleIndex >= EpochComparison.PreviousSample(1), $"a step's rollout paid again at sample {r.SampleIndex}"));
        // each compared task still has a rollout of its own draw: 20 per epoch (the train split's 20 tasks), epochs 2 and 3
        foreach (var epoch in new[] { 2, 3 })
        {
            var own = slowReused.Where(r => r.SampleIndex == EpochComparison.PreviousSample(epoch) || r.SampleIndex == EpochComparison.CurrentSample(epoch)).SelectMany(r => r.TaskIds).ToList();
            Assert.InRange(own.Count, 20, 39);
        }
        Assert.True(slowReused.Sum(r => r.TaskIds.Count) < slowFresh.Sum(r => r.TaskIds.Count),
            $"{slowReused.Sum(r => r.TaskIds.Count)} vs {slowFresh.Sum(r => r.TaskIds.Count)} slow-update rollouts");
        Assert.True(reused.Summary.TargetCalls < fresh.Summary.TargetCalls, $"{reused.Summary.TargetCalls} vs {fresh.Summary.TargetCalls} target calls");
    }

    [Fact]
    public void Reusing_step_rollouts_in_the_slow_update_is_the_default_preset_and_not_classic()
    {
        Assert.True(new SkillOptOptions().ApplyPreset().Training.SlowUpdate.ReuseStepRollouts);
        Assert.True(new SkillOptOptions { Gate = { Kind = "posterior" } }.ApplyPreset().Training.SlowUpdate.ReuseStepRollouts);
        Assert.False(new SkillOptOptions { Preset = "classic" }.ApplyPreset().Training.SlowUpdate.ReuseStepRollouts);
    }

    [Fact]
    public async Task The_slow_update_of_an_epoch_that_changed_nothing_is_skipped()
    {
        var run = await TrainAsync(Options(patience: 0, skipUnchanged: true), NewFolder());
        var all = await TrainAsync(Options(patience: 0, skipUnchanged: false), NewFolder());

        // the scripted world learns every procedure in epoch 1, so epochs 2 and 3 end with the skill they started with
        var slow = run.History.Where(h => h.Kind == "slow_update").ToList();
        Assert.Equal(2, slow.Count);
        Assert.All(slow, h => Assert.Equal("skip", h.Action));
        Assert.All(slow, h => Assert.Contains("training.slow_update.skip_unchanged", h.Reason, StringComparison.Ordinal));
        Assert.DoesNotContain(run.Requests, r => r.Stage == "slow_update_rollout");
        Assert.Contains(all.History, h => h.Kind == "slow_update" && h.Action != "skip");
        Assert.True(run.Summary.OptimizerCalls < all.Summary.OptimizerCalls, $"{run.Summary.OptimizerCalls} vs {all.Summary.OptimizerCalls} optimizer calls");
        Assert.Equal(all.Summary.Best.Hash, run.Summary.Best.Hash);
        Assert.Equal(all.Summary.Best.Test, run.Summary.Best.Test);
    }

    [Fact]
    public void Skipping_unchanged_slow_updates_is_the_default_preset_and_not_classic()
    {
        // the default preset's own loop (a paired gate); the reference's loop, the default preset's with its strict gate, does not skip
        Assert.True(new SkillOptOptions { Gate = { Kind = "posterior" } }.ApplyPreset().Training.SlowUpdate.SkipUnchanged);
        Assert.False(new SkillOptOptions().ApplyPreset().Training.SlowUpdate.SkipUnchanged);
        Assert.False(new SkillOptOptions { Preset = "classic" }.ApplyPreset().Training.SlowUpdate.SkipUnchanged);
    }
}
