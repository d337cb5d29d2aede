namespace SkillOpt.Build.Tests.Infrastructure;

/// <summary>
/// A new verifier project in a temporary folder outside the repository, written as a user would write it: an xUnit v3
/// executable with a PackageReference to SkillOpt.Testing (from the packed folder), a <c>Skill</c> item, GSM8K rows
/// and the sample's verifier code.
/// </summary>
internal sealed class FreshProject
{
    /// <summary>Training settings small enough for a test: 1 epoch of two steps, no slow or meta update; SimLab models.</summary>
    public const string SmallConfig = """
        # A small training for the integration tests: SimLab's GSM8K scenario (SIMULATED models).
        seed: 1
        training:
          epochs: 1
          batch_size: 10
          minibatch_size: 5
          slow_update: { enabled: false }
          meta_skill: { enabled: false }
        rollouts:
          concurrency: 2
          timeout_seconds: 120
        splits: { train: 0.5, val: 0.25, test: 0.25 }
        models:
          target:    { provider: simlab, model: simlab-target }
          optimizer: { provider: simlab, model: simlab-optimizer }
        """;

    private FreshProject(string directory, PackedPackages packages)
    {
        Directory = directory;
        Packages = packages;
    }

    public string Directory { get; }

    public PackedPackages Packages { get; }

    public string ProjectFile => Path.Combine(Directory, "MathVerifiers.csproj");

    public string SkillItem { get; private set; } = "";

    /// <summary>Writes the project; <paramref name="skillItem"/> is the whole <c>&lt;Skill … /&gt;</c> element.</summary>
    public static FreshProject Create(PackedPackages packages, string name, int rows = 40,
        string skillItem = """<Skill Include="skills/math/SKILL.md" Config="skills/math/skillopt.yaml" />""")
    {
        var dir = Path.Combine(packages.Projects, name + "-" + Guid.NewGuid().ToString("N")[..6]);
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "data"));
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "skills", "math"));
        var project = new FreshProject(dir, packages) { SkillItem = skillItem };
        File.WriteAllText(project.ProjectFile, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <OutputType>Exe</OutputType>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="xunit.v3" Version="3.2.2" />
                <PackageReference Include="SkillOpt.Testing" Version="{packages.Version}" />
              </ItemGroup>
              <ItemGroup>
                {skillItem}
                <None Include="data/gsm8k.jsonl" CopyToOutputDirectory="PreserveNewest" />
              </ItemGroup>
              <ItemGroup>
                <Using Include="Xunit" />
                <Using Include="SkillOpt.Testing" />
              </ItemGroup>
            </Project>

            """);
        packages.WriteNugetConfig(dir);
        var sample = Repo.Path("samples", "MathSkills");
        File.Copy(Path.Combine(sample, "MathProblem.cs"), Path.Combine(dir, "MathProblem.cs"));
        File.Copy(Path.Combine(sample, "GradeSchoolMath.cs"), Path.Combine(dir, "GradeSchoolMath.cs"));
        File.WriteAllLines(Path.Combine(dir, "data", "gsm8k.jsonl"), File.ReadLines(Path.Combine(sample, "data", "gsm8k.jsonl")).Take(rows));
        File.Copy(Path.Combine(sample, "skills", "math", "SKILL.md"), Path.Combine(dir, "skills", "math", "SKILL.md"));
        File.WriteAllText(Path.Combine(dir, "skills", "math", "skillopt.yaml"), SmallConfig + "\n");
        return project;
    }

    /// <summary>The 1-based line of the <c>&lt;Skill</c> element in the project file.</summary>
    public int SkillLine => File.ReadAllLines(ProjectFile).Select((l, i) => (l, i)).First(x => x.l.Contains("<Skill ", StringComparison.Ordinal)).i + 1;

    /// <summary>Runs <c>dotnet build -t:TrainSkills {extra}</c> in the project folder (no build servers left behind).</summary>
    public Task<CommandOutcome> TrainSkillsAsync(Action<SkillOpt.Core.Processes.ChildProcess, string>? onLine = null, params string[] extra) =>
        TrainSkillsAsync(new TrainOptions { OnLine = onLine, Extra = extra });

    /// <summary>Runs <c>dotnet build -t:TrainSkills</c> as <paramref name="options"/> say.</summary>
    public Task<CommandOutcome> TrainSkillsAsync(TrainOptions options) =>
        Dotnet.RunAsync(Directory, Packages.Environment, TimeSpan.FromMinutes(6), options.OnLine, options.IgnoreInterrupts,
            ["build", "-t:TrainSkills", "--disable-build-servers", "-nologo", .. options.Extra]);
}

/// <summary>How <see cref="FreshProject.TrainSkillsAsync(TrainOptions)"/> runs the build.</summary>
internal sealed record TrainOptions
{
    /// <summary>Sees every output line and may act on the process.</summary>
    public Action<SkillOpt.Core.Processes.ChildProcess, string>? OnLine { get; init; }

    /// <summary>Start the build with SIGINT ignored, as a background script does.</summary>
    public bool IgnoreInterrupts { get; init; }

    /// <summary>More arguments.</summary>
    public string[] Extra { get; init; } = [];
}
