using SkillOpt.Core.Accounting;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

/// <summary>Wall time by stage in <c>summary.json</c>: each stretch of time is counted once, in the stage that spent it.</summary>
public class StageWallTimeTests
{
    private static readonly TimeSpan ValidationDelay = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Validation_time_is_counted_once_not_again_around_the_gate()
    {
        // Only validation requests take time (300 ms each, sequential within the gate). Counted once, the validate stage's
        // wall time is n × 300 ms plus in-memory overhead; counted twice (by each evaluation and again around the whole
        // gate) it would be at least 2 × n × 300 ms. (Here nearly every validation request is the gate's.) The bound below sits between the two.
        var validationRequests = 0;
        var runner = new ScriptedRunner(onRequest: r =>
        {
            if (r.Stage == ChatStage.Validate)
            {
                Interlocked.Increment(ref validationRequests);
                Thread.Sleep(ValidationDelay);
            }
        });
        var options = HarnessConfig.Options();
        options.Training.Epochs = 1;
        var folder = Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));
        var summary = await new SkillTrainingLoop(options, runner, new ScriptedOptimizer(), folder)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);

        Assert.True(validationRequests >= 2, $"the run should gate at least one candidate ({validationRequests} validation requests)");
        var wall = summary.Usage[ChatStage.Validate].WallSeconds;
        var sleeps = validationRequests * ValidationDelay.TotalSeconds;
        Assert.InRange(wall, sleeps * 0.99, sleeps * 1.5);
    }
}
