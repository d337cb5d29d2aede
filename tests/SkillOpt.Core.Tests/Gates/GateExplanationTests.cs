using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Tests.Gates;

/// <summary>Gate verdicts in plain words: what the console prints and the reports show beside the statistics.</summary>
public class GateExplanationTests
{
    private static ValidationSummary Paired(int wins, int losses, int paired) => new(0.5, 0.6, paired, 0, 0, 0.3, "paired", wins, losses, paired);

    [Fact]
    public void A_rejection_with_more_losses_than_wins_counts_them_and_says_it_is_not_better() =>
        Assert.Equal("reject — the candidate won 3 and lost 7 of its 16 paired validation measurements (6 unchanged); it is not better",
            GateExplanation.Describe("reject", Paired(3, 7, 16), "SPRT over 16 paired tasks (1 draw(s)): 3 wins, 7 losses; Λ = 0.077 ≤ β/(1−α) = 0.211: futile (a gain of θ₁ = 0.7 is unlikely)"));

    [Fact]
    public void A_rejection_with_more_wins_than_losses_says_a_real_gain_is_unlikely() =>
        Assert.Equal("reject — the candidate won 5 and lost 4 of its 22 paired validation measurements (13 unchanged); a real gain is unlikely",
            GateExplanation.Describe("reject", Paired(5, 4, 22), "SPRT …: futile"));

    [Fact]
    public void Accept_and_inconclusive_say_what_happens_to_the_current_skill()
    {
        Assert.Equal("accept — the candidate won 9 and lost 0 of its 22 paired validation measurements (13 unchanged); a real gain is likely, so it becomes the current skill",
            GateExplanation.Describe("accept", Paired(9, 0, 22), "SPRT …"));
        Assert.Equal("inconclusive — the candidate won 4 and lost 2 of its 22 paired validation measurements (16 unchanged); that may be a gain, but not a sure one, so the current skill stays",
            GateExplanation.Describe("inconclusive", Paired(4, 2, 22), "SPRT …"));
    }

    [Fact]
    public void The_veto_the_pre_screen_and_the_strict_gate_are_explained_in_their_own_words()
    {
        Assert.Equal("reject — the candidate fails task math/7 again and again, which the current skill always passed (a regression)",
            GateExplanation.Describe("reject", Paired(1, 1, 3), "non-regression veto: the candidate fails task math/7 in 3 of 3 draws, which the current skill passed in all 4 measurements"));
        Assert.Equal("reject at the pre-screen — on the 6 tasks of this step it was tried on, the candidate fixed 1 of 3 failed tasks but broke 2 of 3 passed ones (a, b); it did not go to validation",
            GateExplanation.Describe("reject", new ValidationSummary(0.3, 0.5, 6, 0, 22, null, "prescreen"), "pre-screen: fixes 1 of 3 failed tasks but breaks 2 of 3 passed ones (a, b)"));
        Assert.Equal("reject — the candidate scored 0.6 against the current skill's 0.6 on 10 validation tasks; it is not better",
            GateExplanation.Describe("reject", new ValidationSummary(0.6, 0.6, 10, 0, 0, null, "strict"), "candidate 0.6 does not beat current 0.6 (strict >, ties reject)"));
        Assert.Equal("reject — the candidate scored 0.25 on the first 8 of 60 validation tasks against the current skill's 0.567; it is unlikely to end above it, so scoring stopped",
            GateExplanation.Describe("reject", new ValidationSummary(0.25, 0.5667, 8, 0, 52, null, "strict"), "candidate 0.25 on 8 of 60 validation tasks; predictive probability 0.026 < 0.05 to beat current 0.5667: stopped"));
        Assert.Equal("skip — no candidate was built (no edits survived)", GateExplanation.Describe("skip", null, "no edits survived"));
    }

    [Fact]
    public void A_decision_of_the_paired_gate_carries_its_counts()
    {
        var candidate = new Evaluation("c", 0, [new RolloutResult { TaskId = "t", Outcome = TaskOutcome.Passed, Score = 1 }]);
        var decision = new GateDecision(GateVerdict.Accept, "SPRT …", 1, 0, candidate, 0, 0.01, Wins: 6, Losses: 0, PairedTasks: 8);
        Assert.StartsWith("accept — the candidate won 6 and lost 0 of its 8 paired validation measurements (2 unchanged)", GateExplanation.Describe(decision, "paired"));
    }
}
