using SkillOpt.Core.Gates;

namespace SkillOpt.Core.Tests.Gates;

public class PairedStatisticsTests
{
    [Theory]
    [InlineData(5, 0, 1.0 / 32)]            // all 5 discordant pairs favour the candidate: 2^-5
    [InlineData(2, 0, 0.25)]
    [InlineData(6, 1, 8.0 / 128)]           // (C(7,6) + C(7,7)) / 2^7
    [InlineData(9, 3, 299.0 / 4096)]        // Σ_{k=9..12} C(12,k) = 220 + 66 + 12 + 1 = 299
    [InlineData(10, 10, 0.5880985260009766)] // Σ_{k=10..20} C(20,k) / 2^20 = 616666 / 1048576
    [InlineData(0, 4, 1.0)]
    [InlineData(0, 0, 1.0)]
    public void Sign_test_matches_exact_binomial_tails(int wins, int losses, double expected) =>
        Assert.Equal(expected, PairedStatistics.SignTestPValue(wins, losses), 12);

    [Fact]
    public void Sign_test_refuses_negative_counts() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.SignTestPValue(-1, 2));

    [Fact]
    public void Paired_bounds_match_the_t_distribution()
    {
        // mean 0.5, sample sd √(1/3), n 4: t(0.95, 3) = 2.3533634; half width = 2.3533634 · √(1/3) / 2
        double[] d = [1, 0, 1, 0];
        var half = 2.3533634 * Math.Sqrt(1.0 / 3) / 2;
        Assert.Equal(0.5 - half, PairedStatistics.PairedLowerBound(d, 0.05), 5);
        Assert.Equal(0.5 + half, PairedStatistics.PairedUpperBound(d, 0.05), 5);
        Assert.Equal(double.NegativeInfinity, PairedStatistics.PairedLowerBound([0.3], 0.05));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.PairedLowerBound(d, 1.5));
    }

    [Fact]
    public void Curtailment_accepts_only_when_the_worst_case_is_still_significant()
    {
        Assert.True(PairedStatistics.CurtailedSignTest(6, 0, possibleWins: 3, possibleLosses: 0, alpha: 0.05));   // 6-0 is p=1/64 and nothing can go against
        Assert.Null(PairedStatistics.CurtailedSignTest(6, 0, possibleWins: 3, possibleLosses: 2, alpha: 0.05));   // 6-2 would be p=0.145
        Assert.False(PairedStatistics.CurtailedSignTest(1, 2, possibleWins: 2, possibleLosses: 10, alpha: 0.05)); // best case 3-2: p=0.5
        Assert.Null(PairedStatistics.CurtailedSignTest(1, 0, possibleWins: 5, possibleLosses: 0, alpha: 0.05));   // best case 6-0 could still be significant
    }

    [Fact]
    public void Curtailed_decisions_agree_with_the_full_test_on_every_completion()
    {
        // For small cases, enumerate every way the remaining tasks could go and check the early decision is always right.
        for (var w = 0; w <= 6; w++)
        for (var l = 0; l <= 3; l++)
        for (var pw = 0; pw <= 4; pw++)
        for (var pl = 0; pl <= 4; pl++)
        {
            var early = PairedStatistics.CurtailedSignTest(w, l, pw, pl, 0.05);
            if (early is null)
            {
                continue;
            }
            for (var addW = 0; addW <= pw; addW++)
            for (var addL = 0; addL <= pl; addL++)
            {
                Assert.Equal(early.Value, PairedStatistics.SignTestPValue(w + addW, l + addL) <= 0.05);
            }
        }
    }
}
