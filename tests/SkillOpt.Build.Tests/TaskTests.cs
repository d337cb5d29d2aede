using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using SkillOpt.Build.Tests.Infrastructure;

namespace SkillOpt.Build.Tests;

/// <summary>The tasks run in process against a fake build engine; the trainer they start is the real one.</summary>
public class TaskTests
{
    [Fact]
    public void The_trainers_diagnostics_become_errors_with_their_code_and_file()
    {
        using var dir = new TempFolder("skillopt-task-");
        var fake = dir.Combine("NotAnAssembly.dll");
        File.WriteAllText(fake, "not a PE file");
        var (task, engine) = Train(dir, fake);

        Assert.False(task.Execute(), engine.Log());
        var error = Assert.Single(engine.Errors);
        Assert.Equal("SKOPT2001", error.Code);
        Assert.Equal(fake, error.File);
        Assert.StartsWith("not a .NET assembly", error.Message);
        Assert.Contains(engine.Messages, m => m.Importance == MessageImportance.High && m.Message!.StartsWith("SkillOpt: training the declared skill of NotAnAssembly.dll", StringComparison.Ordinal));
        Assert.False(task.Trained);
    }

    [Fact]
    public void A_trainer_that_fails_without_a_diagnostic_is_SKOPT4001_with_its_last_output()
    {
        using var dir = new TempFolder("skillopt-task-");
        var verifier = dir.Combine("Verifier.dll");
        File.WriteAllText(verifier, "x");
        // Not an application: the .NET host fails with a message of its own, not a canonical diagnostic.
        var notAnApp = dir.Combine("NotAnApp.dll");
        File.WriteAllText(notAnApp, "x");
        var (task, engine) = Train(dir, verifier);
        task.TrainerPath = notAnApp;

        Assert.False(task.Execute(), engine.Log());
        var error = Assert.Single(engine.Errors);
        Assert.Equal("SKOPT4001", error.Code);
        Assert.Equal(dir.Combine("Verifiers.csproj"), error.File);
        Assert.Matches(@"^the skillopt trainer exited with code -?\d+ without reporting an error\. Its last output: .+", error.Message);
    }

    [Fact]
    public void A_missing_trainer_is_SKOPT4005()
    {
        using var dir = new TempFolder("skillopt-task-");
        var verifier = dir.Combine("Verifier.dll");
        File.WriteAllText(verifier, "x");
        var (task, engine) = Train(dir, verifier);
        task.TrainerPath = dir.Combine("tools", "skillopt.dll");

        Assert.False(task.Execute());
        var error = Assert.Single(engine.Errors);
        Assert.Equal("SKOPT4005", error.Code);
        Assert.Contains("SkillOptTrainerPath", error.Message);
    }

    [Fact]
    public void The_run_folder_changes_with_the_inputs_and_the_model_settings_only()
    {
        using var dir = new TempFolder("skillopt-task-");
        File.WriteAllText(dir.Combine("SKILL.md"), "# Skill\n");
        File.WriteAllText(dir.Combine("skillopt.yaml"), "seed: 1\n");
        File.WriteAllText(dir.Combine("Verifier.dll"), "v1");
        var (task, _) = Train(dir, dir.Combine("Verifier.dll"));
        task.RunDirectory = dir.Combine("runs");
        var skill = SkillItem(dir.Combine("SKILL.md"), "math", dir.Combine("skillopt.yaml"));

        var first = task.RunFolder(skill);
        Assert.Matches(@"/runs/math-[0-9a-f]{10}$", first.Replace('\\', '/'));
        Assert.Equal(first, task.RunFolder(skill));

        File.WriteAllText(dir.Combine("skillopt.yaml"), "seed: 2\n");
        var second = task.RunFolder(skill);
        Assert.NotEqual(first, second);

        File.WriteAllText(dir.Combine("Verifier.dll"), "v2");
        Assert.NotEqual(second, task.RunFolder(skill));
    }

    [Fact]
    public void Skill_items_are_checked_and_errors_point_at_their_element()
    {
        using var dir = new TempFolder("skillopt-task-");
        var project = dir.Combine("Verifiers.csproj");
        File.WriteAllText(project, """
            <Project Sdk="Microsoft.NET.Sdk">
              <ItemGroup>
                <Skill Include="skills/a/SKILL.md" />
                <Skill Include="skills/b/SKILL.md"
                       Name="a" />
                <Skill Include="skills/c/SKILL.md" Name="no spaces please" />
              </ItemGroup>
            </Project>
            """);
        Directory.CreateDirectory(dir.Combine("skills", "a"));
        File.WriteAllText(dir.Combine("skills", "a", "SKILL.md"), "# A\n");
        var engine = new FakeBuildEngine(project);
        var task = new SkillOptCheck
        {
            BuildEngine = engine,
            ProjectFile = project,
            Skills =
            [
                SkillItem(dir.Combine("skills", "a", "SKILL.md"), "a", null, "skills/a/SKILL.md", project),
                SkillItem(dir.Combine("skills", "b", "SKILL.md"), "a", null, "skills/b/SKILL.md", project),
                SkillItem(dir.Combine("skills", "c", "SKILL.md"), "no spaces please", null, "skills/c/SKILL.md", project),
            ],
        };

        Assert.False(task.Execute());
        Assert.Equal(2, engine.Errors.Count);
        Assert.All(engine.Errors, e => Assert.Equal(("SKOPT4006", project), (e.Code, e.File)));
        Assert.Equal((4, 5), (engine.Errors[0].LineNumber, engine.Errors[0].ColumnNumber));
        Assert.Contains("two <Skill> items are named 'a'", engine.Errors[0].Message);
        Assert.Equal(6, engine.Errors[1].LineNumber);
        Assert.Contains("the skill name 'no spaces please'", engine.Errors[1].Message);
    }

    [Fact]
    public void A_failed_verifier_build_is_reported_once_at_the_first_skill()
    {
        using var dir = new TempFolder("skillopt-task-");
        var project = dir.Combine("Verifiers.csproj");
        File.WriteAllText(project, "<Project>\n  <ItemGroup>\n    <Skill Include=\"skills/math/SKILL.md\" />\n  </ItemGroup>\n</Project>\n");
        var engine = new FakeBuildEngine(project);
        var task = new SkillOptCheck
        {
            BuildEngine = engine,
            ProjectFile = project,
            VerifierBuildFailed = true,
            Skills = [SkillItem(dir.Combine("skills", "math", "SKILL.md"), "math", null, "skills/math/SKILL.md", project)],
        };
        Assert.False(task.Execute());
        var error = Assert.Single(engine.Errors);
        Assert.Equal(("SKOPT4004", 3, 5), (error.Code, error.LineNumber, error.ColumnNumber));
    }

    [Fact]
    public void A_declared_skill_whose_gate_did_not_run_is_SKOPT3209_at_its_item()
    {
        using var dir = new TempFolder("skillopt-task-");
        var project = dir.Combine("Verifiers.csproj");
        File.WriteAllText(project, "<Project>\n  <ItemGroup>\n    <Skill Include=\"skills/a/SKILL.md\" />\n    <Skill Include=\"skills/b-2/SKILL.md\" />\n  </ItemGroup>\n</Project>\n");
        var records = dir.Combine("gate");
        Directory.CreateDirectory(Path.Combine(records, "a"));
        File.WriteAllText(Path.Combine(records, "a", "Skill_matches_its_receipt"), "ran\n");
        var engine = new FakeBuildEngine(project);
        var task = new SkillOptCheck
        {
            BuildEngine = engine,
            ProjectFile = project,
            GateRecords = records,
            SkillTasksFiltered = true,
            Skills =
            [
                SkillItem(dir.Combine("skills", "a", "SKILL.md"), "a", null, "skills/a/SKILL.md", project),
                SkillItem(dir.Combine("skills", "b-2", "SKILL.md"), "b-2", null, "skills/b-2/SKILL.md", project),
            ],
        };

        Assert.False(task.Execute());
        var error = Assert.Single(engine.Errors);
        Assert.Equal(("SKOPT3209", project, 4, 5), (error.Code, error.File, error.LineNumber, error.ColumnNumber));
        Assert.StartsWith("dotnet test ran no skill gate test for the skill 'b-2'", error.Message);
        Assert.Contains("public sealed class B_2SkillGate() : SkillGateTests(\"b-2\");", error.Message);
        Assert.Contains(engine.Messages, m => m.Message!.StartsWith("SkillOpt: skill 'a': the skill gate ran 1 test (Skill_matches_its_receipt); its tasks", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("math", "MathSkillGate")]
    [InlineData("grade-school.v2", "Grade_school_v2SkillGate")]
    [InlineData("3d", "Skill3dSkillGate")]
    public void Gate_class_names_follow_the_generated_ones(string skill, string expected) =>
        Assert.Equal(expected, SkillOptCheck.GateClass(skill));

    [Fact]
    public void The_trainer_command_line_quotes_paths_with_spaces()
    {
        using var dir = new TempFolder("skillopt-task-");
        var (task, _) = Train(dir, "/tmp/my verifiers/Verifiers.dll");
        task.TrainerPath = "/pkg/tools/skillopt.dll";
        task.AutoApprove = true;
        var skill = SkillItem("/tmp/my verifiers/skills/math/SKILL.md", "math", "/tmp/my verifiers/skills/math/skillopt.yaml");

        Assert.Equal(
            "exec /pkg/tools/skillopt.dll train --verifier \"/tmp/my verifiers/Verifiers.dll\" --skill math --skill-file \"/tmp/my verifiers/skills/math/SKILL.md\" "
            + "--config \"/tmp/my verifiers/skills/math/skillopt.yaml\" --run \"/tmp/my runs/math-1\" --approve",
            task.Arguments(skill, "math", "/tmp/my runs/math-1"));
    }

    [Fact]
    public void A_stop_file_stops_the_training_with_SKOPT4007()
    {
        using var dir = new TempFolder("skillopt-task-");
        var verifier = dir.Combine("Verifier.dll");
        File.WriteAllText(verifier, "x");
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }
        // A stand-in .NET host that plays a trainer seeing its stop file: it creates the file, says so, and exits with 130.
        var (task, engine) = Train(dir, verifier);
        var host = dir.Combine("fake-dotnet");
        File.WriteAllText(host, $"#!/bin/sh\nmkdir -p \"$(dirname \"$SKILLOPT_STOP_FILE\")\"\ntouch \"$SKILLOPT_STOP_FILE\"\necho 'skillopt: interrupted (stop requested through SKILLOPT_STOP_FILE)'\nexit 130\n");
        File.SetUnixFileMode(host, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        task.DotnetHost = host;
        Assert.False(task.Execute(), engine.Log());
        var error = Assert.Single(engine.Errors);
        Assert.True(error.Code == "SKOPT4007", error.Message);
        Assert.Contains("training stopped on request", error.Message);
        Assert.False(File.Exists(task.StopFile), "the stop file is removed");
    }

    private static (SkillOptTrain Task, FakeBuildEngine Engine) Train(TempFolder dir, string verifier)
    {
        var project = dir.Combine("Verifiers.csproj");
        var engine = new FakeBuildEngine(project);
        return (new SkillOptTrain
        {
            BuildEngine = engine,
            TrainerPath = Repo.Trainer,
            VerifierAssembly = verifier,
            ProjectFile = project,
            RunDirectory = dir.Combine("runs"),
            StopFile = dir.Combine("obj", "stop"),
        }, engine);
    }

    private static TaskItem SkillItem(string fullPath, string name, string? config, string? spec = null, string? definedIn = null)
    {
        var item = new TaskItem(spec ?? fullPath);
        item.SetMetadata("Name", name);
        if (config is not null)
        {
            item.SetMetadata("Config", config);
            item.SetMetadata("ConfigFullPath", config);
        }
        if (definedIn is not null)
        {
            item.SetMetadata("DefinedIn", definedIn);
        }
        return item;
    }
}
