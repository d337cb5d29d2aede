using System.Text.RegularExpressions;
using SkillOpt.SimLab;
using SkillOpt.Testing.Tests.Infrastructure;
using SkillOpt.Testing.Verifiers;

namespace SkillOpt.Testing.Tests.Gate;

/// <summary>The sample's "simmath" skill and its gate class (SimMathSkillGate), run as the sample verifier process.</summary>
internal static class SimMath
{
    public const string GateClass = "SkillOpt.SampleVerifiers.SimMathSkillGate";

    public static string Folder => Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "simmath");

    public static string Scenario => Path.Combine(Folder, "scenario.yaml");

    /// <summary>Copies the committed approved state (skill, receipt, recording, configuration) into <paramref name="dir"/>.</summary>
    public static string CopyApproved(TempFolder dir)
    {
        foreach (var file in new[] { "SKILL.md", "SKILL.receipt.json", "skillopt.yaml", "scenario.yaml" })
        {
            File.Copy(Path.Combine(Folder, file), dir.Combine(file));
        }
        Directory.CreateDirectory(dir.Combine("SKILL.recording"));
        foreach (var file in Directory.GetFiles(Path.Combine(Folder, "SKILL.recording")))
        {
            File.Copy(file, dir.Combine("SKILL.recording", Path.GetFileName(file)));
        }
        return dir.Combine("SKILL.md");
    }

    /// <summary>The environment that points the gate (and the verifier) at a copy in <paramref name="dir"/>.</summary>
    public static Dictionary<string, string?> At(TempFolder dir, params (string Key, string? Value)[] more)
    {
        var env = new Dictionary<string, string?>
        {
            [VerifierEnvironment.SkillFile] = dir.Combine("SKILL.md"),
            [VerifierEnvironment.Config] = dir.Combine("skillopt.yaml"),
        };
        foreach (var (k, v) in more)
        {
            env[k] = v;
        }
        return env;
    }

    /// <summary>Runs the sample's gate tests (all four, or those matching <paramref name="method"/>).</summary>
    public static Task<ProcessOutcome> GateAsync(IReadOnlyDictionary<string, string?>? env, string? method = null) =>
        Tool.VerifierAsync(env, method is null ? ["-class", GateClass, "-noColor"] : ["-class", GateClass, "-method", $"{GateClass}.{method}", "-noColor"]);

    /// <summary>The scenario file's text, optionally rewritten (a weaker simulated target).</summary>
    public static Scenario LoadScenario(Func<string, string>? change = null)
    {
        var text = File.ReadAllText(Scenario);
        return ScenarioLoader.Parse(change is null ? text : change(text), "scenario.yaml", Folder);
    }

    /// <summary>Makes the simulated target always fail the given tasks (flakiness 1 flips a sure success).</summary>
    public static string FailTasks(string scenario, params string[] ids) =>
        ids.Aggregate(scenario, (text, id) => Regex.Replace(text, $@"(  - \{{ id: {id},.*?) \}}\n", "$1, flakiness: 1.0 }\n"));

    /// <summary>The lines of the runner's output that belong to a test's failure message (after "[FAIL]").</summary>
    public static string Failure(ProcessOutcome run, string method)
    {
        var lines = run.Stdout.Split('\n');
        var start = Array.FindIndex(lines, l => l.Contains($"{GateClass}.{method} [FAIL]", StringComparison.Ordinal));
        if (start < 0)
        {
            return "";
        }
        var end = Array.FindIndex(lines, start + 1, l => l.Contains("Stack Trace:", StringComparison.Ordinal));
        return string.Join("\n", lines[(start + 1)..(end < 0 ? lines.Length : end)].Select(l => l.TrimEnd('\r')));
    }
}
