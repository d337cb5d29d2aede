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
        // Only validation requests take time (300 ms each, one after another). Counted once, the validate stage's wall
        // time lies inside the run's own wall time and holds every sleep; counted twice (by each evaluation and again
        // around the whole gate, where nearly every validation request is made) it would be about 2 × n × 300 ms, more
        // than the whole run took. Neither bound depends on how fast the machine is.
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
        var run = System.Diagnostics.Stopwatch.StartNew();
        var summary = await new SkillTrainingLoop(options, runner, new ScriptedOptimizer(), folder)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        var elapsed = run.Elapsed.TotalSeconds;

        Assert.True(validationRequests >= 2, $"the run should gate at least one candidate ({validationRequests} validation requests)");
        var wall = summary.Usage[ChatStage.Validate].WallSeconds;
        var sleeps = validationRequests * ValidationDelay.TotalSeconds;
        Assert.InRange(wall, sleeps * 0.99, elapsed);
    }
}
