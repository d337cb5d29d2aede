using SkillOpt.Testing.Verifiers;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using SkillOpt.Trainer.Verifiers;

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
public static class Tool
{
    public static Task<ProcessOutcome> SkilloptAsync(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        RunAsync(ToolPaths.Trainer, workingDirectory, environment, TestTimeouts.Trainer, null, args);

    public static Task<ProcessOutcome> VerifierAsync(IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        RunAsync(ToolPaths.SampleVerifiers, Path.GetDirectoryName(ToolPaths.SampleVerifiers)!, environment, TestTimeouts.Verifier, null, args);

    /// <summary>
    /// Runs <c>dotnet exec {assembly} {args}</c>; <paramref name="onLine"/> sees each stdout line and may act on the process.
    /// <paramref name="timeout"/> only stops a hung process (take it from <see cref="TestTimeouts"/>, which scales it).
    /// </summary>
    public static async Task<ProcessOutcome> RunAsync(string assembly, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, TimeSpan timeout,
        Action<Process, string>? onLine, params string[] args)
    {
        var psi = new ProcessStartInfo(VerifierExecutable.DotnetHost)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(assembly);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // Faults and target overrides from the environment of the test run must not leak in.
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("SKILLOPT_", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(name);
        }
        // No test ever opens a diff tool (the trainer launches one through DiffEngine for a new received skill).
        psi.Environment["DiffEngine_Disabled"] = "true";
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>())
        {
            psi.Environment[k] = v;
        }
        using var process = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) { stdout.AppendLine(e.Data); }
            onLine?.Invoke(process, e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) { stderr.AppendLine(e.Data); }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(assembly)} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s.\n{stdout}\n{stderr}");
        }
        process.WaitForExit();
        lock (stdout)
        {
            return new ProcessOutcome(process.ExitCode, stdout.ToString(), stderr.ToString());
        }
    }

    /// <summary>Sends SIGINT (Ctrl+C) to a process (Linux and macOS).</summary>
    public static void Interrupt(Process process) => Signals.Interrupt(process);
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
