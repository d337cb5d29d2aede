using System.Text.RegularExpressions;
using SkillOpt.Build.Tests.Infrastructure;

namespace SkillOpt.Build.Tests;

/// <summary>
/// A new user's first hour, out of process against the packed packages, in fresh folders outside the repository: a
/// verifier project made from exactly the README's project file, and one made by `dotnet new skillopt-verifiers`, run
/// their skill gate in `dotnet test` (and fail it after a hand edit of the skill); a skill whose gate does not run fails
/// the test run; the template trains offline and the skillopt tool, installed into a tool manifest, reviews and approves.
/// </summary>
[Collection(MSBuildCollection.Name)]
public sealed partial class FirstHourTests(PackedPackages packages)
{
    [Fact]
    public async Task A_project_from_the_README_runs_its_gate_and_fails_on_a_hand_edit_and_when_no_gate_ran()
    {
        var dir = ReadmeProject("readme");

        // 1. The approved skill passes: the gate ran (3 passed, the live check skipped), the skill tasks are left out;
        // 2. a hand edit of the skill fails the gate with its diagnostic and a diff.
        var pass = await PassesThenFailsAHandEdit(dir, Path.Combine(dir, "skills", "math", "SKILL.md"), "\n- Always answer 42.\n");
        Assert.Contains("SkillOpt: skill 'math': the skill gate ran 4 tests", pass.Output);
        Assert.Contains("MathSkillGate", pass.Output);
        Assert.DoesNotContain("GradeSchoolMath", pass.Output);

        // 3. No gate class (generation turned off, none written): not a vacuous pass but SKOPT3209 at the Skill item.
        var none = await Test(dir, "-p:SkillOptGenerateSkillGates=false");
        Assert.True(none.ExitCode != 0, none.ToString());
        var csproj = Path.Combine(dir, "Verifiers.csproj");
        var line = File.ReadAllLines(csproj).Select((l, i) => (l, i)).First(x => x.l.Contains("<Skill ", StringComparison.Ordinal)).i + 1;
        var error = Assert.Single(none.DiagnosticLines("error", "SKOPT"));
        Assert.Matches($@"{Regex.Escape(csproj)}\({line},\d+\): error SKOPT3209: dotnet test ran no skill gate test for the skill 'math'", error);

        // 4. Not run as a test project (what a project without a test adapter and test SDK was): SKOPT3209 too.
        var notRun = await Test(dir, "-p:IsTestProject=false");
        Assert.True(notRun.ExitCode != 0, notRun.ToString());
        Assert.Contains("error SKOPT3209", Assert.Single(notRun.DiagnosticLines("error", "SKOPT")));
    }

    [Fact]
    public async Task The_template_passes_its_gate_trains_offline_and_the_tool_reviews_and_approves()
    {
        var dir = await TemplateProject("Demo");
        Assert.True(File.Exists(Path.Combine(dir, "Demo.csproj")));
        Assert.Contains("*.received.*", File.ReadAllText(Path.Combine(dir, ".gitignore")));

        // 1. `dotnet test` right after `dotnet new`: the generated gate passes on the approved receipt and recording;
        // 2. a hand edit fails it.
        var skill = Path.Combine(dir, "skills", "units", "SKILL.md");
        var pass = await PassesThenFailsAHandEdit(dir, skill, "- [units] Multiply.\n");
        Assert.Contains("Demo.UnitsSkillGate", pass.Output);

        // 3. `dotnet build -t:TrainSkills` trains offline (scripted models) and leaves the result for approval.
        var train = await Dotnet.RunAsync(dir, packages.Environment, TimeSpan.FromMinutes(6), null, "build", "-t:TrainSkills", "--disable-build-servers", "-nologo");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("gate: accept", train.Output);
        Assert.Contains("skillopt: completed: best validation 1 (initial 0)", train.Output);
        Assert.True(File.Exists(Path.Combine(dir, "skills", "units", "SKILL.received.md")), train.ToString());
        // The hint names the command that works here: no tool is installed yet, so the package's trainer.
        Assert.Matches(@"approve with `dotnet exec \S+skillopt\.dll approve --skill-file ", train.Output);

        // 4. The skillopt tool in a tool manifest, from the package folder: --help, report, approve.
        Assert.Equal(0, (await Run(dir, "new", "tool-manifest")).ExitCode);
        var install = await Run(dir, "tool", "install", "SkillOpt.Tool", "--version", packages.Version);
        Assert.True(install.ExitCode == 0, install.ToString());
        var help = await Run(dir, "skillopt", "--help");
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("approve", help.Output);
        var report = await Run(dir, "skillopt", "report", "--skill-file", "skills/units/SKILL.md");
        Assert.True(report.ExitCode == 0, report.ToString());
        // With the tool in the manifest, the hints say `dotnet skillopt`.
        Assert.Contains("`dotnet skillopt approve --skill-file ", File.ReadAllText(Path.Combine(dir, ".skillopt", "reports", "units.md")));
        var approve = await Run(dir, "skillopt", "approve");
        Assert.True(approve.ExitCode == 0, approve.ToString());
        Assert.Contains("[units]", File.ReadAllText(skill));
        Assert.False(File.Exists(Path.Combine(dir, "skills", "units", "SKILL.received.md")));
    }

    /// <summary>`dotnet test` passes with the gate's 3 checks (the live one skipped); after appending <paramref name="edit"/> to the skill it fails with SKOPT3201 and the diff; the skill is then restored.</summary>
    private async Task<CommandOutcome> PassesThenFailsAHandEdit(string dir, string skill, string edit)
    {
        var pass = await Test(dir);
        Assert.True(pass.ExitCode == 0, pass.ToString());
        Assert.Matches(@"Passed!\s+-\s+Failed:\s+0, Passed:\s+3, Skipped:\s+1, Total:\s+4", pass.Output);
        var approved = File.ReadAllText(skill);
        File.AppendAllText(skill, edit);
        var edited = await Test(dir);
        Assert.True(edited.ExitCode != 0, edited.ToString());
        Assert.Contains("SKOPT3201", edited.Output);
        Assert.Contains("+" + edit.Trim(), edited.Output);
        File.WriteAllText(skill, approved);
        return pass;
    }

    private Task<CommandOutcome> Test(string dir, params string[] extra) =>
        Dotnet.RunAsync(dir, packages.Environment, TimeSpan.FromMinutes(8), null, ["test", "--disable-build-servers", "-nologo", .. extra]);

    private Task<CommandOutcome> Run(string dir, params string[] args) =>
        Dotnet.RunAsync(dir, packages.Environment, TimeSpan.FromMinutes(4), null, args);

    /// <summary>
    /// The README's project file, verbatim but for the package version, with the sample's verifier code, data and
    /// approved skill files (global usings for Xunit and SkillOpt.Testing in a source file, as a user would write them).
    /// </summary>
    private string ReadmeProject(string name)
    {
        var readme = File.ReadAllText(Repo.Path("README.md"));
        var section = readme[readme.IndexOf("## Write a verifier", StringComparison.Ordinal)..];
        var xml = ReadmeXml().Match(section).Groups[1].Value;
        Assert.Contains("<Skill Include=\"skills/math/SKILL.md\"", xml);
        var dir = Path.Combine(packages.Projects, name + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "Verifiers.csproj"),
            Regex.Replace(xml, @"(Include=""SkillOpt.Testing"" Version="")[^""]+", $"${{1}}{packages.Version}"));
        File.WriteAllText(Path.Combine(dir, "Usings.cs"), "global using Xunit;\nglobal using SkillOpt.Testing;\n");
        var sample = Repo.Path("samples", "MathSkills");
        foreach (var file in new[] { "MathProblem.cs", "GradeSchoolMath.cs", "data/gsm8k.jsonl", "skills/math/SKILL.md", "skills/math/skillopt.yaml", "skills/math/SKILL.receipt.json" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, file))!);
            File.Copy(Path.Combine(sample, file), Path.Combine(dir, file));
        }
        var recording = Path.Combine(dir, "skills", "math", "SKILL.recording");
        Directory.CreateDirectory(recording);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(sample, "skills", "math", "SKILL.recording")))
        {
            File.Copy(file, Path.Combine(recording, Path.GetFileName(file)));
        }
        packages.WriteNugetConfig(dir);
        return dir;
    }

    /// <summary>`dotnet new install` of the packed templates into a hive of this test run, then `dotnet new skillopt-verifiers`.</summary>
    private async Task<string> TemplateProject(string name)
    {
        var hive = Path.Combine(packages.Projects, "template-hive");
        var install = await Run(packages.Projects, "new", "install", Path.Combine(packages.Feed, $"SkillOpt.Templates.{packages.Version}.nupkg"), "--debug:custom-hive", hive);
        Assert.True(install.ExitCode == 0, install.ToString());
        var dir = Path.Combine(packages.Projects, "template-" + Guid.NewGuid().ToString("N")[..6]);
        var create = await Run(packages.Projects, "new", "skillopt-verifiers", "-n", name, "-o", dir, "--debug:custom-hive", hive);
        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Contains($"Include=\"SkillOpt.Testing\" Version=\"{packages.Version}\"", File.ReadAllText(Path.Combine(dir, name + ".csproj")));
        packages.WriteNugetConfig(dir);
        return dir;
    }

    [GeneratedRegex(@"```xml\n(<Project[\s\S]*?</Project>)\n```")]
    private static partial Regex ReadmeXml();
}
