using SkillOpt.Core.Accounting;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Testing.Tests.Infrastructure;
using SkillOpt.Trainer.Commands;
using SkillOpt.Trainer.Console;
using SkillOpt.Trainer.Reports;

namespace SkillOpt.Testing.Tests.Reports;

/// <summary><c>skillopt report --compare</c>: paired differences with 95% intervals on the tasks two runs share.</summary>
public class ComparisonTests
{
    [Fact]
    public void The_interval_is_mean_plus_minus_t_times_the_standard_error()
    {
        // d = 1, 0, 1, 1, 0: mean 0.6; s² = (3 · 0.4² + 2 · 0.6²) / 4 = 0.3; SE = √(0.3 / 5) = 0.244949;
        // t(0.975, 4) = 2.776445; half-width 0.680087: [−0.080087, 1.280087]
        var d = PairedDifference.Of([1, 0, 1, 1, 0]);
        Assert.Equal(5, d.Tasks);
        Assert.Equal(0.6, d.Mean, 12);
        Assert.Equal(-0.080087, d.Lower!.Value, 5);
        Assert.Equal(1.280087, d.Upper!.Value, 5);

        // equal differences: no spread, the interval is the mean; one task: no interval
        var same = PairedDifference.Of([0.5, 0.5, 0.5]);
        Assert.Equal((0.5, 0.5), (same.Lower!.Value, same.Upper!.Value));
        Assert.Null(PairedDifference.Of([1.0]).Lower);

        // only shared task ids are paired, in either order
        var a = new Dictionary<string, double> { ["t1"] = 0, ["t2"] = 1, ["only-a"] = 1 };
        var b = new Dictionary<string, double> { ["t2"] = 0, ["t1"] = 1, ["only-b"] = 0 };
        var ab = PairedDifference.Of(a, b)!;
        Assert.Equal((2, 0.0), (ab.Tasks, ab.Mean));
        Assert.Null(PairedDifference.Of(a, new Dictionary<string, double> { ["x"] = 1 }));
    }

    [Fact]
    public async Task Two_runs_with_shared_tasks_get_one_table_in_Markdown_and_HTML()
    {
        using var dir = new TempFolder();
        // run A's best skill: test t1..t5 = 0 1 0 0 1; run B's: all five passed, and t6, which A never scored
        var a = Run(dir.Combine("run-a"), 'a', seed: 1, test: [0, 1, 0, 0, 1], extraTest: false, costUsd: 0.5);
        var b = Run(dir.Combine("run-b"), 'b', seed: 2, test: [1, 1, 1, 1, 1], extraTest: true, costUsd: null);
        var output = new StringWriter();
        var console = new TrainerConsole(output, output);
        var md = dir.Combine("compare.md");
        var exit = await TrainerCommands.RunAsync(["report", "--compare", a, b, "--out", md], console);
        Assert.True(exit == 0, output.ToString());
        var markdown = File.ReadAllText(md);
        Assert.Contains("| run | 1: run-a | 2: run-b |", markdown);
        Assert.Contains("| seed | 1 | 2 |", markdown);
        Assert.Contains("| best test | 0.400 (5 tasks) | 1.000 (6 tasks) |", markdown);
        Assert.Contains("| test − run 1 (95% interval) | — | +0.600 [−0.080, +1.280] on 5 tasks |", markdown);
        Assert.Contains("| validation − run 1 (95% interval) | — | +0.500 [−0.150, +1.150] on 4 tasks |", markdown);
        Assert.Contains("| cost | $0.50 | unknown |", markdown);
        Assert.Contains("| models | target simlab/simlab-target, optimizer simlab/simlab-optimizer (SIMULATED) |", markdown);
        Assert.Contains("> **SIMULATED**", markdown);
        var html = File.ReadAllText(dir.Combine("compare.html"));
        Assert.Contains("<td>+0.600 [−0.080, +1.280] on 5 tasks</td>", html);
        Assert.Contains("class=\"simulated\"", html);

        var one = await TrainerCommands.RunAsync(["report", "--compare", a], console);
        Assert.Equal(1, one);
        Assert.Contains("error SKOPT2009: --compare needs two or more run folders, not 1", output.ToString());
        var missing = await TrainerCommands.RunAsync(["report", "--compare", a, dir.Combine("nope")], console);
        Assert.Equal(1, missing);
        Assert.Contains("error SKOPT3004: not a run folder (no history.json)", output.ToString());
    }

    /// <summary>A finished run folder with one step, written the way the trainer writes it.</summary>
    internal static string Run(string folder, char hashChar, int seed, double[] test, bool extraTest, double? costUsd, string? transcript = null)
    {
        var store = new RunStore(folder);
        var initial = new string('0', 64);
        var best = new string(hashChar, 64);
        RolloutResult R(string id, double score) => new()
        {
            TaskId = id, Outcome = score >= 1 ? TaskOutcome.Passed : TaskOutcome.Failed, Score = score,
            Transcript = transcript is null ? [] : [new TranscriptMessage("user", "Question " + id), new TranscriptMessage("assistant", transcript)],
        };
        var testResults = test.Select((s, i) => R($"t{i + 1}", s)).ToList();
        if (extraTest)
        {
            testResults.Add(R("t6", 1));
        }
        store.WriteEvaluation("test", new Evaluation(best, 0, testResults));
        // validation: two draws for run A (per task over both: 0.5 0 0.5 0), one for B (1 0 1 1): differences 0.5 0 0.5 1,
        // mean 0.5, s² = 0.5 / 3, SE = 0.204124, t(0.975, 3) = 3.182446: [−0.150, +1.150]
        var val = hashChar == 'a'
            ? new[] { new[] { 1.0, 0, 0, 0 }, new[] { 0.0, 0, 1, 0 } }
            : new[] { new[] { 1.0, 0, 1, 1 } };
        for (var s = 0; s < val.Length; s++)
        {
            store.WriteEvaluation("val", new Evaluation(best, s, [.. val[s].Select((x, i) => R($"v{i + 1}", x))]));
        }
        AtomicFile.WriteJson(Path.Combine(folder, "history.json"), new[]
        {
            new HistoryRecord { Kind = "baseline", Action = "none", CurrentHash = initial },
            new HistoryRecord { Phase = 1, Kind = "step", Epoch = 1, Step = 1, LearningRate = 4, Action = "accept", CandidateHash = best, CurrentHash = best, CurrentScore = 0.5, BestScore = 0.5,
                Reason = transcript, Validation = new ValidationSummary(0.5, 0.25, 4, 0, 0, 0.01, "paired", 2, 0, 4) },
        });
        AtomicFile.WriteJson(Path.Combine(folder, "summary.json"), new RunSummary
        {
            Status = "completed",
            Preset = "default",
            Seed = seed,
            Splits = new Dictionary<string, int> { ["train"] = 8, ["val"] = 4, ["test"] = testResults.Count },
            Steps = 1,
            Accepted = 1,
            Initial = new SkillScores(initial, 0.25, 0.2, testResults.Count),
            Best = new SkillScores(best, val.SelectMany(v => v).Average(), testResults.Average(r => r.Score), testResults.Count),
            Final = new SkillScores(best, 0.5, null, 0),
            Usage = new SortedDictionary<string, StageUsage>(StringComparer.Ordinal) { [ChatStage.Validate] = new StageUsage(40, 4000, 1000, 0, 40, 12) },
            ReplyFailures = [],
            TargetCalls = 40,
            OptimizerCalls = 3,
            CostUsd = costUsd,
        });
        AtomicFile.WriteJson(Path.Combine(folder, RunInfo.FileName), RunInfo.Create("math", "SKILL.md", "Verifiers.dll", new SkillOpt.Core.Configuration.SkillOptOptions().ApplyPreset(),
            name => name switch
            {
                "SKILLOPT_TARGET_PROVIDER" or "SKILLOPT_OPTIMIZER_PROVIDER" => "simlab",
                "SKILLOPT_TARGET_MODEL" => "simlab-target",
                "SKILLOPT_OPTIMIZER_MODEL" => "simlab-optimizer",
                _ => null,
            }));
        return folder;
    }
}
