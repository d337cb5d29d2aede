using System.Diagnostics;
using System.Globalization;

namespace SkillOpt.Trainer.Commands;

/// <summary>
/// Stop requests that are not signals, polled every 200 ms; each stops the training exactly as a first Ctrl+C (no new
/// verifier processes, the running ones get the grace period, the last finished phase stays checkpointed, exit code 130),
/// on every platform, and a later Ctrl+C still stops the running verifier processes at once:
/// <list type="bullet">
/// <item>the stop file named by <c>SKILLOPT_STOP_FILE</c> appears (the MSBuild task creates it when the build is cancelled;
/// a script or CI step may create it: <c>$(SkillOptStopFile)</c>, by default <c>.skillopt/stop</c> in the project folder);</item>
/// <item>the process named by <c>SKILLOPT_PARENT_PID</c> (the MSBuild task's) ends, e.g. because the build was killed
/// with SIGTERM, so that the trainer never trains on alone with nobody reading its output.</item>
/// </list>
/// </summary>
internal sealed class StopFileWatcher : IDisposable
{
    /// <summary>The environment variable that names the stop file.</summary>
    public const string Variable = "SKILLOPT_STOP_FILE";

    /// <summary>The environment variable that names the process (its id) whose end stops the training.</summary>
    public const string ParentVariable = "SKILLOPT_PARENT_PID";

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private readonly Timer _timer;
    private readonly string? _path;
    private readonly Process? _parent;
    private readonly Action<string> _request;
    private int _fired;

    private StopFileWatcher(string? path, Process? parent, Action<string> request)
    {
        _path = path;
        _parent = parent;
        _request = request;
        _timer = new Timer(_ => Poll(), null, TimeSpan.Zero, Interval);
    }

    /// <summary>The watched file, or <see langword="null"/>.</summary>
    public string? Path => _path;

    /// <summary>
    /// Starts watching the file named by <c>SKILLOPT_STOP_FILE</c> and the process named by <c>SKILLOPT_PARENT_PID</c>;
    /// returns <see langword="null"/> when neither is set (a parent that is already gone or cannot be read is ignored).
    /// </summary>
    /// <param name="request">Called once, with a description of the request, when the file appears or the process ends.</param>
    public static StopFileWatcher? Start(Action<string> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = Environment.GetEnvironmentVariable(Variable);
        var file = string.IsNullOrWhiteSpace(path) ? null : System.IO.Path.GetFullPath(path.Trim());
        var parent = Parent(Environment.GetEnvironmentVariable(ParentVariable));
        return file is null && parent is null ? null : new StopFileWatcher(file, parent, request);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _timer.Dispose();
        _parent?.Dispose();
    }

    private static Process? Parent(string? value)
    {
        if (!int.TryParse(value?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0 || pid == Environment.ProcessId)
        {
            return null;
        }
        try
        {
            var process = Process.GetProcessById(pid);
            if (!process.HasExited)
            {
                return process;
            }
            process.Dispose();
        }
        catch (ArgumentException)
        {
            // not running
        }
        catch (InvalidOperationException)
        {
        }
        return null;
    }

    private void Poll()
    {
        if (Volatile.Read(ref _fired) != 0)
        {
            return;
        }
        string? why = null;
        if (_path is not null && File.Exists(_path))
        {
            why = $"stop requested through {Variable}";
        }
        else if (_parent is not null && ParentEnded())
        {
            why = $"the process that started the trainer ({ParentVariable} {_parent.Id}) ended";
        }
        if (why is null || Interlocked.Exchange(ref _fired, 1) != 0)
        {
            return;
        }
        _timer.Change(Timeout.Infinite, Timeout.Infinite);
        _request(why);
    }

    private bool ParentEnded()
    {
        try
        {
            return _parent!.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}
