using SkillOpt.SimLab;
using SkillOpt.Testing.Gate;

namespace SkillOpt.Testing.Tests.Gate;

/// <summary>The opt-in live check of the sample's gate against SimLab (simulated target), compared with the committed receipt.</summary>
public class GateLiveTests
{
    private static async Task<Tests.Infrastructure.ProcessOutcome> LiveAsync(Scenario scenario)
    {
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: TestContext.Current.CancellationToken);
        return await SimMath.GateAsync(new Dictionary<string, string?>
        {
            [SkillGate.LiveVariable] = "1",
            ["SKILLOPT_TARGET_ENDPOINT"] = server.BaseUrl,
        }, "Test_split_holds_up_live");
    }

    [Fact]
    public async Task Live_passes_when_nothing_changed()
    {
        var run = await LiveAsync(SimMath.LoadScenario());
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Total: 1, Errors: 0, Failed: 0, Skipped: 0", run.Stdout);
    }

    [Fact]
    public async Task Live_fails_on_a_significant_drop_of_a_weaker_simulated_target()
    {
        // A weaker target: it now fails every task (base success rate 0), so all 7 approved passes regress.
        var run = await LiveAsync(SimMath.LoadScenario(s => s.Replace("base_success_rate: 1.0", "base_success_rate: 0.0", StringComparison.Ordinal)));
        Assert.Equal(1, run.ExitCode);
        var message = SimMath.Failure(run, "Test_split_holds_up_live");
        Assert.Contains("SKOPT3205: skill 'simmath', live target simlab/simlab-target (approved with simlab/simlab-target): 7 test tasks compared: approved mean 1 → live mean 0; exact sign test: 7 regressed vs 0 improved, one-sided p = 0.0078: a significant drop at alpha 0.05.", message);
        Assert.Contains("- simmath/WordProblems.Solves/syn-001: approved passed (1), live failed (0)", message);
    }

    [Fact]
    public async Task Live_warns_when_a_drop_is_not_significant()
    {
        var run = await LiveAsync(SimMath.LoadScenario(s => SimMath.FailTasks(s, "syn-001", "syn-007")));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Warnings:", run.Stdout); // TestContext.Current.AddWarning: the test passes with a warning
        Assert.Contains("SKOPT3206: skill 'simmath'", run.Stdout);
        Assert.Contains("exact sign test: 2 regressed vs 0 improved, one-sided p = 0.25: a drop that is not significant at alpha 0.05 (inconclusive)", run.Stdout);
    }
}
