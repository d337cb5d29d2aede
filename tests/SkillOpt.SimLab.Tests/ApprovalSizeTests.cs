using SkillOpt.Bench;

namespace SkillOpt.SimLab.Tests;

/// <summary>The benchmark's direct measurement of the approval check's size (<c>--approval-size</c>, bench/SkillOpt.Bench).</summary>
public class ApprovalSizeTests
{
    [Fact]
    public void Pairs_of_equally_good_skills_are_compared_on_each_seeds_test_split_and_draws_are_pooled()
    {
        var one = ApprovalSize.Measure([Shape.Small], ["null-correlated"], 1, 4, 1);
        var row = Assert.Single(one);
        // null-correlated gives no rule an effect, so every pair counts: 5 per seed
        Assert.Equal(4 * ApprovalSize.PairsPerSeed, row.Pairs);
        Assert.Equal(60, row.TestTasks);
        Assert.InRange(row.ShownBetter, 0, row.Pairs);
        Assert.True(row.MeanDiscordant > 5, $"mean discordant pairs {row.MeanDiscordant}");
        Assert.True(row.ZVariance > 0);
        // seeded: the same numbers again
        Assert.Equal(row, Assert.Single(ApprovalSize.Measure([Shape.Small], ["null-correlated"], 1, 4, 1)));
        // three draws pool three times the pairs
        var three = Assert.Single(ApprovalSize.Measure([Shape.Small], ["null-correlated"], 1, 4, 3));
        Assert.InRange(three.MeanDiscordant, 2.5 * row.MeanDiscordant, 3.5 * row.MeanDiscordant);
    }
}
