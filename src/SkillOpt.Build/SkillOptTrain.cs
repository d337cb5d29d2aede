using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace SkillOpt.Build;

/// <summary>
/// Trains the skills of a verifier project: runs <c>dotnet exec skillopt.dll train …</c> out of process, once per skill,
/// with the same .NET host as the build. Progress lines become MSBuild messages and canonical diagnostics
/// (<c>origin(line,col): error|warning CODE: text</c>) become MSBuild errors and warnings with their code and location.
/// Only paths and flags are passed: the trainer reads provider keys from the environment it inherits. On cancellation
/// (Ctrl+C) the trainer is asked to stop through its stop file, keeps its checkpoint and exits; after
/// <see cref="StopTimeoutSeconds"/> its process tree is killed.
/// </summary>
public sealed class SkillOptTrain : Task, ICancelableTask
{
    /// <summary>The exit code of an interrupted trainer.</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>The environment variable through which the trainer learns its stop file.</summary>
    public const string StopFileVariable = "SKILLOPT_STOP_FILE";

    private static readonly string[] KeyEnvironment =
    {
        "SKILLOPT_TARGET_PROVIDER", "SKILLOPT_TARGET_MODEL", "SKILLOPT_TARGET_ENDPOINT", "SKILLOPT_TARGET_API_KEY_ENV",
        "SKILLOPT_OPTIMIZER_PROVIDER", "SKILLOPT_OPTIMIZER_MODEL", "SKILLOPT_OPTIMIZER_ENDPOINT", "SKILLOPT_OPTIMIZER_API_KEY_ENV",
        "SKILLOPT_SIMLAB_SCENARIO",
    };

    private readonly AutoResetEvent _wake = new(false);
    private volatile bool _cancelled;
    private volatile string? _activeStopFile;

    /// <summary>The trainer, <c>skillopt.dll</c> (<c>$(SkillOptTrainerPath)</c>).</summary>
    [Required]
    public string TrainerPath { get; set; } = "";

    /// <summary>The built verifier assembly (<c>$(TargetPath)</c>).</summary>
    [Required]
    public string VerifierAssembly { get; set; } = "";

    /// <summary>The verifier project file: the trainer runs in its folder, and diagnostics without a file point at it.</summary>
    [Required]
    public string ProjectFile { get; set; } = "";

    /// <summary>
    /// The skills to train (metadata <c>Name</c>, <c>FullPath</c>, <c>ConfigFullPath</c>); none means the skill the
    /// verifier declares itself with <c>[assembly: SkillDefinition(...)]</c>.
    /// </summary>
    public ITaskItem[] Skills { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Folder that holds the run folders (<c>$(SkillOptRunDirectory)</c>); each skill and set of inputs gets its own.</summary>
    public string RunDirectory { get; set; } = "";

    /// <summary>Pass <c>--approve</c>: the trained skill replaces the committed one when training ends.</summary>
    public bool AutoApprove { get; set; }

    /// <summary>With <see cref="AutoApprove"/>, also pass <c>--force-approve</c>: approve on a build server too.</summary>
    public bool ForceApprove { get; set; }

    /// <summary>Pass <c>--verbose</c> to the trainer.</summary>
    public bool Verbose { get; set; }

    /// <summary>The stop file the trainer watches (<c>SKILLOPT_STOP_FILE</c>); created on cancellation.</summary>
    public string StopFile { get; set; } = "";

    /// <summary>Seconds the trainer gets to stop after cancellation before its process tree is killed (default 30).</summary>
    public int StopTimeoutSeconds { get; set; } = 30;

    /// <summary>Files whose contents identify the run (skills, configurations, data); part of the run folder's name.</summary>
    public ITaskItem[] InputFiles { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The .NET host; empty means <c>DOTNET_HOST_PATH</c> (set by the SDK for the build), else <c>dotnet</c>.</summary>
    public string DotnetHost { get; set; } = "";

    /// <summary>True when the trainer ran and every skill trained.</summary>
    [Output]
    public bool Trained { get; set; }

    /// <summary>The run folder of each skill (metadata <c>Skill</c>).</summary>
    [Output]
    public ITaskItem[] RunFolders { get; set; } = Array.Empty<ITaskItem>();

    /// <inheritdoc/>
    public void Cancel()
    {
        _cancelled = true;
        RequestStop();
        _wake.Set();
    }

    /// <inheritdoc/>
    public override bool Execute()
    {
        var host = ResolveHost();
        if (!File.Exists(TrainerPath))
        {
            Log.LogError(null, BuildDiagnostics.TrainerNotFound, null, ProjectFile, 0, 0, 0, 0,
                $"the skillopt trainer does not exist at '{TrainerPath}': restore the SkillOpt.Testing package, or point SkillOptTrainerPath at skillopt.dll");
            return false;
        }
        if (!File.Exists(VerifierAssembly))
        {
            Log.LogError(null, BuildDiagnostics.VerifierBuildFailed, null, ProjectFile, 0, 0, 0, 0,
                $"the verifier assembly '{VerifierAssembly}' does not exist: build the project first");
            return false;
        }

        var runs = Skills.Length == 0 ? new ITaskItem?[] { null } : Skills.Cast<ITaskItem?>().ToArray();
        var folders = new List<ITaskItem>();
        foreach (var skill in runs)
        {
            if (_cancelled)
            {
                break;
            }
            var name = skill?.GetMetadata("Name");
            var folder = RunFolder(skill);
            var args = new List<string> { "exec", TrainerPath, "train", "--verifier", VerifierAssembly };
            if (skill is not null)
            {
                args.Add("--skill");
                args.Add(name!);
                args.Add("--skill-file");
                args.Add(ProjectPaths.Full(skill, ProjectFile));
                var config = skill.GetMetadata("ConfigFullPath");
                if (!string.IsNullOrWhiteSpace(config))
                {
                    args.Add("--config");
                    args.Add(config);
                }
            }
            args.Add("--run");
            args.Add(folder);
            if (AutoApprove)
            {
                args.Add("--approve");
                if (ForceApprove)
                {
                    args.Add("--force-approve");
                }
            }
            if (Verbose)
            {
                args.Add("--verbose");
            }
            Log.LogMessage(MessageImportance.High, $"SkillOpt: training {(name is null ? "the declared skill" : $"skill '{name}'")} of {Path.GetFileName(VerifierAssembly)} (run folder {folder})");
            var result = Run(host, args);
            if (result.StartFailed)
            {
                return false;
            }
            var item = new TaskItem(folder);
            item.SetMetadata("Skill", name ?? "");
            folders.Add(item);
            if (_cancelled)
            {
                Log.LogMessage(MessageImportance.High,
                    $"SkillOpt: cancelled; the trainer {(result.Killed ? "was killed" : "stopped")} and the run folder keeps the last finished phase: run the same command again to resume ({folder})");
                break;
            }
            if (result.ExitCode != 0 && !result.ReportedError)
            {
                var why = result.ExitCode == InterruptedExitCode
                    ? "was interrupted (exit code 130) although the build was not cancelled; run the same command again to resume"
                    : $"exited with code {result.ExitCode.ToString(CultureInfo.InvariantCulture)} without reporting an error";
                var tail = result.Tail.Count == 0 ? "" : " Its last output: " + string.Join(" | ", result.Tail);
                Log.LogError(null, BuildDiagnostics.TrainerFailed, null, ProjectFile, 0, 0, 0, 0, $"the skillopt trainer {why}.{tail}");
            }
            if (Log.HasLoggedErrors)
            {
                break;
            }
        }
        RunFolders = folders.ToArray();
        Trained = !_cancelled && !Log.HasLoggedErrors;
        return !_cancelled && !Log.HasLoggedErrors;
    }

    /// <summary>
    /// The run folder of a skill: <c>{RunDirectory}/{skill}-{key}</c>, where the key hashes the skill file, the
    /// configuration, the verifier, the input files and the model overrides of the environment (never a key's value), so
    /// that a run resumes exactly when nothing it depends on changed.
    /// </summary>
    internal string RunFolder(ITaskItem? skill)
    {
        var root = string.IsNullOrWhiteSpace(RunDirectory)
            ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(ProjectFile)) ?? ".", ".skillopt", "runs")
            : RunDirectory;
        var name = skill?.GetMetadata("Name");
        if (string.IsNullOrEmpty(name))
        {
            name = Path.GetFileNameWithoutExtension(ProjectFile);
        }
        using var sha = SHA256.Create();
        var sb = new StringBuilder("skillopt-run/1\n").Append(name).Append('\n');
        var files = new List<string>();
        if (skill is not null)
        {
            files.Add(ProjectPaths.Full(skill, ProjectFile));
            files.Add(skill.GetMetadata("ConfigFullPath"));
        }
        files.Add(VerifierAssembly);
        files.AddRange(InputFiles.Select(i => ProjectPaths.Full(i, ProjectFile)).OrderBy(p => p, StringComparer.Ordinal));
        foreach (var file in files.Where(f => !string.IsNullOrWhiteSpace(f)).Distinct(StringComparer.Ordinal))
        {
            sb.Append(Path.GetFileName(file)).Append('=').Append(HashFile(sha, file)).Append('\n');
        }
        foreach (var variable in KeyEnvironment)
        {
            sb.Append(variable).Append('=').Append(Environment.GetEnvironmentVariable(variable) ?? "").Append('\n');
        }
        var key = Hex(sha.ComputeHash(Encoding.UTF8.GetBytes(sb.ToString()))).Substring(0, 10);
        return Path.GetFullPath(Path.Combine(root, name + "-" + key));
    }

    private string ResolveHost()
    {
        if (!string.IsNullOrWhiteSpace(DotnetHost))
        {
            return DotnetHost;
        }
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrWhiteSpace(fromSdk) && File.Exists(fromSdk) ? fromSdk! : "dotnet";
    }

    private void RequestStop()
    {
        var file = _activeStopFile;
        if (string.IsNullOrEmpty(file))
        {
            return;
        }
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, "stop requested by MSBuild (the build was cancelled)\n");
        }
        catch (IOException)
        {
            // the kill after the timeout still ends the trainer
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private TrainerRun Run(string host, List<string> args)
    {
        var stopFile = string.IsNullOrWhiteSpace(StopFile)
            ? Path.Combine(Path.GetTempPath(), "skillopt-stop-" + Guid.NewGuid().ToString("N"))
            : Path.GetFullPath(StopFile);
        TryDelete(stopFile);
        var psi = new ProcessStartInfo(host, ProcessTree.Join(args))
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(ProjectFile)) ?? Environment.CurrentDirectory,
        };
        psi.Environment[StopFileVariable] = stopFile;
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["NO_COLOR"] = "1";
        Log.LogMessage(MessageImportance.Low, $"SkillOpt: {host} {psi.Arguments}");

        var lines = new ConcurrentQueue<(bool Error, string Text)>();
        var open = 2;
        Process process;
        try
        {
            process = new Process { StartInfo = psi, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => Received(lines, false, e.Data, ref open);
            process.ErrorDataReceived += (_, e) => Received(lines, true, e.Data, ref open);
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            Log.LogError(null, BuildDiagnostics.TrainerNotFound, null, ProjectFile, 0, 0, 0, 0,
                $"could not start the .NET host '{host}' to run the trainer: {ex.Message}");
            return new TrainerRun { StartFailed = true };
        }

        var run = new TrainerRun();
        using (process)
        {
            _activeStopFile = stopFile;
            if (_cancelled)
            {
                RequestStop();
            }
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
            }
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            DateTime? deadline = null;
            while (true)
            {
                Drain(lines, run);
                if (process.HasExited && Volatile.Read(ref open) == 0)
                {
                    break;
                }
                if (_cancelled && deadline is null)
                {
                    deadline = DateTime.UtcNow.AddSeconds(Math.Max(0, StopTimeoutSeconds));
                    Log.LogMessage(MessageImportance.High, $"SkillOpt: cancellation: asking the trainer to stop (it keeps its checkpoint; killed after {StopTimeoutSeconds} s)");
                }
                if (deadline is { } d && DateTime.UtcNow > d && !run.Killed)
                {
                    run.Killed = true;
                    ProcessTree.Kill(process);
                    Log.LogWarning(null, BuildDiagnostics.TrainerKilled, null, ProjectFile, 0, 0, 0, 0,
                        $"the trainer did not stop within {StopTimeoutSeconds} s (SkillOptStopTimeout) after the build was cancelled; its process tree was killed. The run folder keeps the last finished phase");
                }
                _wake.WaitOne(100);
            }
            process.WaitForExit();
            Drain(lines, run);
            run.ExitCode = process.ExitCode;
            _activeStopFile = null;
        }
        TryDelete(stopFile);
        return run;
    }

    private static void Received(ConcurrentQueue<(bool, string)> lines, bool error, string? data, ref int open)
    {
        if (data is null)
        {
            Interlocked.Decrement(ref open);
            return;
        }
        lines.Enqueue((error, data));
    }

    private void Drain(ConcurrentQueue<(bool Error, string Text)> lines, TrainerRun run)
    {
        while (lines.TryDequeue(out var line))
        {
            Relay(line.Error, line.Text, run);
        }
    }

    private void Relay(bool stderr, string text, TrainerRun run)
    {
        // Progress lines ("skillopt: …") are never diagnostics; canonical diagnostics ("origin : error CODE: …") are.
        var isProgress = text.StartsWith("skillopt: ", StringComparison.Ordinal);
        var diagnostic = isProgress ? null : CanonicalDiagnostic.Parse(text);
        if (diagnostic is not null)
        {
            var file = diagnostic.File is null ? ProjectFile : Absolute(diagnostic.File);
            if (diagnostic.IsError)
            {
                run.ReportedError = true;
                Log.LogError(null, diagnostic.Code, null, file, diagnostic.LineNumber, diagnostic.ColumnNumber, diagnostic.EndLineNumber, diagnostic.EndColumnNumber, diagnostic.Message);
            }
            else
            {
                Log.LogWarning(null, diagnostic.Code, null, file, diagnostic.LineNumber, diagnostic.ColumnNumber, diagnostic.EndLineNumber, diagnostic.EndColumnNumber, diagnostic.Message);
            }
            return;
        }
        if (text.Trim().Length == 0)
        {
            return;
        }
        if (stderr || !isProgress)
        {
            run.Tail.Enqueue(text.Trim());
            while (run.Tail.Count > 5)
            {
                run.Tail.Dequeue();
            }
        }
        Log.LogMessage(isProgress ? MessageImportance.High : MessageImportance.Normal, text);
    }

    private string Absolute(string file)
    {
        try
        {
            return Path.IsPathRooted(file) ? file : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(ProjectFile)) ?? "", file));
        }
        catch (ArgumentException)
        {
            return file;
        }
    }

    private static string HashFile(HashAlgorithm sha, string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Hex(sha.ComputeHash(stream)).Substring(0, 16);
        }
        catch (IOException)
        {
            return "missing";
        }
        catch (UnauthorizedAccessException)
        {
            return "unreadable";
        }
    }

    private static string Hex(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length * 2);
        foreach (var b in bytes)
        {
            sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static void TryDelete(string file)
    {
        try
        {
            if (File.Exists(file))
            {
                File.Delete(file);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class TrainerRun
    {
        public int ExitCode { get; set; }

        public bool ReportedError { get; set; }

        public bool Killed { get; set; }

        public bool StartFailed { get; set; }

        public Queue<string> Tail { get; } = new();
    }
}
