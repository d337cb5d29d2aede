using System.Text.Json;
using SkillOpt.Core.Processes;
using SkillOpt.Testing.Sdk;

namespace SkillOpt.Testing.Verifiers;

/// <summary>One task as the verifier lists it.</summary>
/// <param name="TaskId">Stable task id (trait <c>skillopt.task</c>).</param>
/// <param name="Skill">Skill name (trait <c>skillopt.skill</c>).</param>
/// <param name="Split">Split (trait <c>skillopt.split</c>).</param>
/// <param name="DisplayName">xUnit display name.</param>
internal sealed record VerifierTask(string TaskId, string Skill, string Split, string DisplayName);

/// <summary>Listing the verifier's tasks failed.</summary>
/// <param name="message">Why.</param>
internal sealed class VerifierListingException(string message) : Exception(message);

/// <summary>
/// A verifier test executable (an xUnit v3 test project's output): how to start it (<c>dotnet &lt;assembly&gt;</c> with the
/// same .NET host as the trainer, or its apphost), and its task list (<c>-list full/json</c>).
/// </summary>
internal sealed class VerifierExecutable
{
    /// <summary>Opens the verifier at <paramref name="path"/> (its <c>.dll</c>, or its apphost next to the <c>.dll</c>).</summary>
    /// <param name="path">Path of the verifier assembly or apphost.</param>
    /// <exception cref="FileNotFoundException">Neither the file nor its assembly exists, or the path is a folder.</exception>
    /// <exception cref="BadImageFormatException">The file is not a .NET assembly (another kind of file, or a native binary); the message starts with <c>not a .NET assembly</c>.</exception>
    public VerifierExecutable(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) && full.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            AssemblyPath = full;
        }
        else
        {
            var dll = Path.ChangeExtension(full.EndsWith(".exe", StringComparison.OrdinalIgnoreCase) ? full : full + ".x", ".dll");
            if (!File.Exists(dll))
            {
                throw System.IO.Directory.Exists(full)
                    ? new FileNotFoundException($"The verifier path {full} is a folder, not the verifier's .dll (pass the .dll the verifier project builds, e.g. bin/Release/net10.0/<Project>.dll).", full)
                    : File.Exists(full)
                        ? new BadImageFormatException($"not a .NET assembly: {full} is a file of another kind, not the verifier's .dll (pass the .dll the verifier project builds).", full)
                        : new FileNotFoundException($"The verifier assembly does not exist: {full} (build the verifier project first; pass its .dll).", full);
            }
            AssemblyPath = dll;
        }
        Directory = Path.GetDirectoryName(AssemblyPath)!;
        try
        {
            Project = SkillProject.Read(AssemblyPath);
        }
        catch (BadImageFormatException ex)
        {
            throw new BadImageFormatException($"not a .NET assembly: {AssemblyPath} ({ex.Message}); pass the .dll the verifier project builds.", AssemblyPath, ex);
        }
    }

    /// <summary>Absolute path of the verifier assembly.</summary>
    public string AssemblyPath { get; }

    /// <summary>Folder of the verifier (the working directory of its processes).</summary>
    public string Directory { get; }

    /// <summary>The skills the assembly declares.</summary>
    public SkillProject Project { get; }

    /// <summary>The .NET host the verifier runs under: <c>DOTNET_HOST_PATH</c>, else this process's host when it is <c>dotnet</c>, else <c>DOTNET_ROOT</c>, else <c>dotnet</c> on the PATH.</summary>
    public static string DotnetHost { get; } = FindHost();

    /// <summary>
    /// Describes a verifier process (not started): <c>dotnet exec &lt;assembly&gt; {arguments}</c> in the verifier's folder,
    /// <c>NO_COLOR=1</c> and <c>DOTNET_TieredPGO=0</c> (unless set here) under <paramref name="environment"/>.
    /// </summary>
    /// <param name="arguments">Arguments for the test executable.</param>
    /// <param name="environment">Variables to set (a <see langword="null"/> value removes one).</param>
    /// <param name="onStdout">Receives each line of standard output.</param>
    /// <param name="onStderr">Receives each line of standard error.</param>
    public ChildProcess Process(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment, Action<string>? onStdout = null, Action<string>? onStderr = null) =>
        new(Start(arguments, environment, onStdout, onStderr));

    private ChildProcessStart Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment, Action<string>? onStdout, Action<string>? onStderr)
    {
        // Colour codes would pollute the JSON lines.
        var variables = new List<KeyValuePair<string, string?>> { new("NO_COLOR", "1") };
        // Verifier processes live for seconds: dynamic PGO's instrumentation costs more start-up time than it gains
        // (about 10% of a process's CPU time in bench/RolloutBench). A value set by the user wins.
        if (string.IsNullOrEmpty(System.Environment.GetEnvironmentVariable("DOTNET_TieredPGO")))
        {
            variables.Add(new("DOTNET_TieredPGO", "0"));
        }
        variables.AddRange(environment);
        return new ChildProcessStart
        {
            FileName = DotnetHost,
            Arguments = ["exec", AssemblyPath, .. arguments],
            WorkingDirectory = Directory,
            Environment = variables,
            OnStdout = onStdout,
            OnStderr = onStderr,
        };
    }

    /// <summary>Lists the verifier's skill tasks (<c>-list full/json</c>), optionally only those of <paramref name="skill"/>.</summary>
    /// <param name="environment">Variables for the listing process (at least <c>SKILLOPT_CONFIG</c>, which fixes the split ratios).</param>
    /// <param name="skill">Skill to list; <see langword="null"/> lists all.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <exception cref="VerifierListingException">The process failed or printed no task list, a test's discovery failed (its data could not be enumerated, …), or two tests share a task id.</exception>
    public async Task<IReadOnlyList<VerifierTask>> ListAsync(IReadOnlyDictionary<string, string?> environment, string? skill, CancellationToken cancellationToken)
    {
        var args = new List<string> { "-list", "full/json", "-noColor", "-noLogo" };
        if (skill is not null)
        {
            args.Add("-trait");
            args.Add($"skillopt.skill={skill}");
        }
        ChildProcessResult run;
        try
        {
            run = await ChildProcess.RunAsync(Start(args, environment, null, null), cancellationToken).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new VerifierListingException($"Could not start {DotnetHost} {AssemblyPath}: {ex.Message}");
        }
        var text = run.Stdout;
        var err = run.Stderr;
        var start = text.IndexOf('[', StringComparison.Ordinal);
        var end = text.LastIndexOf(']');
        if (run.ExitCode != 0 || start < 0 || end < start)
        {
            throw new VerifierListingException($"`{Path.GetFileName(AssemblyPath)} -list full/json` exited with code {run.ExitCode} without a task list. Output: {Tail(text + "\n" + err, 1500)}");
        }
        var tasks = new List<VerifierTask>();
        var errors = new List<string>();
        try
        {
            using var doc = JsonDocument.Parse(text.AsMemory(start, end - start + 1));
            foreach (var t in doc.RootElement.EnumerateArray())
            {
                if (!t.TryGetProperty("Traits", out var traits) || traits.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }
                if (First(traits, SkillDiscovery.ErrorTrait) is { } error && (skill is null || First(traits, SkillDiscovery.SkillTrait) == skill))
                {
                    // discovery failed for this test (e.g. its data threw): report it rather than leave its tasks out
                    errors.Add(error);
                    continue;
                }
                var id = First(traits, SkillDiscovery.TaskTrait);
                var s = First(traits, SkillDiscovery.SkillTrait);
                var split = First(traits, SkillDiscovery.SplitTrait);
                if (id is null || s is null || split is null || (skill is not null && s != skill))
                {
                    continue;
                }
                tasks.Add(new VerifierTask(id, s, split, t.TryGetProperty("DisplayName", out var dn) ? dn.GetString() ?? id : id));
            }
        }
        catch (JsonException ex)
        {
            throw new VerifierListingException($"The task list of {Path.GetFileName(AssemblyPath)} is not valid JSON: {ex.Message}");
        }
        if (errors.Count > 0)
        {
            throw new VerifierListingException($"Discovering the tasks of {Path.GetFileName(AssemblyPath)} failed for {errors.Count} test{(errors.Count == 1 ? "" : "s")}: "
                + string.Join(" | ", errors.Take(5).Select(e => Tail(e, 600).TrimEnd('.'))) + (errors.Count > 5 ? $" | … and {errors.Count - 5} more" : "")
                + ". Run the verifier's tests (dotnet test) to see the errors with their stack traces.");
        }
        var duplicate = tasks.GroupBy(t => t.TaskId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new VerifierListingException($"The task id '{duplicate.Key}' is used by {duplicate.Count()} tests ({string.Join(", ", duplicate.Select(d => d.DisplayName))}); task ids must be unique.");
        }
        return tasks.OrderBy(t => t.TaskId, StringComparer.Ordinal).ToList();
    }

    /// <summary>The last <paramref name="max"/> characters of <paramref name="text"/>, trimmed.</summary>
    internal static string Tail(string text, int max)
    {
        text = text.Trim();
        return text.Length <= max ? text : "…" + text[^max..];
    }

    private static string? First(JsonElement traits, string name) =>
        traits.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0 ? v[0].GetString() : null;

    private static string FindHost()
    {
        var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
        {
            return fromSdk;
        }
        var self = Environment.ProcessPath;
        if (self is not null && string.Equals(Path.GetFileName(self), exe, StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, exe)))
        {
            return Path.Combine(root, exe);
        }
        // The runtime this process runs on lives in <root>/shared/Microsoft.NETCore.App/<version>/.
        var runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location);
        var candidate = runtimeDir is null ? null : Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", "..", exe));
        return candidate is not null && File.Exists(candidate) ? candidate : exe;
    }
}
