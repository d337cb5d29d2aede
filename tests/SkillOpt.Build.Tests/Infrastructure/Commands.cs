using System.Diagnostics;
using System.Reflection;
using System.Text;
using SkillOpt.Core.Processes;
using SkillOpt.Tests.Shared;

namespace SkillOpt.Build.Tests.Infrastructure;

/// <summary>Paths embedded by the test project at build time.</summary>
public static class Repo
{
    public static string Root { get; } = Metadata("SkillOpt.RepositoryRoot");

    public static string Configuration { get; } = Metadata("SkillOpt.Configuration");

    public static string Trainer { get; } = Metadata("SkillOpt.Trainer");

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Metadata(string key) =>
        typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The test project was built without {key}.");
}

/// <summary>The outcome of a finished command: exit code and the interleaved output.</summary>
public sealed partial record CommandOutcome(int ExitCode, string Output, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s\n{Output}";

    /// <summary>Distinct lines that hold an MSBuild error or warning with <paramref name="code"/> (the build summary repeats them).</summary>
    public IReadOnlyList<string> DiagnosticLines(string kind, string codePrefix) =>
        Output.Split('\n').Select(l => NodePrefix().Replace(l.TrimEnd('\r').Trim(), ""))
            .Where(l => l.Contains($": {kind} {codePrefix}", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The console logger's node/project prefix ("1>", "001.0 "): when several MSBuild nodes run (a loaded machine) the same
    /// diagnostic is printed once per logger view with different prefixes, so they are removed before counting.
    /// </summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^\d+(\.\d+)?>?\s+")]
    private static partial System.Text.RegularExpressions.Regex NodePrefix();
}

/// <summary>Runs <c>dotnet</c> commands out of process, as a user does from a terminal.</summary>
internal static class Dotnet
{
    /// <summary>The .NET host running the tests (the one the SDK gave), else <c>dotnet</c>.</summary>
    public static string Host { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p && File.Exists(p) ? p
        : Environment.ProcessPath is { } self && System.IO.Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : "dotnet";

    /// <summary>
    /// Runs <c>dotnet {args}</c> in <paramref name="workingDirectory"/>. The environment is the test's, without the
    /// variables of the MSBuild or test host that launched the tests, without SKILLOPT_* and CI variables, and with
    /// <paramref name="environment"/> on top. <paramref name="onLine"/> sees every output line and may act on the process.
    /// </summary>
    public static Task<CommandOutcome> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout,
        Action<ChildProcess, string>? onLine, params string[] args) =>
        RunAsync(workingDirectory, environment, timeout, onLine, ignoreInterrupts: false, args);

    /// <summary>
    /// As above; with <paramref name="ignoreInterrupts"/> the command runs as a shell script without job control starts it
    /// in the background: with SIGINT ignored (<c>sh -c 'trap "" INT; exec dotnet …'</c>, Linux and macOS).
    /// </summary>
    public static async Task<CommandOutcome> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout,
        Action<ChildProcess, string>? onLine, bool ignoreInterrupts, string[] args)
    {
        var sw = Stopwatch.StartNew();
        var output = new StringBuilder();
        ChildProcess? started = null;
        void Line(string data)
        {
            lock (output)
            {
                output.Append(sw.Elapsed.TotalSeconds.ToString("000.0", System.Globalization.CultureInfo.InvariantCulture)).Append(' ').AppendLine(data);
            }
            onLine?.Invoke(started!, data);
        }
        using var process = new ChildProcess(new ChildProcessStart
        {
            FileName = ignoreInterrupts ? "/bin/sh" : Host,
            Arguments = ignoreInterrupts ? ["-c", "trap '' INT; exec \"$0\" \"$@\"", Host, .. args] : args,
            WorkingDirectory = workingDirectory,
            Environment =
            [
                .. Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(name =>
                    name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || name.StartsWith("SKILLOPT_", StringComparison.Ordinal)
                    || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) || name.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
                    || name is "DOTNET_HOST_PATH" or "CI" or "TF_BUILD" or "GITHUB_ACTIONS" or "ContinuousIntegrationBuild" or "NUGET_PACKAGES")
                    .Select(name => new KeyValuePair<string, string?>(name, null)),
                new("DOTNET_CLI_TELEMETRY_OPTOUT", "1"),
                new("DOTNET_NOLOGO", "1"),
                new("DOTNET_SKIP_FIRST_TIME_EXPERIENCE", "1"),
                new("DiffEngine_Disabled", "true"),
                new("MSBUILDTERMINALLOGGER", "false"),
                .. environment,
            ],
            OnStdout = Line,
            OnStderr = Line,
            CloseStandardInput = true,
        });
        started = process;
        Signals.StartWithInterruptsDeliverable(process);
        int code;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            code = await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            lock (output)
            {
                throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s.\n{output}");
            }
        }
        if (!await process.WaitForOutputAsync(timeout))
        {
            lock (output)
            {
                throw new TimeoutException($"dotnet {string.Join(' ', args)} exited, but its output did not end within {timeout.TotalSeconds} s.\n{output}");
            }
        }
        lock (output)
        {
            var outcome = new CommandOutcome(code, output.ToString(), sw.Elapsed);
            // SKILLOPT_BUILD_TESTS_LOG=<file>: keep every command's output for a look after the run.
            if (Environment.GetEnvironmentVariable("SKILLOPT_BUILD_TESTS_LOG") is { Length: > 0 } log)
            {
                File.AppendAllText(log, $"=== {workingDirectory}$ dotnet {string.Join(' ', args)}\n{outcome}\n");
            }
            return outcome;
        }
    }

    /// <summary>Sends SIGINT (what Ctrl+C sends) to one process (Linux and macOS).</summary>
    public static void Interrupt(ChildProcess process) => Signals.Interrupt(process);
}

/// <summary>Processes of this machine, read from /proc (Linux).</summary>
public static class Processes
{
    /// <summary>Waits until no process's command line holds both <paramref name="fragments"/>; fails after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilNoneAsync(string fragment, string other, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var left = Matching(fragment, other);
            if (left.Count == 0)
            {
                return;
            }
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"still running after {timeout.TotalSeconds} s: {string.Join(" | ", left)}");
            }
            await Task.Delay(250);
        }
    }

    private static List<string> Matching(string fragment, string other)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var cmd = File.ReadAllText(System.IO.Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmd.Contains(fragment, StringComparison.Ordinal) && cmd.Contains(other, StringComparison.Ordinal))
                {
                    found.Add($"{pid}: {cmd}");
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }
}

/// <summary>A temporary folder outside the repository, deleted at the end.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder(string prefix)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
