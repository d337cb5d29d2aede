using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace SkillOpt.Build;

/// <summary>
/// Checks the <c>Skill</c> items of a verifier project before training (their names, skill files and configuration
/// files), or, with <see cref="VerifierBuildFailed"/>, reports that the verifier project did not build. Every error
/// points at the <c>&lt;Skill&gt;</c> element that declares the skill (file, line and column).
/// </summary>
public sealed class SkillOptCheck : Task
{
    private static readonly Regex ValidName = new("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant);

    /// <summary>The verifier project file.</summary>
    [Required]
    public string ProjectFile { get; set; } = "";

    /// <summary>
    /// The resolved skills: item spec as written, metadata <c>Name</c>, <c>FullPath</c>, <c>Config</c> (as written),
    /// <c>ConfigFullPath</c> and <c>DefinedIn</c> (the file that declares the item).
    /// </summary>
    public ITaskItem[] Skills { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>True to report that the verifier project did not build (nothing else is checked).</summary>
    public bool VerifierBuildFailed { get; set; }

    /// <summary>
    /// After <c>dotnet test</c>: the folder where the skill gate records the gate tests it ran (one sub-folder per skill,
    /// one file per test; <c>AssemblyMetadata SkillOpt.GateRecords</c>). When set, only this is checked: every skill
    /// must have run at least one gate test, else SKOPT3209 at its <c>Skill</c> item.
    /// </summary>
    public string GateRecords { get; set; } = "";

    /// <summary>With <see cref="GateRecords"/>: true when <c>dotnet test</c> left the skill tasks out (the default filter).</summary>
    public bool SkillTasksFiltered { get; set; }

    /// <summary><c>$(TargetFramework)</c> of the project.</summary>
    public string TargetFramework { get; set; } = "";

    /// <summary><c>$(TargetFrameworks)</c> of the project.</summary>
    public string TargetFrameworks { get; set; } = "";

    /// <inheritdoc/>
    public override bool Execute()
    {
        if (VerifierBuildFailed)
        {
            var names = string.Join(", ", Skills.Select(s => "'" + s.GetMetadata("Name") + "'"));
            var (file, line, column) = Skills.Length > 0 ? Where(Skills[0], 0) : Root();
            Log.LogError(null, BuildDiagnostics.VerifierBuildFailed, null, file, line, column, 0, 0,
                "the verifier project did not build (see the errors above), so TrainSkills did not train "
                + (Skills.Length > 0 ? "the skill" + (Skills.Length > 1 ? "s " : " ") + names : "its skills")
                + "; fix the build and run it again");
            return false;
        }

        if (!string.IsNullOrWhiteSpace(GateRecords))
        {
            return CheckGateRan();
        }

        if (string.IsNullOrEmpty(TargetFramework) && !string.IsNullOrWhiteSpace(TargetFrameworks))
        {
            var (file, line, column) = Root();
            Log.LogError(null, BuildDiagnostics.InvalidSkillItem, null, file, line, column, 0, 0,
                $"TrainSkills needs one target framework, but the project targets several ({TargetFrameworks.Trim()}): pass one, e.g. -p:TargetFramework={TargetFrameworks.Split(';').First(f => f.Trim().Length > 0).Trim()}");
            return false;
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Skills.Length; i++)
        {
            var skill = Skills[i];
            var name = skill.GetMetadata("Name");
            var (file, line, column) = Where(skill, i);
            if (!ValidName.IsMatch(name))
            {
                Log.LogError(null, BuildDiagnostics.InvalidSkillItem, null, file, line, column, 0, 0,
                    $"the skill name '{name}' of <Skill Include=\"{skill.ItemSpec}\"> is invalid: use a letter or digit, then up to 63 ASCII letters, digits, '.', '_' or '-' (set Name=\"…\" on the item; it defaults to the skill file's folder name)");
                continue;
            }
            if (seen.ContainsKey(name))
            {
                Log.LogError(null, BuildDiagnostics.InvalidSkillItem, null, file, line, column, 0, 0,
                    $"two <Skill> items are named '{name}': give each skill its own Name");
                continue;
            }
            seen[name] = i;
            var fullPath = ProjectPaths.Full(skill, ProjectFile);
            if (!File.Exists(fullPath))
            {
                Log.LogError(null, BuildDiagnostics.SkillFileMissing, null, file, line, column, 0, 0,
                    $"the skill file '{skill.ItemSpec}' of the skill '{name}' does not exist ({fullPath}): create it (the initial skill, Markdown) or fix the Include path");
                continue;
            }
            var config = skill.GetMetadata("Config");
            var configFull = skill.GetMetadata("ConfigFullPath");
            if (!string.IsNullOrWhiteSpace(config) && !File.Exists(configFull))
            {
                Log.LogError(null, BuildDiagnostics.ConfigMissing, null, file, line, column, 0, 0,
                    $"the configuration file '{config}' of the skill '{name}' does not exist ({configFull}): create it (see docs/configuration.md) or fix the Config path");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private bool CheckGateRan()
    {
        for (var i = 0; i < Skills.Length; i++)
        {
            var name = Skills[i].GetMetadata("Name");
            var folder = Path.Combine(GateRecords, name);
            var ran = Directory.Exists(folder) ? Directory.GetFiles(folder).Select(Path.GetFileName).OrderBy(f => f, StringComparer.Ordinal).ToList() : new List<string?>();
            if (ran.Count == 0)
            {
                var (file, line, column) = Where(Skills[i], i);
                Log.LogError(null, BuildDiagnostics.GateDidNotRun, null, file, line, column, 0, 0,
                    $"dotnet test ran no skill gate test for the skill '{name}', so nothing checked it: the project must be a test project (IsTestProject, the xunit.runner.visualstudio adapter; both come with SkillOpt.Testing), "
                    + "and the gate class must exist (generated from the Skill item unless SkillOptGenerateSkillGates=false; then write `public sealed class "
                    + GateClass(name) + "() : SkillGateTests(\"" + name + "\");`). Under Microsoft.Testing.Platform's dotnet test this check does not run (see docs/msbuild.md)");
                continue;
            }
            Log.LogMessage(MessageImportance.High,
                $"SkillOpt: skill '{name}': the skill gate ran {ran.Count} test{(ran.Count == 1 ? "" : "s")} ({string.Join(", ", ran)})"
                + (SkillTasksFiltered ? "; its tasks ([SkillFact]/[SkillTheory]) are not run by dotnet test, where they would call the model (the gate replays the test split; SKILLOPT_VERIFIERS=1 runs them)" : ""));
        }
        return !Log.HasLoggedErrors;
    }

    /// <summary>The class the package's targets generate for a skill: <c>math</c> → <c>MathSkillGate</c> (see SkillOpt.Testing.targets).</summary>
    internal static string GateClass(string skill)
    {
        var name = Regex.Replace(skill, "[^A-Za-z0-9]", "_");
        name = name.Length == 0 ? name : char.ToUpperInvariant(name[0]) + name.Substring(1);
        return (name.Length > 0 && char.IsDigit(name[0]) ? "Skill" : "") + name + "SkillGate";
    }

    private (string File, int Line, int Column) Where(ITaskItem skill, int index)
    {
        var definedIn = skill.GetMetadata("DefinedIn");
        var file = string.IsNullOrEmpty(definedIn) ? ProjectFile : definedIn;
        var ordinal = Skills.Take(index).Count(s => string.Equals(s.GetMetadata("DefinedIn"), definedIn, StringComparison.OrdinalIgnoreCase));
        var (line, column) = ProjectLocations.Find(file, "Skill", skill.ItemSpec, ordinal);
        return (file, line, column);
    }

    private (string File, int Line, int Column) Root()
    {
        var (line, column) = ProjectLocations.Root(ProjectFile);
        return (ProjectFile, line, column);
    }
}
