using System.Text.Json;
using System.Text.RegularExpressions;
using SkillOpt.Build.Tests.Infrastructure;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Tests.Shared;

namespace SkillOpt.Build.Tests;

/// <summary>
/// `dotnet build -t:TrainSkills` on fresh verifier projects outside the repository that reference the packed packages,
/// against SimLab (simulated models): training, the up-to-date check, SkillOptForce, Ctrl+C, SIGTERM and resume, and
/// the errors users meet first.
/// </summary>
[Collection(MSBuildCollection.Name)]
public sealed partial class TrainSkillsTests(PackedPackages packages)
{
    [Fact]
    public async Task Trains_skips_when_up_to_date_forces_a_new_run_stops_cleanly_on_ctrl_c_and_sigterm_and_resumes()
    {
        var project = FreshProject.Create(packages, "train");

        // 1. Train: the project is built, the trainer runs against SimLab, the run folder holds the trained skill.
        var first = await project.TrainSkillsAsync();
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("SkillOpt: training skill 'math' of MathVerifiers.dll", first.Output);
        Assert.Contains("warning SKOPT2301: the target and optimizer models are SIMULATED", first.Output);
        Assert.Contains("skillopt: baseline: validation", first.Output);
        Assert.Contains("skillopt: completed: best validation", first.Output);
        Assert.Empty(first.DiagnosticLines("error", ""));
        var run = Assert.Single(Directory.GetDirectories(Path.Combine(project.Directory, ".skillopt", "runs"), "math-*"));
        Assert.Contains(run, first.Output);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))).RootElement;
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        var trained = File.ReadAllText(Path.Combine(run, "best_skill.md"));
        Assert.StartsWith("# Grade-school math", trained);
        var simulated = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "simulated.json"))).RootElement;
        Assert.True(simulated.GetProperty("simulated").GetBoolean());
        Assert.Equal("gsm8k", simulated.GetProperty("scenario").GetString());

        // The Skill item became [assembly: SkillDefinition("math", …)] and the project folder is recorded.
        var verifier = Path.Combine(project.Directory, "bin", "Debug", "net10.0", "MathVerifiers.dll");
        var declared = SkillProject.Read(verifier);
        Assert.Equal(project.Directory, declared.ProjectDirectory);
        var math = Assert.Single(declared.Skills);
        Assert.Equal("math", math.Name);
        Assert.Equal(Path.Combine(project.Directory, "skills", "math", "SKILL.md"), math.SkillFile);
        Assert.Equal(Path.Combine(project.Directory, "skills", "math", "skillopt.yaml"), math.ConfigFile);

        // 2. Nothing changed: skipped as up to date, the trainer does not run.
        var second = await project.TrainSkillsAsync();
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("SkillOpt: the skills of MathVerifiers are up to date", second.Output);
        Assert.DoesNotContain("skillopt:", second.Output);

        Assert.Contains("To train again from the start: -p:SkillOptForce=true", second.Output);

        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // 3. Force means force: the finished run folder is set aside and a new training starts from the baseline; it is
        //    interrupted with Ctrl+C (SIGINT to `dotnet build`) once the baseline is checkpointed: MSBuild cancels the
        //    task, the task asks the trainer to stop, the trainer checkpoints and exits.
        var interrupted = 0;
        var third = await project.TrainSkillsAsync((process, line) =>
        {
            if (line.Contains("skillopt: baseline:", StringComparison.Ordinal) && Interlocked.Exchange(ref interrupted, 1) == 0)
            {
                Dotnet.Interrupt(process);
            }
        }, "-p:SkillOptForce=true");
        Assert.True(interrupted == 1, third.ToString());
        Assert.True(third.ExitCode != 0, third.ToString());
        Assert.Contains($"SkillOpt: SkillOptForce: the previous run folder is kept as {run}.replaced-", third.Output);
        Assert.Single(Directory.GetDirectories(Path.GetDirectoryName(run)!, Path.GetFileName(run) + ".replaced-*"));
        Assert.DoesNotContain("skillopt: resuming", third.Output);
        Assert.Contains("skillopt: interrupted (stop requested through SKILLOPT_STOP_FILE)", third.Output);
        Assert.Contains("warning SKOPT2104: training was interrupted; the run folder keeps the last finished phase", third.Output);
        Assert.Contains("SkillOpt: cancelled; the trainer stopped", third.Output);
        Assert.DoesNotContain("completed: best validation", third.Output);
        Assert.Empty(third.DiagnosticLines("error", ""));
        Assert.DoesNotMatch(StackFrame(), third.Output);
        Assert.DoesNotContain("Exception", third.Output);
        Assert.True(CompletedPhases(run) >= 1);

        // 4. The same command without force resumes it. This time `dotnet build` runs as a background script starts it
        //    (SIGINT ignored) and gets SIGTERM, as CI runners cancel: the build ends at once, and the trainer, whose
        //    build is gone, stops by itself and keeps its checkpoint.
        var terminated = 0;
        var fourth = await project.TrainSkillsAsync(new TrainOptions
        {
            IgnoreInterrupts = true,
            OnLine = (process, line) =>
            {
                if (line.Contains("skillopt: resuming after phase", StringComparison.Ordinal) && Interlocked.Exchange(ref terminated, 1) == 0)
                {
                    Signals.Terminate(process);
                }
            },
        });
        // (The .NET SDK's `dotnet build` ends on SIGTERM without a word, and with exit code 0: nothing to assert there.)
        Assert.True(terminated == 1, fourth.ToString());
        Assert.DoesNotContain("skillopt: completed", fourth.Output);
        await Processes.WaitUntilNoneAsync(project.Directory, "skillopt.dll", TimeSpan.FromMinutes(2));
        Assert.NotEqual("completed", Status(run));

        // 5. Once more: it resumes and finishes.
        var fifth = await project.TrainSkillsAsync();
        Assert.True(fifth.ExitCode == 0, fifth.ToString());
        Assert.Contains("skillopt: resuming after phase", fifth.Output);
        Assert.DoesNotContain("skillopt: baseline:", fifth.Output);
        Assert.Contains("skillopt: completed: best validation", fifth.Output);
        // Every choice is seeded: the interrupted and resumed run ends where the uninterrupted one did.
        Assert.Equal(trained, File.ReadAllText(Path.Combine(run, "best_skill.md")));
    }

    private static int CompletedPhases(string run) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "runtime_state.json"))).RootElement.GetProperty("completed_phases").GetInt32();

    private static string? Status(string run) =>
        File.Exists(Path.Combine(run, "summary.json"))
            ? JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))).RootElement.GetProperty("status").GetString()
            : null;

    [Fact]
    public async Task A_missing_config_is_one_error_at_the_skill_item()
    {
        var project = FreshProject.Create(packages, "noconfig", skillItem: """<Skill Include="skills/math/SKILL.md" Config="skills/math/missing.yaml" />""");
        var outcome = await project.TrainSkillsAsync();
        Assert.True(outcome.ExitCode != 0, outcome.ToString());
        var error = Assert.Single(outcome.DiagnosticLines("error", ""));
        Assert.Matches($@"{Regex.Escape(project.ProjectFile)}\({project.SkillLine},\d+\): error SKOPT4003: the configuration file 'skills/math/missing.yaml' of the skill 'math' does not exist", error);
        Assert.DoesNotContain("skillopt:", outcome.Output);
    }

    [Fact]
    public async Task A_missing_skill_file_is_one_error_at_the_skill_item()
    {
        var project = FreshProject.Create(packages, "noskill", skillItem: """<Skill Include="skills/algebra/SKILL.md" Config="skills/math/skillopt.yaml" />""");
        var outcome = await project.TrainSkillsAsync();
        Assert.True(outcome.ExitCode != 0, outcome.ToString());
        var error = Assert.Single(outcome.DiagnosticLines("error", ""));
        Assert.Matches($@"{Regex.Escape(project.ProjectFile)}\({project.SkillLine},\d+\): error SKOPT4002: the skill file 'skills/algebra/SKILL.md' of the skill 'algebra' does not exist", error);
    }

    [Fact]
    public async Task A_verifier_that_does_not_compile_is_one_SKOPT_error_after_the_compiler_errors()
    {
        var project = FreshProject.Create(packages, "broken");
        File.WriteAllText(Path.Combine(project.Directory, "Broken.cs"), "namespace MathSkills;\n\npublic class Broken\n{\n    public int M() => 1 +;\n}\n");
        var outcome = await project.TrainSkillsAsync();
        Assert.True(outcome.ExitCode != 0, outcome.ToString());
        Assert.Contains(outcome.DiagnosticLines("error", "CS"), l => l.Contains("Broken.cs(5,", StringComparison.Ordinal));
        var error = Assert.Single(outcome.DiagnosticLines("error", "SKOPT"));
        Assert.Matches($@"{Regex.Escape(project.ProjectFile)}\({project.SkillLine},\d+\): error SKOPT4004: the verifier project did not build \(see the errors above\), so TrainSkills did not train the skill 'math'", error);
        Assert.DoesNotContain("skillopt:", outcome.Output);
    }

    [GeneratedRegex(@"(?m)^\S*\s+at [\w.`<>]+\(")]
    private static partial Regex StackFrame();
}
