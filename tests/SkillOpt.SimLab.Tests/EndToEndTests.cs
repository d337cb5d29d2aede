using Microsoft.Extensions.AI;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Processes;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;
using SkillOpt.Providers;

namespace SkillOpt.SimLab.Tests;

/// <summary>Real SkillOpt.Core trainings against SimLab over HTTP, through SkillOpt.Providers' OpenAI adapter.</summary>
public class EndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static TaskSplits Splits(Scenario s, int train, int val, int test)
    {
        var ids = s.ResolvedTasks.Select(t => t.Id).OrderBy(id => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id))), StringComparer.Ordinal).ToList();
        return new TaskSplits(ids.Take(train).ToList(), ids.Skip(train).Take(val).ToList(), ids.Skip(train + val).Take(test).ToList());
    }

    private static async Task<(RunSummary Summary, string Best, SimLabStatistics Stats)> TrainAsync(Scenario scenario, string preset, TaskSplits splits, string folder)
    {
        var options = SkillOptConfigLoader.Parse($"""
            preset: {preset}
            seed: 3
            training:
              epochs: 2
              batch_size: 12
              minibatch_size: 4
              slow_update:
                sample_size: 6
            """, "e2e.yaml");
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: Ct);
        using var target = SimLabHost.Client(server, scenario.Models.Target);
        using var optimizer = SimLabHost.Client(server, scenario.Models.Optimizer, 4);
        var loop = new SkillTrainingLoop(options, new SimLabRolloutRunner(scenario, target), optimizer, folder, optimizerOptions: new ChatOptions { ModelId = scenario.Models.Optimizer });
        var summary = await loop.RunAsync(scenario.InitialSkill, splits, Ct);
        return (summary, File.ReadAllText(Path.Combine(folder, "best_skill.md")), server.Statistics);
    }

    private static string Folder() => Path.Combine(Path.GetTempPath(), "simlab-e2e-" + Guid.NewGuid().ToString("N")[..10]);

    [Theory]
    [InlineData("classic")]
    [InlineData("default")]
    public async Task Training_on_synthetic_clean_learns_the_missing_procedures_and_is_reproducible(string preset)
    {
        var scenario = ScenarioLoader.LoadBuiltin("synthetic-clean");
        var splits = Splits(scenario, 24, 18, 12);
        var (a, b) = (Folder(), Folder());
        try
        {
            var first = await TrainAsync(scenario, preset, splits, a);
            Assert.Equal("completed", first.Summary.Status);
            Assert.True(first.Summary.Accepted >= 1, $"accepted {first.Summary.Accepted}");
            Assert.True(first.Summary.Best.Validation > first.Summary.Initial.Validation + 0.3, $"{first.Summary.Initial.Validation} → {first.Summary.Best.Validation}");
            Assert.Contains("answer-format", SimLabOracle.ProceduresIn(scenario, first.Best));
            Assert.True(SimLabOracle.ExpectedScore(scenario, first.Best, splits.Test) > SimLabOracle.ExpectedScore(scenario, scenario.InitialSkill, splits.Test) + 0.3);
            Assert.All(first.Summary.ReplyFailures.Values, f => Assert.Equal(0, f.Failed));
            Assert.Equal(0, first.Summary.ErroredRollouts);
            Assert.True(first.Stats.OptimizerCallsBySchema.ContainsKey("skillopt_reflection"));
            Assert.True(first.Stats.TargetCalls > 0);

            var second = await TrainAsync(scenario, preset, splits, b);
            Assert.Equal(first.Best, second.Best);
            Assert.Equal(first.Summary.Best, second.Summary.Best);
            Assert.Equal(first.Summary.Accepted, second.Summary.Accepted);
            Assert.Equal(first.Stats.TargetCalls, second.Stats.TargetCalls);
            Assert.Equal(first.Stats.OptimizerCalls, second.Stats.OptimizerCalls);
        }
        finally
        {
            foreach (var f in new[] { a, b }.Where(Directory.Exists))
            {
                Directory.Delete(f, true);
            }
        }
    }

    [Fact]
    public async Task Training_with_the_null_optimizer_never_gains_a_procedure()
    {
        var scenario = ScenarioLoader.LoadBuiltin("null-optimizer");
        var splits = Splits(scenario, 24, 20, 10);
        var folder = Folder();
        try
        {
            var run = await TrainAsync(scenario, "classic", splits, folder);
            Assert.Equal(SimLabOracle.ProceduresIn(scenario, scenario.InitialSkill), SimLabOracle.ProceduresIn(scenario, run.Best));
            Assert.Equal(SimLabOracle.ExpectedScore(scenario, scenario.InitialSkill, splits.Test), SimLabOracle.ExpectedScore(scenario, run.Best, splits.Test));
            Assert.True(run.Summary.Accepted + run.Summary.Rejected > 0);
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Fact]
    public async Task Training_survives_injected_faults_through_the_provider_pipeline()
    {
        var scenario = ScenarioLoader.LoadBuiltin("synthetic-clean");
        scenario.Faults.RateLimit = 0.1;
        scenario.Faults.ServerError = 0.05;
        scenario.Faults.RetryAfterSeconds = 0;
        var folder = Folder();
        try
        {
            var run = await TrainAsync(scenario, "classic", Splits(scenario, 12, 12, 6), folder);
            Assert.Equal("completed", run.Summary.Status);
            Assert.True(run.Summary.Best.Validation > run.Summary.Initial.Validation);
            Assert.True(run.Stats.RateLimited > 0 && run.Stats.ServerErrors > 0);
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}

public class SecretHandlingTests
{
    private const string FakeKey = "test-key-DO-NOT-LEAK-7f3a9c1e5b";

    [Fact]
    public async Task The_api_key_reaches_no_file_of_the_run_folder_and_no_recording()
    {
        var scenario = ScenarioLoader.LoadBuiltin("synthetic-clean");
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: TestContext.Current.CancellationToken);
        var folder = Path.Combine(Path.GetTempPath(), "simlab-secret-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var env = new Dictionary<string, string?> { ["SIMLAB_TEST_KEY"] = FakeKey };
            var factory = new ChatClientFactory(name => env.GetValueOrDefault(name));
            var pipeline = new ChatPipelineOptions { Recording = RecordingMode.Record, RecordingDirectory = Path.Combine(folder, "recording") };
            ModelRoleOptions Role(string model) => new() { Provider = "openai-compatible", Model = model, Endpoint = server.BaseUrl, ApiKeyEnv = "SIMLAB_TEST_KEY", TimeoutSeconds = 30 };
            using var target = factory.Create("target", Role(scenario.Models.Target), pipeline);
            using var optimizer = factory.Create("optimizer", Role(scenario.Models.Optimizer), pipeline);
            var options = SkillOptConfigLoader.Parse("seed: 2\ntraining:\n  epochs: 1\n  batch_size: 8\n  minibatch_size: 4\n", "secret.yaml");
            var ids = scenario.ResolvedTasks.Select(t => t.Id).ToList();
            var loop = new SkillTrainingLoop(options, new SimLabRolloutRunner(scenario, target), optimizer, Path.Combine(folder, "run"),
                optimizerOptions: new ChatOptions { ModelId = scenario.Models.Optimizer });
            await loop.RunAsync(scenario.InitialSkill, new TaskSplits(ids.Take(8).ToList(), ids.Skip(8).Take(8).ToList(), ids.Skip(16).Take(4).ToList()), TestContext.Current.CancellationToken);

            var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).ToList();
            Assert.Contains(files, f => f.Contains("recording", StringComparison.Ordinal));
            Assert.Contains(files, f => f.EndsWith("summary.json", StringComparison.Ordinal));
            Assert.All(files, f => Assert.DoesNotContain(FakeKey, File.ReadAllText(f)));
            Assert.True(server.Statistics.TargetCalls > 0);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, true);
            }
        }
    }
}

public class CommandTests
{
    [Fact]
    public async Task Serve_prints_the_url_and_answers_until_stopped()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "SkillOpt.SimLab.dll");
        var firstLine = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new ChildProcess(new ChildProcessStart
        {
            FileName = "dotnet",
            Arguments = [dll, "serve", "--scenario", "synthetic-clean", "--port", "0"],
            OnStdout = line => firstLine.TrySetResult(line),
        });
        process.Start();
        try
        {
            // the first line of standard output, or none when it ends without one
            await Task.WhenAny(firstLine.Task, process.WaitForOutputAsync(Timeout.InfiniteTimeSpan)).WaitAsync(TestContext.Current.CancellationToken);
            var line = firstLine.Task.IsCompleted ? await firstLine.Task : null;
            Assert.NotNull(line);
            Assert.StartsWith("SimLab (simulated models) listening on http://127.0.0.1:", line, StringComparison.Ordinal);
            var url = line["SimLab (simulated models) listening on ".Length..];
            using var http = new HttpClient();
            var models = await http.GetStringAsync(url + "/models", TestContext.Current.CancellationToken);
            Assert.Contains("simlab-target", models, StringComparison.Ordinal);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task List_and_describe_print_the_scenarios()
    {
        var output = new StringWriter();
        Assert.Equal(0, await SimLabCommand.RunAsync(["list"], output, TextWriter.Null));
        Assert.Contains("null-optimizer", output.ToString(), StringComparison.Ordinal);
        output = new StringWriter();
        Assert.Equal(0, await SimLabCommand.RunAsync(["describe", "--scenario", "gsm8k"], output, TextWriter.Null));
        Assert.Contains("tasks: 800", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("simulated", output.ToString(), StringComparison.Ordinal);
        var error = new StringWriter();
        Assert.Equal(1, await SimLabCommand.RunAsync(["serve", "--scenario", "nope"], TextWriter.Null, error));
        Assert.Contains("error SKOPT2304", error.ToString(), StringComparison.Ordinal);
    }
}
