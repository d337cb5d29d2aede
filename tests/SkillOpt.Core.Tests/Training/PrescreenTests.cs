using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

public class PrescreenTests
{
    [Theory]
    // failed re-run, fixes, passed re-run, broken → goes on, reason starts with
    [InlineData(8, 0, 4, 0, false, "fixes none of 8 failed tasks")]
    [InlineData(8, 0, 4, 1, false, "fixes none of 8 failed tasks")]                   // the first rule names the reason
    [InlineData(8, 2, 4, 2, true, "fixes 2 of 8 failed tasks, breaks 2 of 4")]       // breaking as many as it fixes is allowed
    [InlineData(8, 2, 4, 3, false, "fixes 2 of 8 failed tasks but breaks 3 of 4 passed ones (t1, t2, t3)")]
    [InlineData(8, 1, 4, 4, false, "fixes 1 of 8 failed tasks but breaks 4 of 4 passed ones (t1, t2, t3)")] // three ids at most
    [InlineData(0, 0, 4, 0, true, "fixes 0 of 0 failed tasks, breaks 0 of 4")]       // a step without failures needs no fix
    [InlineData(0, 0, 4, 1, false, "fixes 0 of 0 failed tasks but breaks 1 of 4")]
    public void A_candidate_goes_on_when_it_fixes_a_failed_task_and_breaks_no_more_than_it_fixes(int failed, int fixes, int passed, int broken, bool goesOn, string reason)
    {
        var (ok, why) = PrescreenPhase.Rule(failed, fixes, passed, [.. Enumerable.Range(1, broken).Select(i => $"t{i}")]);
        Assert.Equal(goesOn, ok);
        Assert.StartsWith(reason, why, StringComparison.Ordinal);
        Assert.DoesNotContain("t4", why, StringComparison.Ordinal);
    }

    [Fact]
    public void Skipping_the_passed_tasks_never_changes_a_verdict()
    {
        // every count the defaults and small steps give: when the pre-screen skips the passed tasks, the rule must give
        // the same verdict for every number of them the candidate could have broken
        var skipped = 0;
        foreach (var (failed, passed, fixes) in Counts())
        {
            var verdicts = Enumerable.Range(0, passed + 1)
                .Select(broken => PrescreenPhase.Rule(failed, fixes, passed, [.. Enumerable.Range(1, broken).Select(i => $"t{i}")]).Passed)
                .Distinct().Count();
            if (!PrescreenPhase.NeedsPassedTasks(failed, fixes, passed))
            {
                Assert.Equal(1, verdicts);
                skipped++;
            }
            else if (failed + passed > 0)
            {
                // and it runs them only when they can decide
                Assert.Equal(2, verdicts);
            }
        }
        Assert.True(skipped > 100, $"{skipped}");
    }

    [Fact]
    public void Running_the_passed_tasks_in_parts_gives_the_whole_pre_screens_verdict()
    {
        // every candidate the passed tasks can decide (up to 10 failed and 6 passed tasks) and every pattern of which passed
        // tasks it breaks: the parts PassedTasksToRun asks for end with the verdict of running them all, on fewer tasks
        var saved = 0;
        foreach (var (failed, passed, fixes) in Counts().Where(c => PrescreenPhase.NeedsPassedTasks(c.Failed, c.Fixes, c.Passed)))
        {
            for (var pattern = 0; pattern < 1 << passed; pattern++)
            {
                var all = PrescreenPhase.Rule(failed, fixes, passed, [.. Enumerable.Range(0, passed).Where(i => (pattern >> i & 1) == 1).Select(i => $"t{i}")]).Passed;
                var (run, broken) = (0, 0);
                for (var next = PrescreenPhase.PassedTasksToRun(fixes, passed, run, broken); next > 0; next = PrescreenPhase.PassedTasksToRun(fixes, passed, run, broken))
                {
                    Assert.InRange(next, 1, passed - run);
                    broken += Enumerable.Range(run, next).Count(i => (pattern >> i & 1) == 1);
                    run += next;
                }
                var parts = PrescreenPhase.Rule(failed, fixes, passed, [.. Enumerable.Range(0, run).Where(i => (pattern >> i & 1) == 1).Select(i => $"t{i}")]).Passed;
                Assert.Equal(all, parts);
                saved += passed - run;
            }
        }
        Assert.True(saved > 1000, $"{saved}");
        // 1 fix and 4 passed tasks: 3 first, and the 4th only when one of them broke
        Assert.Equal((3, 0, 1, 0), (PrescreenPhase.PassedTasksToRun(1, 4, 0, 0), PrescreenPhase.PassedTasksToRun(1, 4, 3, 0),
            PrescreenPhase.PassedTasksToRun(1, 4, 3, 1), PrescreenPhase.PassedTasksToRun(1, 4, 3, 2)));
    }

    /// <summary>Every count of failed (0–10), passed (0–6) and fixed tasks the defaults and small steps give.</summary>
    private static IEnumerable<(int Failed, int Passed, int Fixes)> Counts() =>
        from failed in Enumerable.Range(0, 11) from passed in Enumerable.Range(0, 7) from fixes in Enumerable.Range(0, failed + 1) select (failed, passed, fixes);

    private sealed class Progress : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Events { get; } = [];
        public void Report(TrainingProgress value) { lock (Events) { Events.Add(value); } }
    }

    [Theory]
    // gate.prescreen.enabled, gate.prescreen.max_validation_tasks (null = unset), training.proposals → resolved enabled, limit
    [InlineData(null, null, 1, false, PrescreenOptions.DefaultMaxValidationTasks)] // the default preset's strict gate looks every 4 tasks instead
    [InlineData(true, null, 1, true, 0)]                                           // turned on: whatever the split's size
    [InlineData(false, null, 1, false, 0)]
    [InlineData(null, 40, 1, true, 40)]                                            // a limit given: up to it
    [InlineData(true, 40, 1, true, 40)]
    [InlineData(null, null, 2, true, 0)]                                           // more proposals need it to choose one
    public void The_default_preset_pre_screens_up_to_a_validation_split_size(bool? enabled, int? max, int proposals, bool resolvedEnabled, int resolvedMax)
    {
        var o = new SkillOptOptions();
        o.Gate.Prescreen.Enabled = enabled;
        o.Gate.Prescreen.MaxValidationTasks = max;
        o.Training.Proposals = proposals;
        var s = TrainingSettings.Resolve(o).Prescreen;
        Assert.Equal(resolvedEnabled, s.Enabled);
        Assert.Equal(proposals > 1 ? 0 : resolvedMax, s.MaxValidationTasks);
        Assert.Equal(resolvedEnabled, s.RunsFor(resolvedMax == 0 ? 1_000_000 : resolvedMax));
        Assert.Equal(resolvedEnabled && resolvedMax == 0, s.RunsFor(resolvedMax + 1));

        var classic = new SkillOptOptions { Preset = "classic" };
        Assert.False(TrainingSettings.Resolve(classic).Prescreen.RunsFor(1));

        // the paired gates' loop pre-screens up to the limit
        var posterior = new SkillOptOptions();
        posterior.Gate.Kind = "posterior";
        posterior.Gate.Prescreen.Enabled = enabled;
        posterior.Gate.Prescreen.MaxValidationTasks = max;
        var p = TrainingSettings.Resolve(posterior).Prescreen;
        Assert.Equal((enabled ?? true, max ?? (enabled is null ? PrescreenOptions.DefaultMaxValidationTasks : 0)), (p.Enabled, p.MaxValidationTasks));
    }

    [Theory]
    // gate.chunk_size (null = unset), gate.kind, preset, validation tasks → the chunk the gate uses
    [InlineData(null, "strict", "default", 20, 4)]
    [InlineData(null, "strict", "default", 150, 4)]
    [InlineData(null, "strict", "default", 151, 8)]
    [InlineData(null, "posterior", "default", 20, 8)]
    [InlineData(null, "strict", "classic", 20, 8)]
    [InlineData(6, "strict", "default", 20, 6)]
    [InlineData(6, "strict", "default", 400, 6)]
    public void The_default_preset_s_strict_gate_looks_every_4_tasks_on_small_validation_splits(int? chunk, string kind, string preset, int validationTasks, int expected)
    {
        var o = new SkillOptOptions { Preset = preset };
        o.Gate.Kind = kind;
        o.Gate.ChunkSize = chunk;
        Assert.Equal(expected, TrainingSettings.Resolve(o).Gate.ChunkSizeFor(validationTasks));
    }

    [Theory]
    [InlineData(20, true)]  // the scripted world has 20 validation tasks
    [InlineData(19, false)]
    public async Task A_validation_split_above_the_limit_sends_every_candidate_to_the_gate(int maxValidationTasks, bool prescreened)
    {
        var o = HarnessConfig.Options("posterior"); // the strict gate of the default preset runs no pre-screen
        o.Gate.Prescreen.MaxValidationTasks = maxValidationTasks;
        var folder = Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));
        var progress = new Progress();
        var summary = await new SkillTrainingLoop(o, new ScriptedRunner(), new ScriptedOptimizer(), folder, progress)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        var history = AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!;

        Assert.Equal(prescreened, summary.Usage.TryGetValue(ChatStage.Prescreen, out var usage) && usage.Calls > 0);
        Assert.True(summary.Usage[ChatStage.Validate].Calls > 0);
        var note = progress.Events.Where(e => e.Message.StartsWith("no pre-screen:", StringComparison.Ordinal)).ToList();
        if (prescreened)
        {
            Assert.Empty(note);
        }
        else
        {
            var only = Assert.Single(note);
            Assert.Equal("run", only.Stage); // not "gate", which the live monitor reads as a verdict
            Assert.Equal("no pre-screen: the validation split has 20 tasks, more than gate.prescreen.max_validation_tasks = 19; every candidate goes to the validation gate", only.Message);
            Assert.DoesNotContain(history, h => h.Validation?.Gate == "prescreen");
        }
    }
}
