using System.Text.RegularExpressions;
using SkillOpt.Testing.Tests.Infrastructure;

namespace SkillOpt.Testing.Tests;

/// <summary>
/// SimLab on tasks it does not know: the sample's "simmath" skill asks word problems of its own scenario file, while the
/// trainer, for a role with <c>provider: simlab</c> and no endpoint, hosts SimLab's default scenario (gsm8k), which knows
/// none of them.
/// </summary>
public class SimLabUnknownTasksTests
{
    private static readonly string Verifier = ToolPaths.SampleVerifiers;

    /// <summary><c>skillopt COMMAND --verifier … --skill simmath ARGS</c>: a whole training (baseline, a step, the receipt) can take more than the 90 s of <c>Tool.SkilloptAsync</c> on a loaded machine.</summary>
    internal static Task<ProcessOutcome> SkilloptAsync(TempFolder dir, IReadOnlyDictionary<string, string?>? environment, string command, params string[] args) =>
        Tool.RunAsync(ToolPaths.Trainer, dir.Path, environment, TimeSpan.FromMinutes(10), null, [command, "--verifier", Verifier, "--skill", "simmath", .. args]);

    internal static string SimMathSkill(TempFolder dir)
    {
        var copy = dir.Combine("SKILL.md");
        File.Copy(Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "simmath", "SKILL.md"), copy, overwrite: true);
        return copy;
    }

    [Fact]
    public async Task Training_and_evaluating_on_tasks_the_scenario_does_not_know_stop_with_a_coded_error()
    {
        using var dir = new TempFolder();
        var skill = SimMathSkill(dir);
        var train = await SkilloptAsync(dir, null, "train", "--skill-file", skill, "--run", "run");
        Assert.True(train.ExitCode == 1, train.ToString());
        Assert.Matches(@"skillopt\.yaml : error SKOPT2302: the simulated target was asked a task that SimLab's 'gsm8k' scenario does not know \(""[^""]+""\)", train.Stderr);
        Assert.Contains("SimLab simulates only the 800 tasks of its scenario", train.Stderr);
        Assert.Contains("To train for real, configure the target and optimizer providers", train.Stderr);
        Assert.Contains("describe their tasks in a SimLab scenario file and set SKILLOPT_SIMLAB_SCENARIO to it", train.Stderr);
        Assert.Contains("set SKILLOPT_SIMLAB_UNKNOWN_TASKS=warn", train.Stderr);
        Assert.DoesNotContain("SKOPT2104", train.Stderr); // an error, not an interruption
        Assert.DoesNotContain("completed:", train.Stdout);
        Assert.False(File.Exists(dir.Combine("SKILL.received.md")));

        var eval = await SkilloptAsync(dir, null, "eval", "--skill-file", skill, "--out", "eval");
        Assert.True(eval.ExitCode == 1, eval.ToString());
        Assert.Contains("error SKOPT2302:", eval.Stderr);
        Assert.False(File.Exists(dir.Combine("eval", "evaluation.json")));

        var bad = await SkilloptAsync(dir, new Dictionary<string, string?> { ["SKILLOPT_SIMLAB_UNKNOWN_TASKS"] = "maybe" }, "eval", "--skill-file", skill, "--out", "eval");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("error SKOPT2008: SKILLOPT_SIMLAB_UNKNOWN_TASKS must be 'error' or 'warn', not 'maybe'", bad.Stderr);
    }

    [Fact]
    public async Task With_warn_the_run_goes_on_and_warns_once_with_the_share_of_unknown_tasks()
    {
        using var dir = new TempFolder();
        var train = await SkilloptAsync(dir, new Dictionary<string, string?> { ["SKILLOPT_SIMLAB_UNKNOWN_TASKS"] = "warn" }, "train", "--skill-file", SimMathSkill(dir), "--run", "run");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("skillopt: baseline: validation 0 on", train.Stdout); // every unknown task is answered as a failure
        var warning = Assert.Single(Regex.Matches(train.Stderr, @"warning SKOPT2303: [^\n]+"));
        Assert.Matches(@"SKOPT2303: (\d+) of the \1 tasks the simulated target was asked \(100%; \d+ calls\) are unknown to SimLab's 'gsm8k' scenario and were answered as failures", warning.Value);
        Assert.Contains("set SKILLOPT_SIMLAB_SCENARIO to it", warning.Value);
        Assert.DoesNotContain("SKOPT2302", train.Stderr);
    }

    [Fact]
    public async Task A_scenario_file_of_the_verifiers_own_tasks_trains_them_offline()
    {
        // the way docs/verifiers.md ("Trying the loop offline") shows: SimLab knows the tasks its scenario file lists
        using var dir = new TempFolder();
        var scenario = Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "simmath", "scenario.yaml");
        var train = await SkilloptAsync(dir, new Dictionary<string, string?> { ["SKILLOPT_SIMLAB_SCENARIO"] = scenario }, "train", "--skill-file", SimMathSkill(dir), "--run", "run");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("SimLab's 'simmath' scenario answers on", train.Stderr);
        Assert.DoesNotContain("SKOPT2302", train.Stderr);
        Assert.DoesNotContain("SKOPT2303", train.Stderr);
        Assert.Matches(@"skillopt: baseline: validation (0\.\d+|1) on 10 tasks", train.Stdout);
        Assert.DoesNotContain("baseline: validation 0 on", train.Stdout);
    }

    [Fact]
    public async Task A_scenario_that_cannot_be_used_is_SKOPT2304_as_documented()
    {
        using var dir = new TempFolder();
        var skill = SimMathSkill(dir);
        var unknown = await SkilloptAsync(dir, new Dictionary<string, string?> { ["SKILLOPT_SIMLAB_SCENARIO"] = "nosuch" }, "train", "--skill-file", skill, "--run", "run");
        Assert.True(unknown.ExitCode == 1, unknown.ToString());
        Assert.Contains("error SKOPT2304: SKILLOPT_SIMLAB_SCENARIO='nosuch': no scenario file at this path and no built-in scenario of this name (built-in: ", unknown.Stderr);
        Assert.DoesNotContain("SKOPT2008", unknown.Stderr);

        var file = dir.Combine("bad-scenario.yaml");
        File.WriteAllText(file, "name: bad\nseed: [1\n");
        var invalid = await SkilloptAsync(dir, new Dictionary<string, string?> { ["SKILLOPT_SIMLAB_SCENARIO"] = file }, "train", "--skill-file", skill, "--run", "run");
        Assert.True(invalid.ExitCode == 1, invalid.ToString());
        Assert.Matches(@"bad-scenario\.yaml\(\d+,\d+\): error SKOPT2304: .*SKILLOPT_SIMLAB_SCENARIO names this file", invalid.Stderr);
        Assert.DoesNotContain("SKOPT2008", invalid.Stderr);
    }
}
