using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SkillOpt.Testing.Tests.Infrastructure;

namespace SkillOpt.Testing.Tests;

/// <summary>
/// The optimizer's provider cannot be reached (real HTTP to a closed local port): the trainer stops with its own code, not
/// as an unexpected error, and running the same command again resumes after the last finished phase. The target is
/// SimLab on the sample's simmath scenario, hosted by the trainer.
/// </summary>
public class ProviderOutageTests
{
    [Fact]
    public async Task An_unreachable_optimizer_stops_training_with_SKOPT2013_and_running_again_resumes()
    {
        using var dir = new TempFolder();
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now: every connection is refused
        var environment = new Dictionary<string, string?>
        {
            ["SKILLOPT_SIMLAB_SCENARIO"] = Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "simmath", "scenario.yaml"),
            ["SKILLOPT_OPTIMIZER_PROVIDER"] = "openai-compatible",
            ["SKILLOPT_OPTIMIZER_ENDPOINT"] = $"http://127.0.0.1:{port}/v1",
            ["OPENAI_API_KEY"] = "sk-FAKE-123",
        };
        // the scenario's initial skill, without the procedures the committed one learnt: the first step calls the optimizer
        var skill = dir.Combine("SKILL.md");
        File.WriteAllText(skill, "# Word problems\n\nSolve the problem step by step.\nEnd with the line `Final answer: <number>`.\n");

        var first = await SimLabUnknownTasksTests.SkilloptAsync(dir, environment, "train", "--skill-file", skill, "--run", "run");
        Assert.True(first.ExitCode == 1, first.ToString());
        Assert.Contains("error SKOPT2013: Provider 'openai-compatible' (role 'optimizer'", first.Stderr);
        Assert.Contains("run the same command again; it resumes", first.Stderr);
        Assert.DoesNotContain("SKOPT2099", first.Stderr);
        Assert.DoesNotContain("sk-FAKE-123", first.Stdout + first.Stderr);
        var state = JsonDocument.Parse(File.ReadAllText(dir.Combine("run", "runtime_state.json"))).RootElement;
        Assert.Equal(1, state.GetProperty("completed_phases").GetInt32()); // the baseline, which needs no optimizer

        var second = await SimLabUnknownTasksTests.SkilloptAsync(dir, environment, "train", "--skill-file", skill, "--run", "run");
        Assert.True(second.ExitCode == 1, second.ToString());
        Assert.Contains("resuming after phase 1", second.Stdout);
        Assert.DoesNotContain("baseline:", second.Stdout);
        Assert.Contains("error SKOPT2013:", second.Stderr);
    }
}
