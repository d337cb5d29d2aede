using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

/// <summary>Which baseline results count as a target that answered every task with empty text (warning SKOPT2106).</summary>
public class BaselineEmptyAnswersTests
{
    private static RolloutResult Result(string id, TaskOutcome outcome, params TranscriptMessage[] transcript) =>
        new() { TaskId = id, Outcome = outcome, Transcript = transcript };

    private static readonly TranscriptMessage Asked = new("user", "What is 2 + 2?");

    [Fact]
    public void Every_task_that_asked_the_target_with_no_text_back_counts()
    {
        var results = new[]
        {
            Result("a", TaskOutcome.Failed, Asked, new TranscriptMessage("assistant", null)),
            Result("b", TaskOutcome.Failed, Asked, new TranscriptMessage("assistant", "  \n")),
            Result("c", TaskOutcome.Errored, Asked), // no message came back at all
            // a tool call without text, then an empty final reply
            Result("d", TaskOutcome.Failed, Asked, new TranscriptMessage("assistant", null, [new TranscriptToolCall("1", "add", "{}")]), new TranscriptMessage("tool", "4"), new TranscriptMessage("assistant", null)),
            Result("skipped", TaskOutcome.Skipped),
            Result("crashed", TaskOutcome.Errored),
        };
        Assert.Equal(4, BaselinePhase.EmptyAnswers(results));
    }

    [Fact]
    public void One_answer_with_text_or_no_task_that_asked_is_no_warning()
    {
        Assert.Null(BaselinePhase.EmptyAnswers(
        [
            Result("a", TaskOutcome.Failed, Asked, new TranscriptMessage("assistant", null)),
            Result("b", TaskOutcome.Passed, Asked, new TranscriptMessage("assistant", "Final answer: 4")),
        ]));
        Assert.Null(BaselinePhase.EmptyAnswers([Result("skipped", TaskOutcome.Skipped), Result("crashed", TaskOutcome.Errored)]));
        Assert.Null(BaselinePhase.EmptyAnswers([]));
    }
}
