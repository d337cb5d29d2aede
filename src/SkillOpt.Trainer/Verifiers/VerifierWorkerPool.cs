// Longer than 400 lines: the pool and its workers (process, pipe, protocol messages, replacement) are one state machine.
using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Pipes;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkillOpt.Core.Processes;
using SkillOpt.Core.Runs;
using SkillOpt.Testing.Verifiers;

namespace SkillOpt.Trainer.Verifiers;

/// <summary>How a rollout served by a verifier worker ended.</summary>
internal enum WorkerRolloutEnd
{
    /// <summary>The worker ran the task (its result file says how it went).</summary>
    Done,

    /// <summary>The worker refused the request (unknown task, a failure of the worker itself); see the detail.</summary>
    Refused,

    /// <summary>The worker process ended (crash, <c>Environment.Exit</c>, killed) while the rollout was in flight.</summary>
    WorkerDied,
}

/// <summary>The end of one rollout in a worker: how, the detail, and the worker's exit code when it died.</summary>
internal sealed record WorkerRolloutOutcome(WorkerRolloutEnd End, string? Detail, int? ExitCode);

/// <summary>
/// Long-lived verifier processes in worker mode (<c>SKILLOPT_WORKER=1</c>, protocol 1 of docs/verifiers.md), started
/// lazily up to a fixed count and shared by every runner of the trainer with the same verifier, worker count and
/// environment. A rollout goes to the live worker with the fewest rollouts in flight (a new worker is started while
/// fewer than the count run and all are busy). A worker that ends errors only its own in-flight rollouts and is replaced
/// by the next request. Each worker gets a named pipe of its own for the protocol (its standard output and error go to its
/// <c>output.log</c>); workers end on an <c>exit</c> request (<see cref="EndScopeAsync"/>), or when the trainer exits and
/// their pipe closes.
/// </summary>
internal sealed class VerifierWorkerPool
{
    private static readonly ConcurrentDictionary<string, VerifierWorkerPool> Shared = new(StringComparer.Ordinal);
    private readonly VerifierExecutable _verifier;
    private readonly IReadOnlyDictionary<string, string?> _environment;
    private readonly int _size;
    private readonly int _maxOutputBytes;
    private readonly object _gate = new();
    private readonly List<Worker> _workers = [];
    private int _started;

    static VerifierWorkerPool() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var pool in Shared.Values)
        {
            pool.KillAll("the trainer exited");
        }
    };

    private VerifierWorkerPool(VerifierExecutable verifier, IReadOnlyDictionary<string, string?> environment, int size, int maxOutputBytes, string logDirectory)
    {
        _verifier = verifier;
        _environment = environment;
        _size = size;
        _maxOutputBytes = maxOutputBytes;
        LogDirectory = logDirectory;
    }

    /// <summary>Folder of the workers' own logs (<c>wNNN.log</c>: what a worker printed outside its rollouts).</summary>
    public string LogDirectory { get; }

    /// <summary>Worker processes started so far (replacements included).</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>Process ids of the live workers.</summary>
    public IReadOnlyList<int> ProcessIds
    {
        get
        {
            lock (_gate)
            {
                return [.. _workers.Where(w => !w.Ended && w.ProcessId is not null).Select(w => w.ProcessId!.Value)];
            }
        }
    }

    /// <summary>The pool for this verifier, worker count and environment (created on first use; its log folder is the first caller's).</summary>
    public static VerifierWorkerPool For(VerifierExecutable verifier, IReadOnlyDictionary<string, string?> environment, int size, int maxOutputBytes, string logDirectory)
    {
        var key = new StringBuilder(verifier.AssemblyPath).Append('|').Append(size).Append('|').Append(maxOutputBytes);
        foreach (var (k, v) in environment.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            key.Append('|').Append(k).Append('=').Append(v);
        }
        var pool = Shared.GetOrAdd(key.ToString(), k => new VerifierWorkerPool(verifier, environment, size, maxOutputBytes, logDirectory) { _key = k });
        if (Scope.Value is { } scope)
        {
            lock (scope)
            {
                if (!scope.Contains(pool))
                {
                    scope.Add(pool);
                }
            }
        }
        return pool;
    }

    /// <summary>
    /// Sends one rollout to a worker. <paramref name="onOutput"/> gets the rollout's xUnit messages (JSON lines). The
    /// returned handle completes when the worker says the rollout is done or the worker ends.
    /// </summary>
    /// <param name="taskId">The task to run.</param>
    /// <param name="variables">The rollout's own environment variables (skill file, results folder, sample, stage, configuration).</param>
    /// <param name="onOutput">Receives the rollout's output lines (from a reader thread).</param>
    public WorkerRollout Start(string taskId, IReadOnlyDictionary<string, string?> variables, Action<string> onOutput)
    {
        Worker worker;
        lock (_gate)
        {
            _unsupported |= _workers.Any(w => w.NeverReady);
            _workers.RemoveAll(w => w.Ended);
            var idle = _workers.OrderBy(w => w.InFlight).FirstOrDefault();
            if (idle is null || (idle.InFlight > 0 && _workers.Count < _size))
            {
                Interlocked.Increment(ref _started);
                idle = new Worker(this, taskId);
                _workers.Add(idle);
            }
            worker = idle;
        }
        return worker.Send(taskId, variables, onOutput);
    }

    /// <summary>True once a worker ended before it served anything without being killed: the verifier does not speak the protocol.</summary>
    public bool Unsupported
    {
        get
        {
            lock (_gate)
            {
                return _unsupported;
            }
        }
    }

    private bool _unsupported;
    private string _key = "";

    /// <summary>
    /// Starts collecting the pools first used on this flow (a trainer command): <see cref="EndScopeAsync"/> stops their
    /// workers when the command ends.
    /// </summary>
    public static void BeginScope() => Scope.Value = new List<VerifierWorkerPool>();

    /// <summary>
    /// Asks every worker of the pools first used since <see cref="BeginScope"/> to end once its rollouts finish (an
    /// <c>exit</c> request), waits up to <paramref name="wait"/> for each, then kills those still running, and waits
    /// (at most a minute) for the logs of workers that ended earlier (a crash) to be complete. The trainer calls this
    /// when a command ends.
    /// </summary>
    /// <param name="wait">How long a worker may take to end.</param>
    public static async Task EndScopeAsync(TimeSpan wait)
    {
        var pools = Scope.Value;
        Scope.Value = null;
        if (pools is null)
        {
            return;
        }
        List<VerifierWorkerPool> ended;
        lock (pools)
        {
            ended = [.. pools];
        }
        var workers = new List<Worker>();
        foreach (var pool in ended)
        {
            Shared.TryRemove(new KeyValuePair<string, VerifierWorkerPool>(pool._key, pool));
            lock (pool._gate)
            {
                workers.AddRange(pool._workers.Where(w => !w.Ended));
                pool._workers.Clear();
            }
        }
        await Task.WhenAll(workers.Select(w => w.StopAsync(wait))).ConfigureAwait(false);
        try
        {
            await Task.WhenAll(Unfinished.Where(kv => ended.Contains(kv.Key.Pool)).Select(kv => kv.Value)).WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // their logs stay as far as they got
        }
    }

    private static readonly AsyncLocal<List<VerifierWorkerPool>?> Scope = new();

    /// <summary>Workers whose process and log are not finished yet.</summary>
    private static readonly ConcurrentDictionary<Worker, Task> Unfinished = new();

    /// <summary>Kills every worker (their in-flight rollouts end as <see cref="WorkerRolloutEnd.WorkerDied"/>).</summary>
    /// <param name="reason">Why, for the rollouts' reasons.</param>
    public void KillAll(string reason)
    {
        List<Worker> all;
        lock (_gate)
        {
            all = [.. _workers];
        }
        foreach (var w in all)
        {
            w.Kill(reason);
        }
    }

    /// <summary>One rollout in flight in a worker.</summary>
    internal sealed class WorkerRollout(Worker worker, long id)
    {
        private readonly TaskCompletionSource<WorkerRolloutOutcome> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the rollout ends.</summary>
        public Task<WorkerRolloutOutcome> Completion => _done.Task;

        /// <summary>The worker's number: its log folder is <c>wNNN</c> (1-based, the first free one).</summary>
        public int WorkerNumber => worker.Number;

        internal long Id => id;

        internal Action<string>? Output { get; init; }

        /// <summary>Kills the worker this rollout runs in (a hung rollout; its other in-flight rollouts end too).</summary>
        /// <param name="reason">Why, for the other rollouts' reasons.</param>
        public void KillWorker(string reason) => worker.Kill(reason);

        internal void Complete(WorkerRolloutOutcome outcome) => _done.TrySetResult(outcome);
    }

    /// <summary>One worker process and its pipe.</summary>
    internal sealed class Worker
    {
        private static int _pipes;
        private readonly string _hostTask;
        private readonly object _gate = new();
        private readonly Dictionary<long, WorkerRollout> _pending = [];
        private readonly VerifierProcessRunner.OutputTracker _log;
        private readonly ChildProcess? _process;
        private readonly NamedPipeServerStream? _pipe;
        private readonly StreamWriter? _writer;
        private readonly Task _connected = Task.CompletedTask;
        private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _next;
        private string? _killReason;
        private bool _ended;
        private bool _ready;

        public Worker(VerifierWorkerPool pool, string hostTask)
        {
            Pool = pool;
            _hostTask = hostTask;
            var folder = NewLogFolder(pool.LogDirectory);
            Number = int.Parse(Path.GetFileName(folder)[1..], CultureInfo.InvariantCulture);
            _log = new VerifierProcessRunner.OutputTracker(Path.Combine(folder, "output.log"), pool._maxOutputBytes);
            // short: on Unix a pipe is a socket file whose path has a small length limit
            var pipeName = string.Create(CultureInfo.InvariantCulture, $"skopt-{Environment.ProcessId}-{Interlocked.Increment(ref _pipes)}-{Guid.NewGuid().ToString("N")[..8]}");
            var env = new Dictionary<string, string?>(pool._environment)
            {
                [VerifierEnvironment.Worker] = "1",
                [VerifierEnvironment.WorkerPipe] = pipeName,
            };
            try
            {
                _pipe = new NamedPipeServerStream(pipeName, PipeDirection.InOut, 1, PipeTransmissionMode.Byte, PipeOptions.Asynchronous);
                _writer = new StreamWriter(_pipe, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { AutoFlush = false };
                _connected = _pipe.WaitForConnectionAsync();
                _process = pool._verifier.Process(["-automated", "-noColor", "-noLogo", "-trait", $"skillopt.task={hostTask}"], env, _log.Stdout, _log.Stderr);
                _process.Start();
                ProcessId = _process.Id;
                Unfinished[this] = _exited.Task;
                _ = RunAsync(_process, _pipe);
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                _log.Stderr($"skillopt: could not start the verifier worker: {ex.Message}");
                _killReason = $"the verifier worker could not start: {ex.Message}";
                _ended = true;
                _log.Dispose();
                _pipe?.Dispose();
                _process?.Dispose();
                _exited.TrySetResult();
            }
        }

        public int Number { get; }

        public VerifierWorkerPool Pool { get; }

        /// <summary>The first free <c>wNNN</c> folder (pools and trainers that resume share the log folder: nothing is overwritten).</summary>
        private static string NewLogFolder(string logDirectory)
        {
            lock (LogFolderGate)
            {
                AtomicFile.CreateDirectory(logDirectory);
                for (var n = 1; ; n++)
                {
                    var folder = Path.Combine(logDirectory, string.Create(CultureInfo.InvariantCulture, $"w{n:D3}"));
                    if (!Directory.Exists(folder))
                    {
                        return AtomicFile.CreateDirectory(folder);
                    }
                }
            }
        }

        private static readonly object LogFolderGate = new();

        public int? ProcessId { get; private set; }

        public bool Ended { get { lock (_gate) { return _ended; } } }

        /// <summary>
        /// Ended without serving, after running its host task as an ordinary test: it does not speak the protocol (a
        /// verifier built against a SkillOpt.Testing without worker mode).
        /// </summary>
        public bool NeverReady { get { lock (_gate) { return _ended && !_ready && _killReason is null && _log.StateOf(_hostTask) != "had not started"; } } }

        public int InFlight { get { lock (_gate) { return _pending.Count; } } }

        public WorkerRollout Send(string taskId, IReadOnlyDictionary<string, string?> variables, Action<string> onOutput)
        {
            WorkerRollout rollout;
            lock (_gate)
            {
                rollout = new WorkerRollout(this, ++_next) { Output = onOutput };
                if (_ended || _process is null)
                {
                    rollout.Complete(new WorkerRolloutOutcome(WorkerRolloutEnd.WorkerDied, _killReason ?? "the verifier worker had ended", null));
                    return rollout;
                }
                _pending[rollout.Id] = rollout;
            }
            var env = new JsonObject();
            foreach (var (k, v) in variables)
            {
                env[k] = v;
            }
            _ = WriteAsync(new JsonObject { ["type"] = "run", ["id"] = rollout.Id, ["task"] = taskId, ["env"] = env });
            return rollout;
        }

        /// <summary>Asks the worker to end once its rollouts finish, waits up to <paramref name="wait"/>, then kills it.</summary>
        public async Task StopAsync(TimeSpan wait)
        {
            await WriteAsync(new JsonObject { ["type"] = "exit" }).ConfigureAwait(false);
            if (await Task.WhenAny(_exited.Task, Task.Delay(wait)).ConfigureAwait(false) != _exited.Task)
            {
                Kill("the trainer stopped its verifier workers");
                await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
        }

        public void Kill(string reason)
        {
            lock (_gate)
            {
                if (_ended || _process is null)
                {
                    return;
                }
                _killReason ??= reason;
            }
            _process.Kill();
        }

        private readonly SemaphoreSlim _writeGate = new(1, 1);

        private async Task WriteAsync(JsonObject message)
        {
            if (_writer is null)
            {
                return;
            }
            await _writeGate.WaitAsync().ConfigureAwait(false);
            try
            {
                await _connected.ConfigureAwait(false);
                await _writer.WriteLineAsync(message.ToJsonString()).ConfigureAwait(false);
                await _writer.FlushAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
            {
                // the worker is going away; its exit completes the rollout
            }
            finally
            {
                _writeGate.Release();
            }
        }

        private async Task RunAsync(ChildProcess process, NamedPipeServerStream pipe)
        {
            var exit = process.WaitForExitAsync(CancellationToken.None);
            try
            {
                if (await Task.WhenAny(_connected, exit).ConfigureAwait(false) == _connected && _connected.IsCompletedSuccessfully)
                {
                    using var reader = new StreamReader(pipe, new UTF8Encoding(false), false, 1 << 16, leaveOpen: true);
                    string? line;
                    while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null)
                    {
                        OnMessage(line);
                    }
                }
                await exit.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // the pipe closed but the process lives on: it no longer serves rollouts
                Kill("the verifier worker closed its pipe");
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
            {
                _log.Stderr($"skillopt: lost the verifier worker's pipe: {ex.Message}");
                Kill("the trainer lost the verifier worker's pipe");
            }
            try
            {
                await exit.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                if (!await process.WaitForOutputAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false))
                {
                    _log.Stderr("skillopt: stopped reading the verifier worker's output: the pipes stayed open 30 s after the process ended");
                }
            }
            catch (Exception ex) when (ex is TimeoutException or IOException or InvalidOperationException)
            {
                _log.Stderr($"skillopt: stopped reading the verifier worker's output: {ex.Message}");
            }
            var exitCode = process.ExitCode;
            List<WorkerRollout> orphans;
            string reason;
            lock (_gate)
            {
                _ended = true;
                orphans = [.. _pending.Values];
                _pending.Clear();
                var code = exitCode?.ToString(CultureInfo.InvariantCulture) ?? "none";
                reason = _killReason is { } killed ? $"{killed} (exit code {code})"
                    : _ready ? $"the verifier worker ended (exit code {code}) while this rollout was in flight"
                    : $"the verifier worker ended (exit code {code}) before it was ready";
            }
            var tail = _log.Tail();
            _log.Dispose();
            foreach (var r in orphans)
            {
                r.Complete(new WorkerRolloutOutcome(WorkerRolloutEnd.WorkerDied, tail.Length == 0 ? reason : $"{reason}. Worker output tail:\n{tail}", exitCode));
            }
            await pipe.DisposeAsync().ConfigureAwait(false);
            process.Dispose();
            Unfinished.TryRemove(this, out _);
            _exited.TrySetResult();
        }

        private void OnMessage(string line)
        {
            try
            {
                var message = JsonNode.Parse(line)!.AsObject();
                var kind = message["$skillopt"]?.GetValue<string>();
                if (kind == "ready")
                {
                    lock (_gate)
                    {
                        _ready = true;
                    }
                    return;
                }
                var id = message["id"]?.GetValue<long>();
                WorkerRollout? rollout = null;
                lock (_gate)
                {
                    if (id is { } i && _pending.TryGetValue(i, out rollout) && kind == "done")
                    {
                        _pending.Remove(i);
                    }
                }
                if (rollout is null)
                {
                    _log.Stdout("[pipe] " + line);
                    return;
                }
                if (kind == "output")
                {
                    rollout.Output?.Invoke(message["line"]?.GetValue<string>() ?? "");
                }
                else if (kind == "done")
                {
                    var error = message["error"]?.GetValue<string>();
                    rollout.Complete(new WorkerRolloutOutcome(error is null ? WorkerRolloutEnd.Done : WorkerRolloutEnd.Refused, error, null));
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                _log.Stdout("[pipe] " + line);
            }
        }
    }
}
