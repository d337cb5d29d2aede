using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Tests.Gates;

public class PosteriorPairedGateTests
{
    [Fact]
    public async Task A_clear_improvement_is_accepted_within_the_first_draw()
    {
        // the incumbent passes t00–t09, the candidate every task: every discordant pair is a win
        var w = new ScriptedValidation((s, t, _) => t < 10 || s == "candidate");
        var d = await new PosteriorPairedGate().DecideAsync(w.Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Contains("accepted early", d.Reason);
        Assert.True(w.CandidateTasks < 40, $"{w.CandidateTasks} tasks scored");
        Assert.Equal(40 - w.CandidateTasks, d.TasksSkipped);
        Assert.Equal([0], w.Samples);
    }

    [Fact]
    public async Task A_separate_early_accept_probability_keeps_scoring_a_clear_improvement_longer()
    {
        // the same clear improvement as above: with early acceptance only once the final decision is certain (predictive
        // probability 1), the gate scores more tasks before it accepts than at the default 1 − 0.1
        var usual = new ScriptedValidation((s, t, _) => t < 10 || s == "candidate");
        await new PosteriorPairedGate().DecideAsync(usual.Context(), CancellationToken.None);
        var w = new ScriptedValidation((s, t, _) => t < 10 || s == "candidate");
        var d = await new PosteriorPairedGate(earlyAcceptProbability: 1).DecideAsync(w.Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Contains("≥ 1 with", d.Reason);
        Assert.True(w.CandidateTasks > usual.CandidateTasks, $"{w.CandidateTasks} against {usual.CandidateTasks} tasks");

        Assert.Throws<ArgumentOutOfRangeException>(() => new PosteriorPairedGate(earlyAcceptProbability: 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PosteriorPairedGate(earlyAcceptProbability: 1.01));
    }

    [Fact]
    public async Task A_harmful_candidate_is_stopped_after_its_first_chunk()
    {
        // the incumbent passes t00–t29, the candidate nothing: the first chunk of 8 holds only losses and ties
        var w = new ScriptedValidation((s, t, _) => s != "candidate" && t < 30);
        var d = await new PosteriorPairedGate().DecideAsync(w.Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Contains("stopped", d.Reason);
        Assert.Equal(8, w.CandidateTasks);
    }

    [Fact]
    public async Task A_candidate_that_changes_no_outcome_costs_one_draw()
    {
        // no discordant pair: the predictive probability stays between the stops (a few pairs could still come), and a
        // second draw is paid for only while the candidate leads
        var w = new ScriptedValidation((_, t, _) => t < 30);
        var d = await new PosteriorPairedGate().DecideAsync(w.Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Contains("no more wins than losses after a whole draw", d.Reason);
        Assert.Equal(40, w.CandidateTasks);
        Assert.Equal([0], w.Samples);
    }

    [Fact]
    public async Task A_moderate_gain_that_no_five_percent_test_accepts_in_one_draw_is_accepted()
    {
        // every draw the candidate wins t20–t27 and loses t00–t03: 8 wins to 4 losses, P(better) = 1 − P(Bin(17, ½) ≥ 11)
        // = 0.834 after one draw with the Beta(3, 3) prior (the sign test's p = 0.194 there; the SPRT with the final
        // analysis needs all three draws)
        var w = new ScriptedValidation((s, t, _) => s == "candidate" ? t is >= 4 and < 28 : t < 20);
        var d = await new PosteriorPairedGate().DecideAsync(w.Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.True(w.Samples.Count <= 2);
    }

    [Fact]
    public async Task A_slight_lead_below_the_threshold_is_inconclusive_after_every_draw()
    {
        // every draw 5 wins (t20–t24) to 4 losses (t00–t03); uniform prior, two draws, stopping disabled so both are
        // scored: 10 to 8 gives P(better) = 1 − P(Bin(19, ½) ≥ 11) = 0.676 < 0.7
        var w = new ScriptedValidation((s, t, _) => s == "candidate" ? t is >= 4 and < 25 : t < 20);
        var d = await new PosteriorPairedGate(prior: 1, stopProbability: 0, maxDraws: 2).DecideAsync(w.Context(), CancellationToken.None);
        Assert.True(d.Verdict == GateVerdict.Inconclusive, d.Reason);
        Assert.Contains("10 wins, 8 losses, P(better) = 0.676", d.Reason);
        Assert.Equal([0, 1], w.Samples);
        Assert.Equal(80, w.CandidateTasks);

        // a lower threshold accepts the same evidence
        var w2 = new ScriptedValidation((s, t, _) => s == "candidate" ? t is >= 4 and < 25 : t < 20);
        var d2 = await new PosteriorPairedGate(threshold: 0.6, prior: 1, stopProbability: 0, maxDraws: 2).DecideAsync(w2.Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d2.Verdict);
    }

    [Fact]
    public async Task The_round_sets_the_sample_indices()
    {
        var w = new ScriptedValidation((s, t, _) => s == "candidate" ? t is >= 4 and < 25 : t < 20);
        await new PosteriorPairedGate(stopProbability: 0, maxDraws: 3).DecideAsync(w.Context(firstSample: 6), CancellationToken.None);
        Assert.Equal([6, 7, 8], w.Samples);
    }

    [Fact]
    public async Task Graded_scores_use_the_paired_t_bound_at_the_threshold()
    {
        var w = new ScriptedValidation((_, _, _) => false);
        Task<Evaluation> Graded(string skill, string hash, IReadOnlyList<string> tasks, int sample, CancellationToken ct) =>
            Task.FromResult(new Evaluation(hash, sample, [.. tasks.Select(t => new RolloutResult
            {
                TaskId = t,
                Outcome = TaskOutcome.Failed,
                Score = skill == "candidate" ? 0.6 + ScriptedValidation.N(t) % 3 * 0.05 : 0.4 + ScriptedValidation.N(t) % 2 * 0.05,
            })]));
        var d = await new PosteriorPairedGate().DecideAsync(w.Context() with { Evaluate = Graded }, CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Contains("paired t", d.Reason);
    }

    [Fact]
    public void Wins_to_accept_is_the_fewest_unopposed_wins_that_reach_the_threshold()
    {
        // Beta(4, 3): 1 − P(Bin(6, ½) ≥ 4) = 0.656; Beta(5, 3): 1 − P(Bin(7, ½) ≥ 5) = 0.773
        Assert.Equal(2, new PosteriorPairedGate().WinsToAccept);
        Assert.Equal(1, new PosteriorPairedGate(prior: 1).WinsToAccept);                 // 1 win: 0.75 ≥ 0.7
        Assert.Equal(3, new PosteriorPairedGate(threshold: 0.9, prior: 1).WinsToAccept); // 0.875, then 0.9375
        // Beta(6, 3): 1 − P(Bin(8, ½) ≥ 6) = 0.855; Beta(7, 3): 1 − P(Bin(9, ½) ≥ 7) = 0.910
        Assert.Equal(4, new PosteriorPairedGate(threshold: 0.9, prior: 3).WinsToAccept);
    }

    [Theory]
    [InlineData(0.5, 1, 0.1, 8, 2)]
    [InlineData(1.0, 1, 0.1, 8, 2)]
    [InlineData(0.7, 0, 0.1, 8, 2)]
    [InlineData(0.7, 1, 0.5, 8, 2)]
    [InlineData(0.7, 1, -0.1, 8, 2)]
    [InlineData(0.7, 1, 0.1, 0, 2)]
    [InlineData(0.7, 1, 0.1, 8, 0)]
    public void Out_of_range_settings_are_refused(double threshold, double prior, double stop, int chunk, int draws) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PosteriorPairedGate(threshold, prior, stop, chunk, draws));
}

public class PosteriorPairedGateNullTests(ITestOutputHelper output)
{
    private static readonly string[] Tasks = Enumerable.Range(0, 40).Select(i => $"t{i:D2}").ToArray();

    private static uint Hash(string s) => BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s)));

    [Fact]
    public async Task Its_false_accept_rate_on_useless_candidates_is_measured_not_bounded_at_alpha()
    {
        // 40 tasks that each pass with probability 0.5 at random, for candidate and incumbent alike (the most discordant
        // pairs a useless candidate can meet); 1,000 candidates. The rate is the price of accepting small real gains
        // (docs/method.md): 280 of 1,000 (28%) at the defaults, where the paired sequential gate accepts at most 5%.
        const int trials = 1000;
        var accepted = 0;
        for (var trial = 0; trial < trials; trial++)
        {
            Task<Evaluation> Coin(string skill, string hash, IReadOnlyList<string> tasks, int sample, CancellationToken ct) =>
                Task.FromResult(new Evaluation(hash, sample, [.. tasks.Select(t => new RolloutResult
                {
                    TaskId = t,
                    Outcome = Hash($"{trial}|{skill}|{t}|{sample}") % 2 == 0 ? TaskOutcome.Passed : TaskOutcome.Failed,
                    Score = Hash($"{trial}|{skill}|{t}|{sample}") % 2 == 0 ? 1 : 0,
                })]));
            var d = await new PosteriorPairedGate().DecideAsync(
                new GateContext("candidate", "c", "incumbent", "i", new Evaluation("i", 0, []), Tasks, Coin, Seed: trial), CancellationToken.None);
            accepted += d.Verdict == GateVerdict.Accept ? 1 : 0;
        }
        var rate = (double)accepted / trials;
        output.WriteLine($"{accepted} of {trials} useless candidates accepted ({rate:P1})");
        Assert.InRange(rate, 0.20, 0.35);
    }
}
