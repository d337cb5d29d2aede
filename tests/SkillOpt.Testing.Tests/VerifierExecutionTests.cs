using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Tests.Infrastructure;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Verifiers;

namespace SkillOpt.Testing.Tests;

/// <summary>The sample verifier project (a real xUnit v3 executable) run as a process, directly and through the process runner.</summary>
public class VerifierExecutionTests
{
    private const string TrainedSkill = "# Arithmetic helper\n\n- [units] [percent] [rates] [tools] [explain] Know your procedures.\n";

    // The sample's tasks, ids and splits (splits: 0.5 / 0.3 / 0.2 from skills/arith/skillopt.yaml, or pinned).
    private static readonly Dictionary<string, string> ExpectedArithTasks = new(StringComparer.Ordinal)
    {
        ["arith/Faults.CrashesWhenAsked"] = "train", // pinned
        ["arith/Faults.HangsWhenAsked"] = "train", // pinned
        ["arith/Faults.SkippedExample"] = "test", // pinned
        ["arith/Faults.ThrowsWhenAsked"] = "train", // pinned
        ["arith/Faults.TimesOutWhenAsked"] = "train", // pinned
        ["arith/Percentages.TakesTenPercent/h997829838baf"] = "val", // 250
        ["arith/Percentages.TakesTenPercent/ha84008063efe"] = "val", // 90
        ["arith/Percentages.TakesTenPercent/he8b9f345f7a2"] = "train", // 400
        ["arith/Percentages.TakesTenPercent/hf841927d3380"] = "train", // 1230
        ["arith/Rates.ComputesSpeed/h0c3ff55ea50c"] = "train",
        ["arith/Rates.ComputesSpeed/h4164c11e9cad"] = "train",
        ["arith/Rates.ComputesSpeed/hb718c4891c68"] = "test",
        ["arith/Rates.ComputesSpeed/hefbcbd3b545e"] = "train",
        ["arith/Tools.UsesTheCalculator"] = "val", // pinned
        ["arith/UnitConversions.ConvertsKilometres/km-12"] = "test",
        ["arith/UnitConversions.ConvertsKilometres/km-2"] = "val",
        ["arith/UnitConversions.ConvertsKilometres/km-3"] = "val",
        ["arith/UnitConversions.ConvertsKilometres/km-7"] = "test",
        ["arith/graded/explains-sky"] = "val", // Id = "graded/explains-sky", pinned
    };

    private static Dictionary<string, string?> Env(params (string Key, string? Value)[] vars) =>
        vars.ToDictionary(v => v.Key, v => v.Value);

    [Fact]
    public async Task Every_task_is_listed_with_its_stable_id_and_split()
    {
        var verifier = new VerifierExecutable(ToolPaths.SampleVerifiers);
        var tasks = await verifier.ListAsync(Env((VerifierEnvironment.Config, ToolPaths.ArithConfig)), "arith", TestContext.Current.CancellationToken);
        Assert.Equal(ExpectedArithTasks, tasks.ToDictionary(t => t.TaskId, t => t.Split));
        Assert.All(tasks, t => Assert.Equal("arith", t.Skill));
        // Theory rows whose data xUnit cannot serialise (UnitTask, RateTask) are still one task each.
        Assert.Equal(4, tasks.Count(t => t.TaskId.StartsWith("arith/Rates.", StringComparison.Ordinal)));
        Assert.Equal(256, (await verifier.ListAsync(Env(), "bench", TestContext.Current.CancellationToken)).Count);

        // The skill declarations are read from the assembly's metadata, paths resolved against the project.
        var arith = verifier.Project.Find("arith")!;
        Assert.True(File.Exists(arith.SkillFile), arith.SkillFile);
        Assert.Equal(ToolPaths.ArithConfig, arith.ConfigFile);
    }

    [Fact]
    public async Task Outcomes_come_from_the_xunit_result_and_go_to_result_files_and_attachments()
    {
        using var dir = new TempFolder();
        var ids = new[]
        {
            "arith/Faults.ThrowsWhenAsked", "arith/Percentages.TakesTenPercent/h997829838baf", "arith/Faults.SkippedExample",
            "arith/graded/explains-sky", "arith/Rates.ComputesSpeed/h4164c11e9cad", "arith/Faults.TimesOutWhenAsked",
        };
        var run = await Tool.VerifierAsync(
            Env((VerifierEnvironment.ResultsDir, dir.Path), (VerifierEnvironment.SampleIndex, "5"), (VerifierEnvironment.Stage, "validate"), ("SKILLOPT_SAMPLE_FAULT", "throw,slow")),
            [.. Filter(ids), "-automated", "-noColor"]);
        Assert.Equal(1, run.ExitCode); // some tests failed: xUnit's ordinary exit code
        var results = ids.ToDictionary(id => id, id => VerifierResultFile.Read(VerifierResultFile.PathFor(dir.Path, id)));

        // a non-assertion exception is Errored, not Failed
        var thrown = results["arith/Faults.ThrowsWhenAsked"].Result;
        Assert.Equal(TaskOutcome.Errored, thrown.Outcome);
        Assert.StartsWith("System.InvalidOperationException: simulated infrastructure failure", thrown.Reason);
        // so is an xUnit timeout
        var slow = results["arith/Faults.TimesOutWhenAsked"].Result;
        Assert.Equal(TaskOutcome.Errored, slow.Outcome);
        Assert.StartsWith("timeout: ", slow.Reason);
        // an assertion failure is Failed with score 0, its message as the reason, the expected value as a verifier literal
        var failed = results["arith/Percentages.TakesTenPercent/h997829838baf"];
        Assert.Equal(TaskOutcome.Failed, failed.Result.Outcome);
        Assert.Equal(0, failed.Result.Score);
        Assert.Contains("Expected the number 25", failed.Result.Reason);
        Assert.Equal(["25"], failed.Result.VerifierLiterals!);
        Assert.Equal(["user", "assistant"], failed.Result.Transcript.Select(m => m.Role));
        Assert.Equal(1, failed.Result.Usage.Calls);
        Assert.Equal(5, failed.SampleIndex);
        Assert.Equal("validate", failed.Stage);
        // xUnit's own Assert counts as an assertion too
        Assert.Equal(TaskOutcome.Failed, results["arith/Rates.ComputesSpeed/h4164c11e9cad"].Result.Outcome);
        Assert.Contains("Assert.Equal() Failure", results["arith/Rates.ComputesSpeed/h4164c11e9cad"].Result.Reason);
        // skip → Skipped
        Assert.Equal(TaskOutcome.Skipped, results["arith/Faults.SkippedExample"].Result.Outcome);
        Assert.Equal("kept as an example of a skipped task", results["arith/Faults.SkippedExample"].Result.Reason);
        // the committed skill was used (no SKILLOPT_SKILL_FILE)
        var committed = File.ReadAllText(Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "arith", "SKILL.md"));
        Assert.Equal(Sha256(committed), failed.SkillHash);

        // the same JSON is attached to the test (xUnit's -automated output carries attachments)
        var finished = run.Stdout.Split('\n').Where(l => l.StartsWith("{\"$type\":\"test-finished\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(ids.Length, finished.Count);
        Assert.All(finished, l => Assert.Contains("\"skillopt-result\":\"s:{", l));
    }

    [Fact]
    public async Task The_candidate_skill_file_is_used_and_partial_scores_and_tools_are_recorded()
    {
        using var dir = new TempFolder();
        var skill = dir.Combine("candidate.md");
        File.WriteAllText(skill, TrainedSkill);
        var ids = new[] { "arith/Percentages.TakesTenPercent/h997829838baf", "arith/graded/explains-sky", "arith/Tools.UsesTheCalculator" };
        var run = await Tool.VerifierAsync(Env((VerifierEnvironment.ResultsDir, dir.Path), (VerifierEnvironment.SkillFile, skill)), [.. Filter(ids), "-automated"]);
        Assert.True(run.ExitCode == 0, run.ToString());

        var percent = VerifierResultFile.Read(VerifierResultFile.PathFor(dir.Path, ids[0]));
        Assert.Equal(TaskOutcome.Passed, percent.Result.Outcome);
        Assert.Equal(1, percent.Result.Score);
        Assert.Equal("25", percent.Result.FinalAnswer);
        Assert.Equal(Sha256(TrainedSkill), percent.SkillHash);
        Assert.Equal(0, percent.SampleIndex);

        var graded = VerifierResultFile.Read(VerifierResultFile.PathFor(dir.Path, ids[1])).Result;
        Assert.Equal(TaskOutcome.Passed, graded.Outcome);
        Assert.Equal(1, graded.Score); // SkillScore.Report(1.0)
        Assert.Equal("explanation scored 1", graded.Reason);

        var tools = VerifierResultFile.Read(VerifierResultFile.PathFor(dir.Path, ids[2])).Result;
        Assert.Equal(TaskOutcome.Passed, tools.Outcome);
        Assert.Equal(["user", "assistant", "tool", "assistant"], tools.Transcript.Select(m => m.Role));
        Assert.Equal("add", Assert.Single(tools.Transcript[1].ToolCalls!).Name);
        Assert.Equal("5555", tools.Transcript[2].Text);
        Assert.Equal(2, tools.Usage.Calls);
        using var json = JsonDocument.Parse(File.ReadAllText(VerifierResultFile.PathFor(dir.Path, ids[2])));
        Assert.Equal(2, json.RootElement.GetProperty("model_calls").GetArrayLength());
    }

    [Fact]
    public async Task A_crashing_verifier_process_errors_only_its_unreported_tasks()
    {
        using var dir = new TempFolder();
        var ids = new[] { "arith/Faults.CrashesWhenAsked", "arith/UnitConversions.ConvertsKilometres/km-2", "arith/Percentages.TakesTenPercent/ha84008063efe" };
        var reports = new List<VerifierProcessReport>();
        var runner = Runner(dir, 3, TimeSpan.FromSeconds(60), ("SKILLOPT_SAMPLE_FAULT", "crash"));
        runner.ProcessEnded += r => { lock (reports) { reports.Add(r); } };
        var results = await runner.RunAsync(Request(ids), TestContext.Current.CancellationToken);

        Assert.Equal(ids.Order(), results.Select(r => r.TaskId).Order());
        var crashed = results.Single(r => r.TaskId == ids[0]);
        Assert.Equal(TaskOutcome.Errored, crashed.Outcome);
        Assert.Contains("the verifier process crashed (exit code", crashed.Reason);
        Assert.Contains("this task was running", crashed.Reason);
        Assert.Contains("simulated verifier crash", crashed.Reason);
        Assert.All(results.Where(r => r.TaskId != ids[0]), r => Assert.Equal(TaskOutcome.Passed, r.Outcome));
        Assert.Equal(3, reports.Count);
        Assert.Single(reports, r => r.Crashed);
        Assert.True(File.Exists(Path.Combine(Assert.Single(reports, r => r.Crashed).Folder, "output.log")));
    }

    [Fact]
    public async Task A_hanging_verifier_process_is_killed_at_the_timeout()
    {
        using var dir = new TempFolder();
        var ids = new[] { "arith/Faults.HangsWhenAsked", "arith/UnitConversions.ConvertsKilometres/km-3" };
        var reports = new List<VerifierProcessReport>();
        var runner = Runner(dir, 2, TimeSpan.FromSeconds(2.5), ("SKILLOPT_SAMPLE_FAULT", "hang"));
        runner.ProcessEnded += r => { lock (reports) { reports.Add(r); } };
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var results = await runner.RunAsync(Request(ids), TestContext.Current.CancellationToken);
        // a lower bound only: the hang cannot end before the timeout; how much later it ends depends on the machine
        Assert.True(sw.Elapsed.TotalSeconds >= 2.4, $"{sw.Elapsed.TotalSeconds} s");
        var hung = results.Single(r => r.TaskId == ids[0]);
        Assert.Equal(TaskOutcome.Errored, hung.Outcome);
        // on a slow machine the task may not have started within 2.5 s: the reason's "this task …" part is not asserted
        Assert.Contains("ran past rollouts.timeout_seconds (2.5 s) and was killed; this task ", hung.Reason);
        Assert.True(reports.Single(r => Path.GetFileName(r.Folder) == "p00").TimedOut);
        // the other task ran in its own process (p01), unaffected by the hang; on a loaded machine that process too may
        // need more than 2.5 s, and is then killed and Errored the same way, never Failed
        var other = results.Single(r => r.TaskId == ids[1]);
        Assert.Equal(reports.Single(r => Path.GetFileName(r.Folder) == "p01").TimedOut ? TaskOutcome.Errored : TaskOutcome.Passed, other.Outcome);
    }

    [Fact]
    public async Task Result_files_that_do_not_match_the_request_are_errored()
    {
        using var dir = new TempFolder();
        var runner = Runner(dir, 1, TimeSpan.FromSeconds(60));
        var bad = new List<string>();
        runner.BadResult += (_, why) => bad.Add(why);
        var id = "arith/UnitConversions.ConvertsKilometres/km-3";
        // The request claims a hash that is not the hash of its skill: the verifier reports the hash of what it used.
        var request = new RolloutRequest(TrainedSkill, new string('0', 64), [id, "arith/No.SuchTask"], 0, "rollout");
        var results = await runner.RunAsync(request, TestContext.Current.CancellationToken);
        Assert.Contains("does not match the request: the agent used a skill with hash", results.Single(r => r.TaskId == id).Reason);
        Assert.Single(bad);
        Assert.Contains("without a result for this task", results.Single(r => r.TaskId == "arith/No.SuchTask").Reason);
    }

    private static RolloutRequest Request(IReadOnlyList<string> ids) => new(TrainedSkill, Sha256(TrainedSkill), ids, 0, "rollout");

    // The tests above are of one verifier process per batch slot (their folders pNN); WorkerPoolTests covers the workers.
    private static VerifierProcessRunner Runner(TempFolder dir, int concurrency, TimeSpan timeout, params (string, string?)[] env) =>
        new(new VerifierExecutable(ToolPaths.SampleVerifiers), new VerifierRunnerOptions
        {
            Isolation = VerifierIsolation.Process,
            Concurrency = concurrency,
            Timeout = timeout,
            ConfigPath = ToolPaths.ArithConfig,
            WorkDirectory = dir.Combine("rollouts"),
            Environment = env.ToDictionary(e => e.Item1, e => e.Item2),
        });

    private static IEnumerable<string> Filter(IEnumerable<string> ids) => ids.SelectMany(id => new[] { "-trait", $"skillopt.task={id}" });

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
