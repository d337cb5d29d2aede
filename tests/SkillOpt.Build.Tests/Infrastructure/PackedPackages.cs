namespace SkillOpt.Build.Tests.Infrastructure;

/// <summary>
/// The packages, packed once per test run from the already built projects (<c>dotnet pack --no-build</c>, so that
/// nothing the other tests run is rebuilt) into a temporary folder, with a version of their own
/// (<c>0.1.0-test.…</c>) and an isolated NuGet packages folder: a repack never meets a stale copy in NuGet's caches.
/// </summary>
public sealed class PackedPackages : IAsyncLifetime
{
    private readonly TempFolder _root = new("skillopt-build-tests-");

    public string Version { get; } = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Random.Shared.Next(1000, 9999)}";

    /// <summary>The folder the packages are packed into (a package source of the fresh projects).</summary>
    public string Feed => _root.Combine("feed");

    /// <summary>The NuGet global packages folder of the fresh projects' builds.</summary>
    public string PackagesFolder => _root.Combine("nuget-packages");

    /// <summary>The machine's global packages folder, used read-only as a fallback (no network for what the repository already restored).</summary>
    public string? MachinePackagesFolder { get; } = FindMachinePackages();

    /// <summary>Folder for the fresh projects.</summary>
    public string Projects => _root.Combine("projects");

    /// <summary>Environment of every <c>dotnet</c> command run on a fresh project.</summary>
    public IReadOnlyDictionary<string, string?> Environment => new Dictionary<string, string?> { ["NUGET_PACKAGES"] = PackagesFolder };

    public CommandOutcome? Pack { get; private set; }

    /// <summary>Writes the <c>nuget.config</c> of a fresh project: the packed folder as its source, the machine's packages as a fallback.</summary>
    public void WriteNugetConfig(string projectDirectory)
    {
        var fallback = MachinePackagesFolder is { } m ? $"""<fallbackPackageFolders><add key="machine" value="{m}" /></fallbackPackageFolders>""" : "";
        File.WriteAllText(Path.Combine(projectDirectory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="skillopt-packed" value="{Feed}" />
              </packageSources>
              {fallback}
            </configuration>

            """);
    }

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        Directory.CreateDirectory(Projects);
        Pack = await Dotnet.RunAsync(Repo.Root, Environment, TimeSpan.FromMinutes(5), null,
            "pack", Repo.Path("src", "SkillOpt.Testing", "SkillOpt.Testing.csproj"), "-c", Repo.Configuration, "--no-build",
            "-o", Feed, $"-p:PackageVersion={Version}", "--disable-build-servers", "-nologo");
        if (Pack.ExitCode != 0)
        {
            throw new InvalidOperationException("dotnet pack failed:\n" + Pack);
        }
    }

    public ValueTask DisposeAsync()
    {
        _root.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string? FindMachinePackages()
    {
        var configured = System.Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        var folder = !string.IsNullOrWhiteSpace(configured) ? configured
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Directory.Exists(folder) ? folder : null;
    }
}

[CollectionDefinition(Name)]
public sealed class MSBuildCollection : ICollectionFixture<PackedPackages>
{
    /// <summary>The integration tests run one after another: each builds projects and trains on the machine's cores.</summary>
    public const string Name = "MSBuild integration";
}
