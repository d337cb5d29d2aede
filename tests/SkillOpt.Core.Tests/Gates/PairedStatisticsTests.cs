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

    [Theory]
    [InlineData(3, 1, 0.75, 0.5232481437645479)] // 3 ln 1.5 + ln 0.5
    [InlineData(9, 0, 0.7, 3.028250129590916)]     // 9 ln 1.4
    [InlineData(0, 4, 0.7, -2.043302495063963)]     // 4 ln 0.6
    [InlineData(0, 0, 0.7, 0.0)]
    public void Sprt_log_likelihood_ratio_matches_known_values(int wins, int losses, double alternative, double expected) =>
        Assert.Equal(expected, PairedStatistics.SprtLogLikelihoodRatio(wins, losses, alternative), 10);

    [Fact]
    public void Sprt_boundaries_are_ville_and_wald()
    {
        var (lower, upper) = PairedStatistics.SprtBoundaries(0.05, 0.2);
        Assert.Equal(Math.Log(20), upper, 12);
        Assert.Equal(Math.Log(0.2 / 0.95), lower, 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.SprtBoundaries(0.6, 0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.SprtBoundaries(0.05, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.SprtLogLikelihoodRatio(1, 1, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.SprtLogLikelihoodRatio(-1, 1, 0.7));
    }

    [Fact]
    public void Under_the_null_the_sprt_crosses_its_upper_boundary_at_most_alpha_of_the_time()
    {
        // Exact: propagate the distribution of (wins, losses) over 400 fair discordant pairs, absorbing at either boundary.
        var (lower, upper) = PairedStatistics.SprtBoundaries(0.05, 0.2);
        var alive = new Dictionary<(int W, int L), double> { [(0, 0)] = 1.0 };
        var accepted = 0.0;
        for (var n = 0; n < 400; n++)
        {
            var next = new Dictionary<(int W, int L), double>();
            foreach (var ((w, l), p) in alive)
            {
                foreach (var (nw, nl) in new[] { (w + 1, l), (w, l + 1) })
                {
                    var llr = PairedStatistics.SprtLogLikelihoodRatio(nw, nl, 0.7);
                    if (llr >= upper)
                    {
                        accepted += p / 2;
                    }
                    else if (llr > lower)
                    {
                        next[(nw, nl)] = next.GetValueOrDefault((nw, nl)) + p / 2;
                    }
                }
            }
            alive = next;
        }
        Assert.InRange(accepted, 0.001, 0.05);
    }

    [Theory]
    [InlineData(0.05, 0.7, 9)]   // ln 20 / ln 1.4 = 8.90
    [InlineData(0.01, 0.7, 14)]  // ln 100 / ln 1.4 = 13.69
    [InlineData(0.05, 0.9, 6)]   // ln 20 / ln 1.8 = 5.10
    [InlineData(0.2, 0.75, 4)]   // ln 5 / ln 1.5 = 3.97
    public void Sprt_wins_to_accept_is_the_fewest_wins_that_reach_one_over_alpha(double alpha, double alternative, int expected)
    {
        var wins = PairedStatistics.SprtWinsToAccept(alpha, alternative);
        Assert.Equal(expected, wins);
        // the count is tight: one win fewer stays below the boundary
        Assert.True(PairedStatistics.SprtLogLikelihoodRatio(wins, 0, alternative) >= Math.Log(1 / alpha));
        Assert.True(PairedStatistics.SprtLogLikelihoodRatio(wins - 1, 0, alternative) < Math.Log(1 / alpha));
    }

    [Theory]
    [InlineData(0, 15, 0.05, 0.18103627252208465)] // 1 − 0.05^(1/15)
    [InlineData(0, 30, 0.05, 0.09503385285530419)] // 1 − 0.05^(1/30)
    [InlineData(1, 15, 0.05, 0.2793961936128765)]  // solves (1 − u)^15 + 15u(1 − u)^14 = 0.05
    [InlineData(1, 15, 0.2, 0.1867767915666904)]   // solves (1 − u)^15 + 15u(1 − u)^14 = 0.2
    [InlineData(15, 15, 0.05, 1.0)]
    [InlineData(0, 0, 0.05, 1.0)]
    public void Failure_rate_upper_bound_matches_clopper_pearson(int failures, int trials, double alpha, double expected) =>
        Assert.Equal(expected, PairedStatistics.FailureRateUpperBound(failures, trials, alpha), 9);

    [Fact]
    public void Failure_rate_upper_bound_refuses_bad_input()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.FailureRateUpperBound(3, 2, 0.05));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.FailureRateUpperBound(-1, 2, 0.05));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.FailureRateUpperBound(0, 2, 1));
    }

    [Fact]
    public void With_one_look_the_final_analysis_is_the_sign_test()
    {
        // 12 discordant pairs at a single look: the SPRT accepts 11 and 12 wins (ln Λ = 3.19, 4.04 ≥ ln 20 = 3.00), so it
        // spends P(X ≥ 11) = 13/4096, and every count it leaves gets the sign test's tail
        var n = PairedStatistics.TruncatedSprtNullDistribution([12], 0.05, 0.7);
        Assert.Equal(13.0 / 4096, n.SprtSpent, 1e-12);
        for (var wins = 0; wins <= 10; wins++)
        {
            Assert.Equal(PairedStatistics.SignTestPValue(wins, 12 - wins), n.PValue(wins), 1e-12);
        }
        Assert.Equal(10, n.WinsToAccept(0.05)); // P(X ≥ 10) = 79/4096 = 0.019; P(X ≥ 9) = 299/4096 = 0.073
    }

    [Fact]
    public void The_final_analysis_counts_paths_the_sprt_accepted_earlier()
    {
        // looks after 9 and 12 discordant pairs. Look 1 accepts 9 of 9 (1/512). Look 2 accepts 11 or 12 of 12 (10 of 12
        // gives ln Λ = 2.34 < 3.00); of the paths still running only 8 of 9 then 3 of 3 reach 11: 9/512 · 1/8.
        // Spent: 8/4096 + 9/4096 = 17/4096. Survivors with 10 wins: 8 of 9 then 2 of 3 (9 · 3/8 / 512) and 7 of 9 then
        // 3 of 3 (36 · 1/8 / 512): 63/4096, so p(10) = 80/4096 — one path more than the sign test's 79/4096, the one that
        // won 9 of 9, was accepted, then lost 3.
        var n = PairedStatistics.TruncatedSprtNullDistribution([9, 12], 0.05, 0.7);
        Assert.Equal(17.0 / 4096, n.SprtSpent, 1e-12);
        Assert.Equal(80.0 / 4096, n.PValue(10), 1e-12);
        Assert.Equal((80.0 + 219) / 4096, n.PValue(9), 1e-12);
        Assert.Equal(10, n.WinsToAccept(0.05));
        Assert.Equal(11, n.WinsToAccept(0.019)); // 80/4096 = 0.0195 > 0.019
        Assert.Equal(1.0, n.PValue(0), 1e-12);
        Assert.Equal(1.0, n.SprtSpent + n.Survivors.Sum(), 1e-12);
    }

    [Fact]
    public void The_truncated_sprt_with_its_final_analysis_accepts_at_most_alpha_of_fair_coin_sequences()
    {
        // every one of the 2^14 equally likely win/loss sequences of 14 discordant pairs, looked at after 3, 9, 10 and 14:
        // counted directly, without the recursion
        int[] looks = [3, 9, 10, 14];
        var null14 = PairedStatistics.TruncatedSprtNullDistribution(looks, 0.05, 0.7);
        var needed = null14.WinsToAccept(0.05);
        int acceptedBySprt = 0, acceptedAtTheEnd = 0, reachingNeededMinusOne = 0;
        for (var sequence = 0; sequence < 1 << 14; sequence++)
        {
            var wins = 0;
            var crossed = false;
            var position = 0;
            foreach (var look in looks)
            {
                for (; position < look; position++)
                {
                    wins += (sequence >> position) & 1;
                }
                crossed |= PairedStatistics.SprtLogLikelihoodRatio(wins, look - wins, 0.7) >= Math.Log(20);
                if (crossed)
                {
                    break;
                }
            }
            acceptedBySprt += crossed ? 1 : 0;
            acceptedAtTheEnd += !crossed && wins >= needed ? 1 : 0;
            reachingNeededMinusOne += !crossed && wins == needed - 1 ? 1 : 0;
        }
        Assert.Equal(acceptedBySprt / 16384.0, null14.SprtSpent, 1e-12);
        Assert.Equal((acceptedBySprt + acceptedAtTheEnd) / 16384.0, null14.PValue(needed), 1e-12);
        Assert.True(acceptedBySprt + acceptedAtTheEnd <= 0.05 * 16384, $"{acceptedBySprt} + {acceptedAtTheEnd}");
        // and the count is the fewest: one win fewer would exceed α
        Assert.True(acceptedBySprt + acceptedAtTheEnd + reachingNeededMinusOne > 0.05 * 16384);
    }

    [Fact]
    public void The_final_analysis_refuses_bad_looks()
    {
        Assert.Throws<ArgumentException>(() => PairedStatistics.TruncatedSprtNullDistribution([], 0.05, 0.7));
        Assert.Throws<ArgumentException>(() => PairedStatistics.TruncatedSprtNullDistribution([5, 4], 0.05, 0.7));
        Assert.Throws<ArgumentException>(() => PairedStatistics.TruncatedSprtNullDistribution([-1], 0.05, 0.7));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.TruncatedSprtNullDistribution([4], 0.05, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedStatistics.TruncatedSprtNullDistribution([4], 0.05, 0.7).WinsToAccept(0));
    }
}
