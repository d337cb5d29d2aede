using SkillOpt.Core.Gates;

namespace SkillOpt.Core.Tests.Gates;

public class ValueOfInformationGateTests
{
    [Fact]
    public async Task A_clear_improvement_is_accepted_before_the_draw_ends()
    {
        // the incumbent passes t00–t09, the candidate every task: every discordant pair is a win
        var w = new ScriptedValidation((s, t, _) => t < 10 || s == "candidate");
        var d = await new ValueOfInformationGate().DecideAsync(w.Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Contains("decided now", d.Reason);
        Assert.True(w.CandidateTasks < 40, $"{w.CandidateTasks} tasks scored");
        Assert.Equal([0], w.Samples);
    }

    [Fact]
    public async Task A_clearly_harmful_candidate_is_rejected_within_two_chunks()
    {
        var w = new ScriptedValidation((s, t, _) => s != "candidate" && t < 30);
        var d = await new ValueOfInformationGate().DecideAsync(w.Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.True(w.CandidateTasks <= 16, $"{w.CandidateTasks} tasks scored");
    }

    [Fact]
    public async Task A_candidate_that_changes_nothing_is_rejected()
    {
        // no discordant pair: the posterior gain stays at 0, which is not above the margin (a tie keeps the current skill)
        var w = new ScriptedValidation((_, t, _) => t < 30);
        var d = await new ValueOfInformationGate().DecideAsync(w.Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Contains("0 wins, 0 losses", d.Reason);
    }

    [Fact]
    public async Task A_lower_price_per_pair_buys_more_evidence_on_a_marginal_candidate()
    {
        // every draw 5 wins (t20–t24) to 4 losses (t00–t03): a small gain, hard to tell from none
        static bool Marginal(string s, int t, int _) => s == "candidate" ? t is >= 4 and < 25 : t < 20;
        var cheap = new ScriptedValidation(Marginal);
        await new ValueOfInformationGate(callValue: 1e-3).DecideAsync(cheap.Context(), CancellationToken.None);
        var careful = new ScriptedValidation(Marginal);
        await new ValueOfInformationGate(callValue: 1e-6).DecideAsync(careful.Context(), CancellationToken.None);
        Assert.True(careful.CandidateTasks > cheap.CandidateTasks, $"{careful.CandidateTasks} against {cheap.CandidateTasks} tasks");
        Assert.True(careful.CandidateTasks >= 80, $"{careful.CandidateTasks} tasks"); // at almost no price, more than two draws
    }

    [Fact]
    public async Task A_margin_keeps_a_gain_below_it_out()
    {
        // 8 wins (t20–t27) to 4 losses (t00–t03) per draw: a mean gain of 0.1 per task
        static bool Moderate(string s, int t, int _) => s == "candidate" ? t is >= 4 and < 28 : t < 20;
        var accepted = await new ValueOfInformationGate(callValue: 1e-6).DecideAsync(new ScriptedValidation(Moderate).Context(), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, accepted.Verdict);
        // a margin of 0.2 is out of reach of a candidate that starts 1 win to 1 loss: nothing more is worth scoring
        var w = new ScriptedValidation(Moderate);
        var kept = await new ValueOfInformationGate(callValue: 1e-6, margin: 0.2).DecideAsync(w.Context(), CancellationToken.None);
        Assert.NotEqual(GateVerdict.Accept, kept.Verdict);
        Assert.Equal(8, w.CandidateTasks);
        Assert.Contains("≤ 0.2", kept.Reason);
    }

    [Theory]
    [InlineData(0, 0.05, 0, 8, 3)]
    [InlineData(1e-4, 0, 0, 8, 3)]
    [InlineData(1e-4, 0.05, -0.01, 8, 3)]
    [InlineData(1e-4, 0.05, 0, 0, 3)]
    [InlineData(1e-4, 0.05, 0, 8, 0)]
    public void Out_of_range_settings_are_refused(double price, double priorSd, double margin, int chunk, int draws) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ValueOfInformationGate(price, priorSd, margin, chunk, draws));
}
