using System.Reflection;

namespace SkillOpt.Testing.Gate;

/// <summary>
/// How to start the <c>skillopt</c> command in the hints that messages give ("approve with …"), so that the printed
/// command works as printed from the project folder:
/// <list type="number">
/// <item><c>dotnet skillopt</c> when a .NET tool manifest (<c>.config/dotnet-tools.json</c> or <c>dotnet-tools.json</c>)
/// in the folder or a parent folder lists the <c>skillopt</c> command (the local tool);</item>
/// <item><c>skillopt</c> when it is on the <c>PATH</c> (the global tool);</item>
/// <item>else <c>dotnet exec "&lt;path&gt;/skillopt.dll"</c>: the trainer that runs (or that the verifier project's
/// package brings, assembly metadata <c>SkillOpt.TrainerPath</c>);</item>
/// <item>else <c>skillopt</c>.</item>
/// </list>
/// </summary>
internal static class SkillOptCommand
{
    /// <summary>The assembly metadata key, written by the package's build targets, that names the package's <c>skillopt.dll</c>.</summary>
    public const string TrainerPathKey = "SkillOpt.TrainerPath";

    /// <summary>The command that starts <c>skillopt</c>, e.g. <c>dotnet skillopt</c>.</summary>
    /// <param name="folder">The folder the user runs it from (the project folder); <see langword="null"/>: the current directory.</param>
    /// <param name="trainer">The trainer's <c>skillopt.dll</c>, when known.</param>
    public static string Prefix(string? folder, string? trainer)
    {
        if (InToolManifest(folder ?? Environment.CurrentDirectory))
        {
            return "dotnet skillopt";
        }
        if (OnPath())
        {
            return "skillopt";
        }
        return !string.IsNullOrWhiteSpace(trainer) && File.Exists(trainer) ? $"dotnet exec {Quote(Path.GetFullPath(trainer))}" : "skillopt";
    }

    /// <summary>The command prefix inside the trainer (its own <c>skillopt.dll</c> is the fallback).</summary>
    public static string ForTrainer() =>
        Prefix(null, Assembly.GetEntryAssembly() is { } entry && entry.GetName().Name == "skillopt" ? entry.Location : null);

    /// <summary>The command prefix for a verifier assembly's messages (the skill gate): from its project folder, with the package's trainer as the fallback.</summary>
    /// <param name="verifier">The verifier assembly.</param>
    /// <param name="projectDirectory">Its project folder, when known.</param>
    public static string ForVerifier(Assembly? verifier, string? projectDirectory)
    {
        var trainer = verifier?.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == TrainerPathKey)?.Value;
        return Prefix(projectDirectory, trainer);
    }

    /// <summary>Quotes a path that holds a space.</summary>
    /// <param name="path">A path.</param>
    public static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? $"\"{path}\"" : path;

    private static bool InToolManifest(string folder)
    {
        try
        {
            for (var dir = new DirectoryInfo(Path.GetFullPath(folder)); dir is not null; dir = dir.Parent)
            {
                foreach (var manifest in new[] { Path.Combine(dir.FullName, ".config", "dotnet-tools.json"), Path.Combine(dir.FullName, "dotnet-tools.json") })
                {
                    if (File.Exists(manifest) && Lists(manifest))
                    {
                        return true;
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return false;
    }

    private static bool Lists(string manifest)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(manifest));
            if (!doc.RootElement.TryGetProperty("tools", out var tools) || tools.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                return false;
            }
            foreach (var tool in tools.EnumerateObject())
            {
                if (tool.Value.TryGetProperty("commands", out var commands) && commands.ValueKind == System.Text.Json.JsonValueKind.Array
                    && commands.EnumerateArray().Any(c => c.GetString() == "skillopt"))
                {
                    return true;
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }
        return false;
    }

    private static bool OnPath()
    {
        var names = OperatingSystem.IsWindows() ? new[] { "skillopt.exe", "skillopt.cmd" } : new[] { "skillopt" };
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                if (names.Any(n => File.Exists(Path.Combine(dir.Trim(), n))))
                {
                    return true;
                }
            }
            catch (ArgumentException)
            {
            }
        }
        return false;
    }
}
