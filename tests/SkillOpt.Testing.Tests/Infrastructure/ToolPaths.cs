using SkillOpt.Testing.Verifiers;
using System.Reflection;
using System.Text;
using SkillOpt.Core.Processes;

using SkillOpt.Tests.Shared;

namespace SkillOpt.Testing.Tests.Infrastructure;

/// <summary>The built sample verifier and trainer (paths embedded by the test project at build time).</summary>
public static class ToolPaths
{
    public static string SampleVerifiers { get; } = Metadata("SkillOpt.SampleVerifiers");

    public static string Trainer { get; } = Metadata("SkillOpt.Trainer");

    public static string SampleVerifiersProject => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SampleVerifiers)!, "..", "..", ".."));

    public static string ArithConfig => Path.Combine(SampleVerifiersProject, "skills", "arith", "skillopt.yaml");

    private static string Metadata(string key)
    {
        var value = typeof(ToolPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
        if (string.IsNullOrEmpty(value) || !File.Exists(value))
        {
            throw new InvalidOperationException($"The test project was built without the path of {key} (or it does not exist: '{value}').");
        }
        return value;
    }
}

/// <summary>The outcome of a finished process.</summary>
public sealed record ProcessOutcome(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs the built tools as processes, the way users and the MSBuild task do.</summary>
internal static class Tool
{
    public static Task<ProcessOutcome> SkilloptAsync(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        RunAsync(ToolPaths.Trainer, workingDirectory, environment, TestTimeouts.Trainer, null, args);

    public static Task<ProcessOutcome> VerifierAsync(IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        RunAsync(ToolPaths.SampleVerifiers, Path.GetDirectoryName(ToolPaths.SampleVerifiers)!, environment, TestTimeouts.Verifier, null, args);

    /// <summary>
    /// Runs <c>dotnet exec {assembly} {args}</c>; <paramref name="onLine"/> sees each stdout line and may act on the process.
    /// <paramref name="timeout"/> only stops a hung process (take it from <see cref="TestTimeouts"/>, which scales it), and
    /// then bounds the wait for the end of its output.
    /// </summary>
    public static async Task<ProcessOutcome> RunAsync(string assembly, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, TimeSpan timeout,
        Action<ChildProcess, string>? onLine, params string[] args)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        ChildProcess? started = null;
        using var process = new ChildProcess(new ChildProcessStart
        {
            FileName = VerifierExecutable.DotnetHost,
            Arguments = ["exec", assembly, .. args],
            WorkingDirectory = workingDirectory,
            Environment =
            [
                // Faults and target overrides from the environment of the test run must not leak in.
                .. Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("SKILLOPT_", StringComparison.Ordinal))
                    .Select(k => new KeyValuePair<string, string?>(k, null)),
                // No test ever opens a diff tool (the trainer launches one through DiffEngine for a new received skill).
                new("DiffEngine_Disabled", "true"),
                .. environment ?? new Dictionary<string, string?>(),
            ],
            OnStdout = line =>
            {
                lock (stdout) { stdout.AppendLine(line); }
                onLine?.Invoke(started!, line);
            },
            OnStderr = line =>
            {
                lock (stderr) { stderr.AppendLine(line); }
            },
        });
        started = process;
        // a test run started in the background (SIGINT ignored) must still be able to interrupt the trainer
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
            throw new TimeoutException($"{Path.GetFileName(assembly)} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s.\n{Text(stdout)}\n{Text(stderr)}");
        }
        if (!await process.WaitForOutputAsync(timeout))
        {
            throw new TimeoutException($"{Path.GetFileName(assembly)} {string.Join(' ', args)} exited, but its output did not end within {timeout.TotalSeconds} s.\n{Text(stdout)}\n{Text(stderr)}");
        }
        return new ProcessOutcome(code, Text(stdout), Text(stderr));

        static string Text(StringBuilder sb)
        {
            lock (sb) { return sb.ToString(); }
        }
    }

    /// <summary>Sends SIGINT (Ctrl+C) to a process (Linux and macOS).</summary>
    public static void Interrupt(ChildProcess process) => Signals.Interrupt(process);
}

/// <summary>A temporary folder deleted at the end of the test.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "skillopt-tests-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
