using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SkillOpt.Core.Processes;

/// <summary>What to start as a <see cref="ChildProcess"/>.</summary>
internal sealed class ChildProcessStart
{
    private static readonly IReadOnlyDictionary<string, string?> NoVariables = new Dictionary<string, string?>();

    /// <summary>The executable (a path, or a name looked up on the <c>PATH</c>).</summary>
    public required string FileName { get; init; }

    /// <summary>Arguments, one element each (passed as an argument list, never joined into one string).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Working directory; <see langword="null"/> keeps this process's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables set on top of this process's environment, in order; a <see langword="null"/> value removes one.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Environment { get; init; } = NoVariables;

    /// <summary>Receives each line of standard output (UTF-8, without its line end), from a reader thread.</summary>
    public Action<string>? OnStdout { get; init; }

    /// <summary>Receives each line of standard error (UTF-8, without its line end), from a reader thread.</summary>
    public Action<string>? OnStderr { get; init; }

    /// <summary>Also keeps standard output and error as read, line ends included (<see cref="ChildProcess.Stdout"/>, <see cref="ChildProcess.Stderr"/>).</summary>
    public bool KeepText { get; init; }

    /// <summary>
    /// Gives the process a standard input of its own that is closed at the start, so that it reads end of file at once;
    /// <see langword="false"/> (the default) lets it share this process's standard input.
    /// </summary>
    public bool CloseStandardInput { get; init; }
}

/// <summary>What <see cref="ChildProcess.RunAsync"/> collected.</summary>
/// <param name="ExitCode">The process's exit code.</param>
/// <param name="Stdout">Its standard output, exactly as read (UTF-8).</param>
/// <param name="Stderr">Its standard error, exactly as read (UTF-8).</param>
internal sealed record ChildProcessResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// The one way this repository starts a child process: arguments as a list, environment variables set or removed,
/// standard output and error read line by line as UTF-8 (a line longer than <see cref="MaxLineChars"/> characters is cut,
/// with a note of how much), exit awaited with cancellation, and the whole process tree killed on request. Killing is
/// idempotent and safe before <see cref="Start"/>, after the exit and after <see cref="Dispose"/>. A non-zero exit code is
/// a result, never an exception.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    /// <summary>Longest line handed to a callback, in characters; the rest of a longer line is dropped and counted.</summary>
    public const int MaxLineChars = 1 << 20;

    private readonly ChildProcessStart _start;
    private readonly object _gate = new();
    private Process? _process;
    private Task _output = Task.CompletedTask;
    private bool _disposed;

    /// <summary>Describes a process; nothing runs before <see cref="Start"/>.</summary>
    /// <param name="start">What to start.</param>
    public ChildProcess(ChildProcessStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentException.ThrowIfNullOrEmpty(start.FileName);
        _start = start;
    }

    /// <summary>The process id once started; <see langword="null"/> before.</summary>
    public int? Id { get; private set; }

    /// <summary>The exit code once the process has exited; <see langword="null"/> while it runs or before it started.</summary>
    public int? ExitCode
    {
        get
        {
            lock (_gate)
            {
                try
                {
                    return _process is { } p && !_disposed && p.HasExited ? p.ExitCode : _exitCode;
                }
                catch (InvalidOperationException)
                {
                    return _exitCode;
                }
            }
        }
    }

    private int? _exitCode;
    private StringBuilder? _stdout;
    private StringBuilder? _stderr;

    /// <summary>Standard output read so far, line ends included (empty unless <see cref="ChildProcessStart.KeepText"/>).</summary>
    public string Stdout => Text(_stdout);

    /// <summary>Standard error read so far, line ends included (empty unless <see cref="ChildProcessStart.KeepText"/>).</summary>
    public string Stderr => Text(_stderr);

    private static string Text(StringBuilder? sb)
    {
        if (sb is null)
        {
            return "";
        }
        lock (sb)
        {
            return sb.ToString();
        }
    }

    /// <summary>Starts the process and its output readers.</summary>
    /// <exception cref="Win32Exception">The executable could not be started (not found, not executable).</exception>
    /// <exception cref="InvalidOperationException">Already started, or disposed.</exception>
    public void Start()
    {
        var psi = new ProcessStartInfo(_start.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = _start.CloseStandardInput,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
        };
        if (_start.WorkingDirectory is not null)
        {
            psi.WorkingDirectory = _start.WorkingDirectory;
        }
        foreach (var a in _start.Arguments)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in _start.Environment)
        {
            if (v is null)
            {
                psi.Environment.Remove(k);
            }
            else
            {
                psi.Environment[k] = v;
            }
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_process is not null)
            {
                throw new InvalidOperationException("The process was already started.");
            }
            var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
            try
            {
                if (!process.Start())
                {
                    throw new InvalidOperationException($"{_start.FileName} did not start.");
                }
            }
            catch
            {
                process.Dispose();
                throw;
            }
            if (_start.CloseStandardInput)
            {
                process.StandardInput.Close();
            }
            _process = process;
            Id = process.Id;
            _stdout = _start.KeepText ? new StringBuilder() : null;
            _stderr = _start.KeepText ? new StringBuilder() : null;
            _output = Task.WhenAll(
                PumpAsync(process.StandardOutput, _start.OnStdout, _stdout),
                PumpAsync(process.StandardError, _start.OnStderr, _stderr));
        }
    }

    /// <summary>Waits for the process to exit (not for its output: see <see cref="WaitForOutputAsync"/>) and returns its exit code.</summary>
    /// <param name="cancellationToken">Stops the wait (the process is not killed).</param>
    /// <exception cref="InvalidOperationException">Not started.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        var process = _process ?? throw new InvalidOperationException("The process was not started.");
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var code = process.ExitCode;
        lock (_gate)
        {
            _exitCode = code;
        }
        return code;
    }

    /// <summary>
    /// Waits until standard output and error are read to their end (every callback made), at most <paramref name="limit"/>:
    /// a grandchild that inherited the pipes can keep them open after the process exits.
    /// </summary>
    /// <param name="limit">Longest wait.</param>
    /// <returns><see langword="true"/> when all output was read.</returns>
    public async Task<bool> WaitForOutputAsync(TimeSpan limit)
    {
        try
        {
            await _output.WaitAsync(limit).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            return true; // the pipe broke: nothing more to read
        }
    }

    /// <summary>Kills the process and every process it started; does nothing before the start, after the exit or after disposal.</summary>
    public void Kill()
    {
        lock (_gate)
        {
            if (_process is not { } p || _disposed)
            {
                return;
            }
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
            {
                // already gone
            }
        }
    }

    /// <summary>Releases the process handle (the process itself is not killed).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            try
            {
                if (_process is { } p && p.HasExited)
                {
                    _exitCode ??= p.ExitCode;
                }
            }
            catch (InvalidOperationException)
            {
                // no exit code
            }
            _disposed = true;
            _process?.Dispose();
        }
    }

    /// <summary>
    /// Runs a process to its end and returns its output; the process tree is killed when <paramref name="cancellationToken"/>
    /// is cancelled (then <see cref="OperationCanceledException"/> is thrown). Any exit code is returned, not thrown.
    /// </summary>
    /// <param name="start">What to start (its callbacks, if any, are called as well).</param>
    /// <param name="cancellationToken">Kills the process and stops the wait.</param>
    /// <exception cref="Win32Exception">The executable could not be started.</exception>
    public static async Task<ChildProcessResult> RunAsync(ChildProcessStart start, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(start);
        using var process = new ChildProcess(new ChildProcessStart
        {
            FileName = start.FileName,
            Arguments = start.Arguments,
            WorkingDirectory = start.WorkingDirectory,
            Environment = start.Environment,
            OnStdout = start.OnStdout,
            OnStderr = start.OnStderr,
            KeepText = true,
            CloseStandardInput = start.CloseStandardInput,
        });
        process.Start();
        int code;
        try
        {
            code = await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }
        await process.WaitForOutputAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        return new ChildProcessResult(code, process.Stdout, process.Stderr);
    }

    /// <summary>Reads <paramref name="reader"/> to its end, line by line (<c>\n</c> or <c>\r\n</c>; a line longer than <see cref="MaxLineChars"/> is cut), handing each line to <paramref name="onLine"/>.</summary>
    /// <param name="reader">The stream's reader.</param>
    /// <param name="onLine">Receives each line.</param>
    /// <param name="text">Receives every character read, when given (locked while appended).</param>
    internal static async Task PumpAsync(TextReader reader, Action<string>? onLine, StringBuilder? text = null)
    {
        var buffer = new char[16_384];
        var line = new StringBuilder();
        long dropped = 0;
        int n;
        while ((n = await reader.ReadAsync(buffer.AsMemory()).ConfigureAwait(false)) > 0)
        {
            if (text is not null)
            {
                lock (text)
                {
                    text.Append(buffer, 0, n);
                }
            }
            var start = 0;
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] != '\n')
                {
                    continue;
                }
                Append(buffer, start, i - start);
                Emit();
                start = i + 1;
            }
            Append(buffer, start, n - start);
        }
        if (line.Length > 0 || dropped > 0)
        {
            Emit();
        }

        void Append(char[] chars, int from, int count)
        {
            var room = Math.Max(0, MaxLineChars - line.Length);
            line.Append(chars, from, Math.Min(room, count));
            dropped += Math.Max(0, count - room);
        }

        void Emit()
        {
            if (line.Length > 0 && line[^1] == '\r')
            {
                line.Length--;
            }
            onLine?.Invoke(dropped > 0 ? line + string.Create(CultureInfo.InvariantCulture, $"… [skillopt: {dropped} more characters of this line cut]") : line.ToString());
            line.Clear();
            dropped = 0;
        }
    }
}
