using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Gate;

namespace SkillOpt.Testing.Tests.Gate;

public class LiveComparisonTests
{
    private static Dictionary<string, ReceiptTask> Approved(int passed, int failed) =>
        Enumerable.Range(0, passed).Select(i => ($"t{i:D2}", new ReceiptTask("passed", 1)))
            .Concat(Enumerable.Range(passed, failed).Select(i => ($"t{i:D2}", new ReceiptTask("failed", 0))))
            .ToDictionary(p => p.Item1, p => p.Item2);

    private static RolloutResult R(string id, bool pass) => new() { TaskId = id, Outcome = pass ? TaskOutcome.Passed : TaskOutcome.Failed, Score = pass ? 1 : 0 };

    [Fact]
    public void Five_regressions_and_no_improvement_is_a_significant_drop()
    {
        var approved = Approved(7, 0);
        var live = approved.Keys.Select((id, i) => R(id, i >= 5));
        var result = LiveComparison.Compare(approved, live, 0.05);
        Assert.Equal(LiveVerdict.Regressed, result.Verdict);
        Assert.Equal(5, result.Losses);
        Assert.Equal(1.0 / 32, result.PValue!.Value, 12);
        Assert.Equal(5, result.Flips.Count);
        Assert.Contains("exact sign test: 5 regressed vs 0 improved, one-sided p = 0.0313: a significant drop", result.Describe());
    }

    [Fact]
    public void Two_regressions_are_inconclusive_and_an_unchanged_run_holds()
    {
        var approved = Approved(7, 0);
        var two = LiveComparison.Compare(approved, approved.Keys.Select((id, i) => R(id, i >= 2)), 0.05);
        Assert.Equal(LiveVerdict.Inconclusive, two.Verdict);
        Assert.Equal(0.25, two.PValue!.Value, 12);
        var same = LiveComparison.Compare(approved, approved.Keys.Select(id => R(id, true)), 0.05);
        Assert.Equal(LiveVerdict.Holds, same.Verdict);
        Assert.Empty(same.Flips);
        // as many improvements as regressions: no drop
        var mixed = LiveComparison.Compare(Approved(3, 3), Approved(3, 3).Keys.Select((id, i) => R(id, i >= 3)), 0.05);
        Assert.Equal(LiveVerdict.Holds, mixed.Verdict);
    }

    [Fact]
    public void Errored_tasks_are_not_compared_and_graded_scores_use_the_paired_t_bound()
    {
        var approved = Approved(4, 0);
        var live = new[] { R("t00", true), R("t01", true), R("t02", true), RolloutResult.Errored("t03", "provider down") };
        var result = LiveComparison.Compare(approved, live, 0.05);
        Assert.Equal(3, result.Pairs);
        Assert.Equal(["t03"], result.NotCompared);
        Assert.Equal(LiveVerdict.Holds, result.Verdict);

        var graded = Enumerable.Range(0, 10).ToDictionary(i => $"g{i}", _ => new ReceiptTask("passed", 0.9));
        var dropped = LiveComparison.Compare(graded, graded.Keys.Select(id => new RolloutResult { TaskId = id, Outcome = TaskOutcome.Passed, Score = 0.5 + (id.EndsWith('1') ? 0.01 : 0) }), 0.05);
        Assert.True(dropped.Graded);
        Assert.Equal(LiveVerdict.Regressed, dropped.Verdict);
        Assert.True(dropped.UpperBound < 0);
        var noisy = LiveComparison.Compare(graded, graded.Keys.Select((id, i) => new RolloutResult { TaskId = id, Outcome = TaskOutcome.Passed, Score = i % 2 == 0 ? 0.6 : 1.0 }), 0.05);
        Assert.Equal(LiveVerdict.Inconclusive, noisy.Verdict);
    }
}
