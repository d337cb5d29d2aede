using SkillOpt.Core.Gates;

namespace SkillOpt.Core.Tests.Gates;

public class PairedPosteriorTests
{
    [Theory]
    [InlineData(8, 4, 1, 1 - 1093.0 / 8192)] // Beta(9, 5): P(θ ≤ ½) = P(Bin(13, ½) ≥ 9) = (715 + 286 + 78 + 13 + 1) / 8192
    [InlineData(0, 0, 1, 0.5)]
    [InlineData(1, 0, 1, 0.75)]               // Beta(2, 1): 1 − ½²
    [InlineData(0, 1, 1, 0.25)]
    [InlineData(2, 0, 3, 99.0 / 128)]         // Beta(5, 3): P(θ ≤ ½) = P(Bin(7, ½) ≥ 5) = (21 + 7 + 1) / 128
    [InlineData(10, 8, 1, 1 - 169766.0 / 524288)] // Beta(11, 9): P(Bin(19, ½) ≥ 11)
    public void The_probability_that_the_candidate_is_better_matches_binomial_tails(int wins, int losses, double prior, double expected) =>
        Assert.Equal(expected, PairedPosterior.ProbabilityBetter(wins, losses, prior, prior), 10);

    [Fact]
    public void With_a_uniform_prior_the_posterior_is_one_minus_the_sign_test_of_one_more_win()
    {
        for (var w = 0; w <= 20; w++)
        {
            for (var l = 0; l <= 20; l++)
            {
                Assert.Equal(1 - PairedStatistics.SignTestPValue(w + 1, l), PairedPosterior.ProbabilityBetter(w, l), 1e-12);
            }
        }
    }

    [Theory]
    [InlineData(0, 0.7, 1)]   // no pair: 0.5 < 0.7, so none suffices (discordant + 1)
    [InlineData(1, 0.7, 1)]   // 1 of 1: 0.75
    [InlineData(4, 0.7, 3)]   // 3 of 4: 1 − 6/32 = 0.8125; 2 of 4: 0.5
    [InlineData(12, 0.7, 7)]  // 7 of 12: 1 − 2380/8192 = 0.7095; 6 of 12: 0.5
    [InlineData(3, 0.9, 3)]   // 3 of 3: 1 − 1/16 = 0.9375; 2 of 3: 1 − 5/16 = 0.6875
    [InlineData(2, 0.99, 3)]  // 2 of 2: 0.875 — never enough
    public void Wins_needed_are_the_fewest_that_reach_the_threshold(int discordant, double threshold, int expected) =>
        Assert.Equal(expected, PairedPosterior.WinsNeeded(discordant, threshold));

    [Fact]
    public void The_predictive_probability_matches_the_beta_binomial_by_hand()
    {
        // 1 win, 2 pairs to come, threshold 0.7: 3 wins of 3 are needed (2 of 3 give 0.6875); BetaBin(2, 2, 1) puts
        // B(4, 1) / B(2, 1) = (1/4) / (1/2) = 0.5 on two more wins
        Assert.Equal(0.5, PairedPosterior.PredictiveProbabilityOfAcceptance(1, 0, 2, 0.7), 10);
        // 2 wins, 2 to come: 3 of 4 suffice, so one more win; P(none) = B(3, 3) / B(3, 1) = (1/30) / (1/3) = 0.1
        Assert.Equal(0.9, PairedPosterior.PredictiveProbabilityOfAcceptance(2, 0, 2, 0.7), 10);
        // nothing to come: the decision itself
        Assert.Equal(1, PairedPosterior.PredictiveProbabilityOfAcceptance(7, 5, 0, 0.7));
        Assert.Equal(0, PairedPosterior.PredictiveProbabilityOfAcceptance(6, 6, 0, 0.7));
        // already so far ahead that no loss to come could change it
        Assert.Equal(1, PairedPosterior.PredictiveProbabilityOfAcceptance(20, 0, 3, 0.7));
        // too far behind to catch up
        Assert.Equal(0, PairedPosterior.PredictiveProbabilityOfAcceptance(0, 10, 3, 0.7));
    }

    [Fact]
    public void The_predictive_probability_sums_to_one_with_its_complement_over_every_final_count()
    {
        // P(accept) computed directly against the beta-binomial distribution summed outcome by outcome
        const int wins = 4, losses = 3, remaining = 9;
        var direct = 0.0;
        for (var k = 0; k <= remaining; k++)
        {
            var pmf = Math.Exp(MathNet.Numerics.SpecialFunctions.BinomialLn(remaining, k)
                + MathNet.Numerics.SpecialFunctions.BetaLn(k + 1 + wins, remaining - k + 1 + losses) - MathNet.Numerics.SpecialFunctions.BetaLn(1 + wins, 1 + losses));
            if (PairedPosterior.ProbabilityBetter(wins + k, losses + remaining - k) >= 0.7)
            {
                direct += pmf;
            }
        }
        Assert.Equal(direct, PairedPosterior.PredictiveProbabilityOfAcceptance(wins, losses, remaining, 0.7), 12);
    }

    [Theory]
    [InlineData(3, 10, 24, 8)] // 24 · 4 / 12
    [InlineData(0, 40, 40, 1)] // 40 / 42 = 0.95
    [InlineData(0, 0, 0, 0)]
    public void Expected_discordant_pairs_follow_the_rule_of_succession(int discordant, int pairs, int remaining, int expected) =>
        Assert.Equal(expected, PairedPosterior.ExpectedDiscordant(discordant, pairs, remaining));

    [Theory]
    [InlineData(12, 0.7, 1586.0 / 4096)] // 7 of 12 needed: P(Bin(12, ½) ≥ 7) = (792 + 495 + 220 + 66 + 12 + 1) / 4096
    [InlineData(4, 0.7, 5.0 / 16)]       // 3 of 4
    [InlineData(0, 0.7, 0)]
    public void One_final_look_accepts_a_useless_candidate_this_often(int discordant, double threshold, double expected) =>
        Assert.Equal(expected, PairedPosterior.NullAcceptanceProbability(discordant, threshold), 12);

    [Fact]
    public void Out_of_range_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedPosterior.ProbabilityBetter(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedPosterior.ProbabilityBetter(1, 0, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedPosterior.WinsNeeded(3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedPosterior.WinsNeeded(3, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedPosterior.PredictiveProbabilityOfAcceptance(1, 1, -1, 0.7));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedPosterior.ExpectedDiscordant(5, 4, 10));
    }
}
