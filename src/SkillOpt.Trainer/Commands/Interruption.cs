using System.Runtime.InteropServices;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer.Commands;

/// <summary>
/// Ctrl+C and SIGTERM: the first signal cancels <see cref="Token"/> (stop launching work, let running verifier processes
/// finish within the grace period, checkpoint); the second one calls <see cref="KillNow"/>.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly TrainerConsole _console;
    private readonly TimeSpan _grace;
    private readonly StopFileWatcher? _stopFile;
    private int _signals;

    /// <summary>Starts listening for SIGINT and SIGTERM.</summary>
    /// <param name="console">Where to say what happens.</param>
    /// <param name="grace">The grace period given to running verifier processes.</param>
    public Interruption(TrainerConsole console, TimeSpan grace)
    {
        _console = console;
        _grace = grace;
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            try
            {
                _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal));
            }
            catch (PlatformNotSupportedException)
            {
                // not available on this platform; Ctrl+C then ends the process the default way
            }
        }
        _stopFile = StopFileWatcher.Start(Request);
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>True once a signal arrived.</summary>
    public bool Requested => _cts.IsCancellationRequested;

    /// <summary>Called on the second signal (kill running work now).</summary>
    public Action? KillNow { get; set; }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stopFile?.Dispose();
        foreach (var r in _registrations)
        {
            r.Dispose();
        }
        _cts.Dispose();
    }

    /// <summary>
    /// A stop request that is not a signal (the MSBuild task's stop file, see <see cref="StopFileWatcher"/>): acts as the
    /// first Ctrl+C, and does nothing once a stop was requested.
    /// </summary>
    /// <param name="source">What asked, for the message.</param>
    public void Request(string source)
    {
        if (Interlocked.CompareExchange(ref _signals, 1, 0) == 0)
        {
            _console.Info($"interrupted ({source}): no new verifier processes; running ones get {_grace.TotalSeconds:0} s to finish, then the checkpoint is kept");
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // the command already ended
            }
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _signals) == 1)
        {
            _console.Info($"interrupted ({context.Signal}): no new verifier processes; running ones get {_grace.TotalSeconds:0} s to finish, then the checkpoint is kept (press Ctrl+C again to stop them now)");
            _cts.Cancel();
        }
        else
        {
            _console.Info("stopping running verifier processes now");
            KillNow?.Invoke();
        }
    }
}
