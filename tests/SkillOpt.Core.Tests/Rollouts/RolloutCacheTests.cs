using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Tests.Rollouts;

public class RolloutCacheTests
{
    [Fact]
    public void Results_are_keyed_by_skill_task_sample_and_target_settings_and_errors_are_never_stored()
    {
        var folder = Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));
        var cache = new RolloutCache(folder, "gpt-x|t=0");
        cache.Put("aaaa1111", 0, new RolloutResult { TaskId = "t1", Outcome = TaskOutcome.Passed, Score = 1 });
        cache.Put("aaaa1111", 0, RolloutResult.Errored("t2", "provider down"));

        Assert.Equal(TaskOutcome.Passed, cache.TryGet("aaaa1111", "t1", 0)!.Outcome);
        Assert.Null(cache.TryGet("aaaa1111", "t2", 0));
        Assert.Null(cache.TryGet("aaaa1111", "t1", 1));
        Assert.Null(cache.TryGet("bbbb2222", "t1", 0));
        Assert.Null(new RolloutCache(folder, "gpt-x|t=0.7").TryGet("aaaa1111", "t1", 0));
        Assert.Equal(1, cache.Hits);
    }
}
