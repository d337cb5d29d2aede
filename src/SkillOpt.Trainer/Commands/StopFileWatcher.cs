namespace SkillOpt.Trainer.Commands;

/// <summary>
/// The stop request of the MSBuild task (and of any other host that cannot send Ctrl+C): when the environment variable
/// <c>SKILLOPT_STOP_FILE</c> names a file, the trainer polls for it and, once it exists, stops exactly as on a first
/// Ctrl+C (no new verifier processes, the running ones get the grace period, the last finished phase stays
/// checkpointed, exit code 130). The request works on every platform; a later Ctrl+C still stops the running verifier
/// processes at once.
/// </summary>
public sealed class StopFileWatcher : IDisposable
{
    /// <summary>The environment variable that names the stop file.</summary>
    public const string Variable = "SKILLOPT_STOP_FILE";

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private readonly Timer _timer;
    private readonly string _path;
    private readonly Action<string> _request;
    private int _fired;

    private StopFileWatcher(string path, Action<string> request)
    {
        _path = path;
        _request = request;
        _timer = new Timer(_ => Poll(), null, TimeSpan.Zero, Interval);
    }

    /// <summary>The watched file.</summary>
    public string Path => _path;

    /// <summary>
    /// Starts watching the file named by <c>SKILLOPT_STOP_FILE</c>; returns <see langword="null"/> when the variable is unset.
    /// </summary>
    /// <param name="request">Called once, with a description of the request, when the file appears.</param>
    public static StopFileWatcher? Start(Action<string> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = Environment.GetEnvironmentVariable(Variable);
        return string.IsNullOrWhiteSpace(path) ? null : new StopFileWatcher(System.IO.Path.GetFullPath(path.Trim()), request);
    }

    /// <inheritdoc/>
    public void Dispose() => _timer.Dispose();

    private void Poll()
    {
        if (Volatile.Read(ref _fired) != 0 || !File.Exists(_path) || Interlocked.Exchange(ref _fired, 1) != 0)
        {
            return;
        }
        _timer.Change(Timeout.Infinite, Timeout.Infinite);
        _request($"stop requested through {Variable}");
    }
}
