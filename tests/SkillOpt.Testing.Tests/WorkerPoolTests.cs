using System.Security.Cryptography;
using System.Text;
using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Tests.Infrastructure;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Verifiers;

namespace SkillOpt.Testing.Tests;

/// <summary>
/// Rollouts served by long-lived verifier workers (<c>rollouts.isolation: worker</c>) of the sample verifier: per-rollout
/// skill, sample and stage in one process, a worker that dies or hangs with rollouts in flight.
/// </summary>
public class WorkerPoolTests
{
    private const string TrainedSkill = "# Arithmetic helper\n\n- [units] [percent] [rates] [tools] [explain] Know your procedures.\n";
    private const string SeedSkill = "# Arithmetic helper\n\nAnswer briefly.\n";

    [Fact]
    public async Task One_worker_serves_concurrent_rollouts_each_with_its_own_skill_sample_and_stage()
    {
        using var dir = new TempFolder();
        var runner = Runner(dir, workers: 1, concurrency: 8, TimeSpan.FromMinutes(5));
        var ids = new[] { "arith/Percentages.TakesTenPercent/h997829838baf", "arith/Tools.UsesTheCalculator", "arith/UnitConversions.ConvertsKilometres/km-3" };
        var ct = TestContext.Current.CancellationToken;

        // two batches at once in the same worker: the trained skill (sample 2, validate) and the seed skill (sample 7, rollout)
        var trained = runner.RunAsync(new RolloutRequest(TrainedSkill, Sha256(TrainedSkill), ids, 2, "validate"), ct);
        var seed = runner.RunAsync(new RolloutRequest(SeedSkill, Sha256(SeedSkill), ids, 7, "rollout"), ct);
        var (withTrained, withSeed) = (await trained, await seed);

        Assert.All(withTrained, r => Assert.True(r.Outcome == TaskOutcome.Passed, $"{r.TaskId}: {r.Outcome} {r.Reason}"));
        Assert.All(withSeed, r => Assert.True(r.Outcome == TaskOutcome.Failed, $"{r.TaskId}: {r.Outcome} {r.Reason}"));
        Assert.Equal(1, runner.WorkersStarted);

        // each rollout has its own folder with its result file (the request's skill, sample and stage) and its output
        var files = Directory.GetFiles(dir.Combine("rollouts"), "*.json", SearchOption.AllDirectories).Select(VerifierResultFile.Read).ToList();
        Assert.Equal(6, files.Count);
        Assert.All(files.Where(f => f.SampleIndex == 2), f => Assert.Equal((Sha256(TrainedSkill), "validate"), (f.SkillHash, f.Stage)));
        Assert.All(files.Where(f => f.SampleIndex == 7), f => Assert.Equal((Sha256(SeedSkill), "rollout"), (f.SkillHash, f.Stage)));
        Assert.Equal(3, files.Count(f => f.SampleIndex == 2));
        var logs = Directory.GetFiles(dir.Combine("rollouts"), "output.log", SearchOption.AllDirectories);
        Assert.Equal(6, logs.Length);
        Assert.All(logs, l => Assert.Contains("{\"$type\":\"test-case-starting\"", File.ReadAllText(l)));

        // a later batch reuses the worker: no process is started
        var again = await runner.RunAsync(new RolloutRequest(TrainedSkill, Sha256(TrainedSkill), ids[..1], 3, "test"), ct);
        Assert.Equal(TaskOutcome.Passed, Assert.Single(again).Outcome);
        Assert.Equal(1, runner.WorkersStarted);
        Assert.Single(runner.WorkerProcessIds);
    }

    [Fact]
    public async Task A_worker_dying_with_rollouts_in_flight_errors_only_the_rollout_that_crashes_it_and_is_replaced()
    {
        using var dir = new TempFolder();
        var runner = Runner(dir, workers: 1, concurrency: 4, TimeSpan.FromMinutes(5), ("SKILLOPT_SAMPLE_FAULT", "crash"));
        var reports = new List<VerifierProcessReport>();
        runner.ProcessEnded += r => { lock (reports) { reports.Add(r); } };
        var ids = new[] { "arith/Faults.CrashesWhenAsked", "arith/UnitConversions.ConvertsKilometres/km-2", "arith/Percentages.TakesTenPercent/ha84008063efe", "arith/Tools.UsesTheCalculator" };
        var ct = TestContext.Current.CancellationToken;
        var results = await runner.RunAsync(new RolloutRequest(TrainedSkill, Sha256(TrainedSkill), ids, 0, "rollout"), ct);

        Assert.Equal(ids.Order(), results.Select(r => r.TaskId).Order());
        // the crash (Environment.FailFast) ended the worker with every rollout of the batch in flight; those were run again,
        // each in a verifier process of its own, so that only the crashing task is Errored, never scored 0
        var crashed = results.Single(r => r.TaskId == ids[0]);
        Assert.Equal(TaskOutcome.Errored, crashed.Outcome);
        Assert.Contains("the verifier process crashed (exit code", crashed.Reason);
        Assert.Contains("simulated verifier crash", crashed.Reason);
        Assert.All(results.Where(r => r.TaskId != ids[0]), r => Assert.True(r.Outcome == TaskOutcome.Passed, $"{r.TaskId}: {r.Outcome} {r.Reason}"));
        Assert.Contains(reports, r => r.Crashed && r.Worker is null && File.Exists(Path.Combine(r.Folder, "output.log")));
        Assert.Equal(1, runner.WorkersStarted);
        Assert.Empty(runner.WorkerProcessIds);

        // the next rollout starts a new worker
        var next = await runner.RunAsync(new RolloutRequest(TrainedSkill, Sha256(TrainedSkill), ids[1..2], 1, "rollout"), ct);
        Assert.Equal(TaskOutcome.Passed, Assert.Single(next).Outcome);
        Assert.Equal(2, runner.WorkersStarted);
    }

    [Fact]
    public async Task A_hanging_rollout_kills_its_worker_at_the_timeout_and_the_others_are_run_again()
    {
        using var dir = new TempFolder();
        var env = ("SKILLOPT_SAMPLE_FAULT", "hang");
        var pool = Guid.NewGuid().ToString("N");
        // the timeout counts from the request, which includes the worker's start on a loaded machine: generous, and only
        // the hang can pass it
        var runner = Runner(dir, workers: 1, concurrency: 4, TimeSpan.FromSeconds(20), pool, env);
        var reports = new List<VerifierProcessReport>();
        runner.ProcessEnded += r => { lock (reports) { reports.Add(r); } };
        var ids = new[] { "arith/Faults.HangsWhenAsked", "arith/UnitConversions.ConvertsKilometres/km-3" };
        var ct = TestContext.Current.CancellationToken;
        var results = await runner.RunAsync(new RolloutRequest(TrainedSkill, Sha256(TrainedSkill), ids, 0, "rollout"), ct);

        var hung = results.Single(r => r.TaskId == ids[0]);
        Assert.Equal(TaskOutcome.Errored, hung.Outcome);
        Assert.Contains("ran past rollouts.timeout_seconds (20 s) and its verifier worker was killed; this task ", hung.Reason);
        Assert.Contains(reports, r => r.TimedOut && r.Worker == 1);
        // the other task either finished before the kill or was run again in a process of its own: never Errored by the hang
        Assert.Equal(TaskOutcome.Passed, results.Single(r => r.TaskId == ids[1]).Outcome);

        // the worker was replaced: a runner with the same pool serves the next rollout from a new worker
        var next = Runner(dir, workers: 1, concurrency: 4, TimeSpan.FromMinutes(5), pool, env);
        var again = await next.RunAsync(new RolloutRequest(TrainedSkill, Sha256(TrainedSkill), ids[1..], 1, "rollout"), ct);
        Assert.Equal(TaskOutcome.Passed, Assert.Single(again).Outcome);
        Assert.Equal(2, next.WorkersStarted);
    }

    // A variable of its own keeps each test's workers apart from the other tests' (pools are shared by environment).
    private static VerifierProcessRunner Runner(TempFolder dir, int workers, int concurrency, TimeSpan timeout, params (string, string?)[] env) =>
        Runner(dir, workers, concurrency, timeout, Guid.NewGuid().ToString("N"), env);

    private static VerifierProcessRunner Runner(TempFolder dir, int workers, int concurrency, TimeSpan timeout, string pool, params (string, string?)[] env) =>
        new(new VerifierExecutable(ToolPaths.SampleVerifiers), new VerifierRunnerOptions
        {
            Isolation = VerifierIsolation.Worker,
            Workers = workers,
            Concurrency = concurrency,
            Timeout = timeout,
            ConfigPath = ToolPaths.ArithConfig,
            WorkDirectory = dir.Combine("rollouts"),
            Environment = env.Append(("SKILLOPT_TEST_POOL", pool)).ToDictionary(e => e.Item1, e => e.Item2),
        });

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
