using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Tests.Runs;

public class ValidationTalliesTests
{
    private static RolloutResult R(string task, TaskOutcome outcome, double score) => new() { TaskId = task, Outcome = outcome, Score = score };

    [Fact]
    public void Every_stored_validation_counts_but_the_excluded_skills_and_the_test_splits()
    {
        var store = new RunStore(Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N")));
        var initial = new string('a', 64);
        var other = new string('b', 64);
        var candidate = new string('c', 64);
        store.WriteEvaluation("val", new Evaluation(initial, 0, [R("t1", TaskOutcome.Passed, 1), R("t2", TaskOutcome.Failed, 0), R("t3", TaskOutcome.Errored, 0)]));
        store.WriteEvaluation("val", new Evaluation(other, 1, [R("t1", TaskOutcome.Passed, 1), R("t2", TaskOutcome.Passed, 1), R("t3", TaskOutcome.Passed, 0.5)]));
        // the skill being gated, on two samples: left out, so a resumed decision sees what the uninterrupted one saw
        store.WriteEvaluation("val", new Evaluation(candidate, 1, [R("t1", TaskOutcome.Failed, 0)]));
        store.WriteEvaluation("val", new Evaluation(candidate, 2, [R("t2", TaskOutcome.Failed, 0)]));
        store.WriteEvaluation("test", new Evaluation(other, 0, [R("t1", TaskOutcome.Failed, 0)]));

        var tallies = store.ValidationTallies(candidate);
        Assert.Equal(new TaskTally(2, 0), tallies["t1"]);
        Assert.Equal(new TaskTally(1, 1), tallies["t2"]);
        Assert.False(tallies.ContainsKey("t3")); // errored and graded results are no pass/fail evidence
        Assert.Equal(new TaskTally(1, 1), store.ValidationTallies(other)["t1"]);
        Assert.Empty(new RunStore(Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"))).ValidationTallies(candidate));
    }

    [Fact]
    public void A_validation_stored_again_is_counted_as_it_is_now()
    {
        // the counts of each file are kept between calls; rewriting a file must replace its counts, not keep the old ones
        var store = new RunStore(Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N")));
        var skill = new string('a', 64);
        store.WriteEvaluation("val", new Evaluation(skill, 1, [R("t1", TaskOutcome.Failed, 0)]));
        Assert.Equal(new TaskTally(0, 1), store.ValidationTallies("x")["t1"]);
        store.WriteEvaluation("val", new Evaluation(skill, 1, [R("t1", TaskOutcome.Passed, 1), R("t2", TaskOutcome.Passed, 1)]));
        var now = store.ValidationTallies("x");
        Assert.Equal(new TaskTally(1, 0), now["t1"]);
        Assert.Equal(new TaskTally(1, 0), now["t2"]);
        // and a store opened on the folder afterwards reads the same
        Assert.Equal(now, new RunStore(store.Root).ValidationTallies("x"));
    }
}
