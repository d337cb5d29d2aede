// Longer than 400 lines: an MSBuild task is one class; its parameters, each documented for the targets, are half of it.
using System;
using System.Collections.Generic;
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
/// Trains the skills of a verifier project: runs <c>dotnet exec skillopt.dll train …</c> out of process (a
/// <see cref="ToolTask"/>), once per skill, with the same .NET host as the build. Progress lines (<c>skillopt: …</c>)
/// become high-importance messages; every other line goes through MSBuild's canonical-error parsing
/// (<see cref="TaskLoggingHelper.LogMessageFromText"/>), so <c>origin(line,col): error|warning CODE: text</c> becomes an
/// MSBuild error or warning with its code and location (the origin <c>skillopt</c> is replaced by the project file).
/// Only paths and flags are passed: the trainer reads provider keys from the environment it inherits. On cancellation
/// (Ctrl+C) the trainer is asked to stop through its stop file, keeps its checkpoint and exits; after
/// <see cref="StopTimeoutSeconds"/> its process tree is killed. The trainer also stops by itself when the process that
/// runs this task ends (<c>SKILLOPT_PARENT_PID</c>), e.g. when the build is killed with SIGTERM.
/// </summary>
public sealed class SkillOptTrain : ToolTask
{
    /// <summary>The exit code of an interrupted trainer.</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>The environment variable through which the trainer learns its stop file.</summary>
    public const string StopFileVariable = "SKILLOPT_STOP_FILE";

    /// <summary>The environment variable through which the trainer learns the process whose end stops it.</summary>
    public const string ParentProcessVariable = "SKILLOPT_PARENT_PID";

    private const string ToolOrigin = "skillopt : ";

    private static readonly string[] KeyEnvironment =
    {
        "SKILLOPT_TARGET_PROVIDER", "SKILLOPT_TARGET_MODEL", "SKILLOPT_TARGET_ENDPOINT", "SKILLOPT_TARGET_API_KEY_ENV",
        "SKILLOPT_OPTIMIZER_PROVIDER", "SKILLOPT_OPTIMIZER_MODEL", "SKILLOPT_OPTIMIZER_ENDPOINT", "SKILLOPT_OPTIMIZER_API_KEY_ENV",
        "SKILLOPT_SIMLAB_SCENARIO",
    };

    private readonly object _gate = new();
    private readonly Queue<string> _tail = new();
    private volatile bool _cancelled;
    private volatile bool _killed;
    private volatile bool _reportedError;
    private Timer? _killTimer;
    private Timer? _parentWatch;
    private string _arguments = "";
    private string _stopFile = "";

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

    /// <summary>
    /// Start every skill's training anew (<c>$(SkillOptForce)</c>): an existing run folder of the same inputs is renamed
    /// to <c>{folder}.replaced-{yyyyMMdd-HHmmss}</c> (UTC) and kept, and the trainer starts from the baseline.
    /// </summary>
    public bool Force { get; set; }

    /// <summary>Pass <c>--approve</c>: the trained skill replaces the committed one when training ends.</summary>
    public bool AutoApprove { get; set; }

    /// <summary>With <see cref="AutoApprove"/>, also pass <c>--force-approve</c>: approve on a build server too.</summary>
    public bool ForceApprove { get; set; }

    /// <summary>Pass <c>--verbose</c> to the trainer.</summary>
    public bool Verbose { get; set; }

    /// <summary>
    /// The stop file the trainer watches (<c>SKILLOPT_STOP_FILE</c>, <c>$(SkillOptStopFile)</c>): created by this task on
    /// cancellation, and by anyone who wants the training to stop (scripts, CI); deleted before each trainer starts.
    /// </summary>
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
    protected override string ToolName => "dotnet";

    /// <inheritdoc/>
    protected override Encoding StandardOutputEncoding => new UTF8Encoding(false);

    /// <inheritdoc/>
    protected override Encoding StandardErrorEncoding => new UTF8Encoding(false);

    /// <summary>
    /// Asks the trainer to stop (its stop file) and kills its process tree when it has not exited after
    /// <see cref="StopTimeoutSeconds"/>.
    /// </summary>
    public override void Cancel()
    {
        if (_cancelled)
        {
            return;
        }
        _cancelled = true;
        Log.LogMessage(MessageImportance.High, $"SkillOpt: cancellation: asking the trainer to stop (it keeps its checkpoint; killed after {StopTimeoutSeconds} s)");
        RequestStop("stop requested by MSBuild (the build was cancelled)\n");
        _killTimer = new Timer(_ => KillAfterTimeout(), null, TimeSpan.FromSeconds(Math.Max(0, StopTimeoutSeconds)), System.Threading.Timeout.InfiniteTimeSpan);
    }

    /// <inheritdoc/>
    public override bool Execute()
    {
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
        _stopFile = string.IsNullOrWhiteSpace(StopFile)
            ? Path.Combine(Path.GetTempPath(), "skillopt-stop-" + Guid.NewGuid().ToString("N"))
            : Path.GetFullPath(StopFile);

        var runs = Skills.Length == 0 ? new ITaskItem?[] { null } : Skills.Cast<ITaskItem?>().ToArray();
        var folders = new List<ITaskItem>();
        WatchParent();
        try
        {
            foreach (var skill in runs)
            {
                if (_cancelled)
                {
                    break;
                }
                var name = skill?.GetMetadata("Name");
                var folder = RunFolder(skill);
                if (Force && !SetAside(folder))
                {
                    break;
                }
                _arguments = Arguments(skill, name, folder);
                Log.LogMessage(MessageImportance.High, $"SkillOpt: training {(name is null ? "the declared skill" : $"skill '{name}'")} of {Path.GetFileName(VerifierAssembly)} (run folder {folder})");
                TryDelete(_stopFile);
                lock (_gate)
                {
                    _tail.Clear();
                }
                _reportedError = false;
                if (_cancelled)
                {
                    break;
                }
                var ran = base.Execute();
                var stopped = File.Exists(_stopFile);
                TryDelete(_stopFile);
                var item = new TaskItem(folder);
                item.SetMetadata("Skill", name ?? "");
                folders.Add(item);
                if (_cancelled)
                {
                    Log.LogMessage(MessageImportance.High,
                        $"SkillOpt: cancelled; the trainer {(_killed ? "was killed" : "stopped")} and the run folder keeps the last finished phase: run the same command again to resume ({folder})");
                    break;
                }
                if (!ran && stopped && ExitCode == InterruptedExitCode)
                {
                    Log.LogError(null, BuildDiagnostics.StopRequested, null, ProjectFile, 0, 0, 0, 0,
                        $"training stopped on request (the stop file {_stopFile} was created); the run folder keeps the last finished phase: run the same command again to resume ({folder})");
                }
                if (!ran || Log.HasLoggedErrors)
                {
                    if (!Log.HasLoggedErrors)
                    {
                        Log.LogError(null, BuildDiagnostics.TrainerFailed, null, ProjectFile, 0, 0, 0, 0, $"the skillopt trainer {Why(ExitCode)}.{Tail()}");
                    }
                    break;
                }
            }
        }
        finally
        {
            _parentWatch?.Dispose();
            _killTimer?.Dispose();
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

    /// <summary>The arguments after the host: <c>exec {trainer} train --verifier … --run …</c>, quoted by <see cref="CommandLineBuilder"/>.</summary>
    internal string Arguments(ITaskItem? skill, string? name, string folder)
    {
        var cmd = new CommandLineBuilder(quoteHyphensOnCommandLine: false, useNewLineSeparator: false);
        cmd.AppendSwitch("exec");
        cmd.AppendFileNameIfNotNull(TrainerPath);
        cmd.AppendSwitch("train");
        cmd.AppendSwitchIfNotNull("--verifier ", VerifierAssembly);
        if (skill is not null)
        {
            cmd.AppendSwitchIfNotNull("--skill ", name);
            cmd.AppendSwitchIfNotNull("--skill-file ", ProjectPaths.Full(skill, ProjectFile));
            var config = skill.GetMetadata("ConfigFullPath");
            if (!string.IsNullOrWhiteSpace(config))
            {
                cmd.AppendSwitchIfNotNull("--config ", config);
            }
        }
        cmd.AppendSwitchIfNotNull("--run ", folder);
        if (AutoApprove)
        {
            cmd.AppendSwitch("--approve");
            if (ForceApprove)
            {
                cmd.AppendSwitch("--force-approve");
            }
        }
        if (Verbose)
        {
            cmd.AppendSwitch("--verbose");
        }
        return cmd.ToString();
    }

    /// <inheritdoc/>
    protected override string GenerateFullPathToTool()
    {
        if (!string.IsNullOrWhiteSpace(DotnetHost))
        {
            return DotnetHost;
        }
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrWhiteSpace(fromSdk) && File.Exists(fromSdk) ? fromSdk! : "dotnet";
    }

    /// <inheritdoc/>
    protected override string GenerateCommandLineCommands() => _arguments;

    /// <inheritdoc/>
    protected override string GetWorkingDirectory() => Path.GetDirectoryName(Path.GetFullPath(ProjectFile)) ?? Environment.CurrentDirectory;

    /// <inheritdoc/>
    protected override bool ValidateParameters()
    {
        EnvironmentVariables = new[]
        {
            $"{StopFileVariable}={_stopFile}",
            $"{ParentProcessVariable}={CurrentProcessId()}",
            "DOTNET_NOLOGO=1",
            "NO_COLOR=1",
        };
        return base.ValidateParameters();
    }

    /// <summary>
    /// Relays one line of the trainer: progress lines (<c>skillopt: …</c>) as high-importance messages, canonical
    /// diagnostics as errors and warnings (MSBuild's parser), anything else as a normal message kept for SKOPT4001.
    /// </summary>
    protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
    {
        if (singleLine.StartsWith("skillopt: ", StringComparison.Ordinal))
        {
            Log.LogMessage(MessageImportance.High, singleLine);
            return;
        }
        if (singleLine.Trim().Length == 0)
        {
            return;
        }
        var line = singleLine.StartsWith(ToolOrigin, StringComparison.OrdinalIgnoreCase)
            ? ProjectFile + " : " + singleLine.Substring(ToolOrigin.Length)
            : singleLine;
        if (Log.LogMessageFromText(line, MessageImportance.Normal))
        {
            _reportedError = true;
            return;
        }
        lock (_gate)
        {
            _tail.Enqueue(singleLine.Trim());
            while (_tail.Count > 5)
            {
                _tail.Dequeue();
            }
        }
    }

    /// <summary>A non-zero exit code: nothing to add when the trainer reported an error or was cancelled; the caller reports the rest.</summary>
    protected override bool HandleTaskExecutionErrors() => false;

    /// <inheritdoc/>
    protected override void LogToolCommand(string message) => Log.LogMessage(MessageImportance.Low, "SkillOpt: " + message);

    private string Why(int exitCode) =>
        _reportedError ? "reported an error"
        : exitCode == InterruptedExitCode ? "was interrupted (exit code 130) although the build was not cancelled; run the same command again to resume"
        : $"exited with code {exitCode.ToString(CultureInfo.InvariantCulture)} without reporting an error";

    private string Tail()
    {
        lock (_gate)
        {
            return _tail.Count == 0 ? "" : " Its last output: " + string.Join(" | ", _tail);
        }
    }

    private bool SetAside(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return true;
        }
        var aside = folder + ".replaced-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        try
        {
            Directory.Move(folder, aside);
            Log.LogMessage(MessageImportance.High, $"SkillOpt: SkillOptForce: the previous run folder is kept as {aside}; training starts anew");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.LogError(null, BuildDiagnostics.TrainerFailed, null, ProjectFile, 0, 0, 0, 0,
                $"SkillOptForce: could not move the previous run folder {folder} aside ({ex.Message}); is a training still running in it?");
            return false;
        }
    }

    /// <summary>
    /// Linux: when the process that started this one ends (the MSBuild node that runs a task host was killed, e.g. with
    /// SIGTERM), the build is over, and the trainer is asked to stop as on cancellation instead of training on alone.
    /// </summary>
    private void WatchParent()
    {
        var parent = ParentProcessId();
        if (parent is null)
        {
            return;
        }
        _parentWatch = new Timer(_ =>
        {
            if (!_cancelled && ParentProcessId() != parent)
            {
                // Nobody reads the log any more: stop without logging (a log call could fail with the node gone).
                _cancelled = true;
                RequestStop("stop requested by MSBuild (the build process ended)\n");
                _killTimer = new Timer(_ => KillAfterTimeout(), null, TimeSpan.FromSeconds(Math.Max(0, StopTimeoutSeconds)), System.Threading.Timeout.InfiniteTimeSpan);
            }
        }, null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
    }

    /// <summary>The parent process id from <c>/proc/self/stat</c> (Linux), else <see langword="null"/>.</summary>
    internal static int? ParentProcessId()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat.Substring(stat.LastIndexOf(')') + 1).Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid) ? ppid : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private void KillAfterTimeout()
    {
        _killed = true;
        try
        {
            Log.LogWarning(null, BuildDiagnostics.TrainerKilled, null, ProjectFile, 0, 0, 0, 0,
                $"the trainer did not stop within {StopTimeoutSeconds} s (SkillOptStopTimeout) after the build was cancelled; its process tree was killed. The run folder keeps the last finished phase");
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            // the build that would show it is gone
        }
        base.Cancel();
    }

    private void RequestStop(string why)
    {
        var file = _stopFile;
        if (string.IsNullOrEmpty(file))
        {
            return;
        }
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, why);
        }
        catch (IOException)
        {
            // the kill after the timeout still ends the trainer
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static int CurrentProcessId()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.Id;
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
}
