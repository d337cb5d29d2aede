using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Tests.Gates;

public class ApprovalComparisonTests
{
    private static RolloutResult R(string task, bool? passed, double? score = null) => new()
    {
        TaskId = task,
        Outcome = passed is null ? TaskOutcome.Errored : passed.Value ? TaskOutcome.Passed : TaskOutcome.Failed,
        Score = score ?? (passed == true ? 1 : 0),
    };

    /// <summary>60 tasks: the received skill wins the first <paramref name="wins"/>, loses the next <paramref name="losses"/>, ties the rest.</summary>
    private static List<(RolloutResult, RolloutResult)> Pairs(int wins, int losses, int tasks = 60) =>
        [.. Enumerable.Range(0, tasks).Select(i => $"t{i:D2}").Select((t, i) =>
            i < wins ? (R(t, true), R(t, false)) : i < wins + losses ? (R(t, false), R(t, true)) : (R(t, i % 2 == 0), R(t, i % 2 == 0)))];

    [Fact]
    public void Nine_wins_to_two_losses_is_better_at_five_percent()
    {
        var c = ApprovalComparison.Compare(Pairs(9, 2), 0.05, 1, "abc");
        Assert.Equal(("sign", 60, 9, 2), (c.Test, c.Pairs, c.Wins, c.Losses));
        Assert.Equal(Math.Round(67.0 / 2048, 6), c.PValue); // P(Bin(11, ½) ≥ 9) = (55 + 11 + 1) / 2048
        Assert.Equal(Math.Round(7.0 / 60, 6), c.MeanDifference);
        Assert.True(c.ShownBetter);
        Assert.Equal("better", c.Verdict);
        Assert.Equal("received vs committed skill on 60 test tasks × 1 draw(s): 9 wins, 2 losses, mean difference +0.117, one-sided sign test p = 0.0327 ≤ α = 0.05: better", c.Describe());
    }

    [Fact]
    public void At_the_default_level_nine_wins_to_two_losses_are_not_enough_and_ten_are()
    {
        // approval.alpha defaults to 0.025: P(Bin(11, ½) ≥ 9) = 67/2048 = 0.0327 is above it, P(Bin(12, ½) ≥ 10) = 79/4096 = 0.0193 below
        var alpha = SkillOpt.Core.Configuration.ApprovalOptions.DefaultAlpha;
        Assert.False(ApprovalComparison.Compare(Pairs(9, 2), alpha, 1, "abc").ShownBetter);
        var ten = ApprovalComparison.Compare(Pairs(10, 2), alpha, 1, "abc");
        Assert.True(ten.ShownBetter);
        Assert.Equal("received vs committed skill on 60 test tasks × 1 draw(s): 10 wins, 2 losses, mean difference +0.133, one-sided sign test p = 0.0193 ≤ α = 0.025: better", ten.Describe());
    }

    [Fact]
    public void Five_wins_to_three_losses_is_not_shown_better()
    {
        var c = ApprovalComparison.Compare(Pairs(5, 3), 0.05, 1, "abc");
        Assert.Equal(Math.Round(93.0 / 256, 6), c.PValue); // P(Bin(8, ½) ≥ 5)
        Assert.False(c.ShownBetter);
        Assert.Equal("not_shown_better", c.Verdict);
        Assert.EndsWith("p = 0.3633 > α = 0.05: not shown better", c.Describe());
        // a looser level does not change 0.36 either; a much stronger lead at the same level does
        Assert.False(ApprovalComparison.Compare(Pairs(5, 3), 0.3, 1, "abc").ShownBetter);
        Assert.True(ApprovalComparison.Compare(Pairs(8, 0), 0.05, 1, "abc").ShownBetter); // 1/256
    }

    [Fact]
    public void Errored_results_are_not_pairs_and_no_pair_is_not_better()
    {
        var pairs = Pairs(6, 0, 10);
        pairs[0] = (R("t00", null), R("t00", false)); // a win lost to an error
        var c = ApprovalComparison.Compare(pairs, 0.05, 1, "abc");
        Assert.Equal((9, 5, 0), (c.Pairs, c.Wins, c.Losses));
        Assert.Equal(Math.Round(1.0 / 32, 6), c.PValue);
        var none = ApprovalComparison.Compare([], 0.05, 1, "abc");
        Assert.Equal((0, 1.0, false), (none.Pairs, none.PValue, none.ShownBetter));
    }

    [Fact]
    public void Graded_scores_use_the_paired_t_lower_bound()
    {
        // differences 0.2 and 0.1 alternating over 10 tasks: mean 0.15, sd 0.0527, t(0.95, 9) = 1.8331: lower bound 0.1194
        var pairs = Enumerable.Range(0, 10).Select(i => (R($"t{i}", false, 0.5 + (i % 2 == 0 ? 0.2 : 0.1)), R($"t{i}", false, 0.5))).ToList();
        var c = ApprovalComparison.Compare(pairs, 0.05, 1, "abc");
        Assert.Equal("paired_t", c.Test);
        Assert.Null(c.PValue);
        Assert.Equal(0.15 - 1.833113 * Math.Sqrt(0.1 * 0.1 * 10 / 4 / 9) / Math.Sqrt(10), c.LowerBound!.Value, 5);
        Assert.True(c.ShownBetter);
        var worse = ApprovalComparison.Compare([.. pairs.Select(p => (p.Item2, p.Item1))], 0.05, 1, "abc");
        Assert.False(worse.ShownBetter);
        Assert.Contains("one-sided 95% paired t lower bound", worse.Describe());
        Assert.Contains("one-sided 97.5% paired t lower bound", ApprovalComparison.Compare(pairs, 0.025, 1, "abc").Describe());
    }

    [Fact]
    public void A_received_skill_no_better_than_the_committed_one_is_reported_better_at_most_alpha_of_the_time()
    {
        // 2,000 comparisons of two equally good skills on 60 tasks of mixed difficulty (pass probabilities 0.05 … 0.95),
        // each rollout an independent draw: the false-accept rate of the check is at most α (the sign test is exact)
        const int trials = 2000;
        var shown = 0;
        for (var trial = 0; trial < trials; trial++)
        {
            var pairs = Enumerable.Range(0, 60).Select(i =>
            {
                var p = 0.05 + 0.9 * i / 59.0;
                return (R($"t{i}", U(trial, "received", i) < p), R($"t{i}", U(trial, "committed", i) < p));
            });
            shown += ApprovalComparison.Compare(pairs, 0.05, 1, "abc").ShownBetter ? 1 : 0;
        }
        Assert.True(shown <= trials * 0.05, $"{shown} of {trials}");
        Assert.True(shown > 0, "the check never says better: it could not fail this test"); // the level is used, not wasted
    }

    private static double U(int trial, string side, int task) =>
        BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{trial}|{side}|{task}"))) / (double)uint.MaxValue;

    [Fact]
    public void Out_of_range_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ApprovalComparison.Compare([], 0.6, 1, "abc"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ApprovalComparison.Compare([], 0.05, 0, "abc"));
        Assert.Throws<ArgumentException>(() => ApprovalComparison.Compare([], 0.05, 1, ""));
    }
}
