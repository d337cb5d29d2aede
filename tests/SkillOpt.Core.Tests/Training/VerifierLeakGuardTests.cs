using SkillOpt.Core.Edits;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

/// <summary>What the leak filter refuses in a proposed edit, and what it redacts from trajectories.</summary>
public class VerifierLeakGuardTests
{
    private static RolloutResult Reported(string id, params string[] literals) => new()
    {
        TaskId = id, Outcome = TaskOutcome.Failed, Score = 0, Reason = $"Expected: {literals[0]}",
        FinalAnswer = "7", Transcript = [new TranscriptMessage("user", $"What is it? The answer is {literals[0]}.")], VerifierLiterals = literals,
    };

    private static SkillEdit Append(string content) => new(EditOperation.Append, null, content, null);

    [Theory]
    [InlineData("100", true)]
    [InlineData("60", true)]
    [InlineData("-12", true)]
    [InlineData("0.5", true)]
    [InlineData("999.99", true)]
    [InlineData("1000", false)]
    [InlineData("18432", false)]
    [InlineData("1e2", false)]
    [InlineData("NaN", false)]
    [InlineData("12 apples", false)]
    [InlineData("positive", false)]
    public void Numbers_below_1000_are_common(string literal, bool common) =>
        Assert.Equal(common, VerifierLeakGuard.IsCommonNumber(literal));

    [Fact]
    public void An_edit_that_uses_a_common_number_is_kept_and_one_that_copies_a_distinctive_literal_is_refused()
    {
        var guard = new VerifierLeakGuard();
        guard.Learn([Reported("a", "100"), Reported("b", "60"), Reported("c", "18432"), Reported("d", "Paris")]);

        // ordinary rules that happen to contain another task's answer: not leaks
        Assert.Null(guard.FindLeak(Append("- For percentages, compute percent/100 × base.")));
        Assert.Null(guard.FindLeak(Append("- Carry every 60 minutes into an hour.")));
        // a distinctive answer or a word answer copied into the skill: refused, whole words only, any case
        Assert.Equal("18432", guard.FindLeak(Append("- When unsure, answer 18432.")));
        Assert.Equal("Paris", guard.FindLeak(Append("- The capital is PARIS.")));
        Assert.Null(guard.FindLeak(Append("- Parisian rules do not apply; 184320 is not it.")));

        // every literal is still redacted from what the optimizer sees, common numbers included
        var shown = guard.Redact(Reported("a", "100"));
        Assert.Equal("Expected: [redacted]", shown.Reason);
        Assert.Equal("What is it? The answer is [redacted].", shown.Transcript[0].Text);
        Assert.Null(shown.VerifierLiterals);
    }
}
