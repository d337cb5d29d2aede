// Longer than 400 lines: the runner and the output tracker it shares with the worker pool (redaction, the output cap, which task was running) belong together.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SkillOpt.Core;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Processes;
using SkillOpt.Core.Runs;
using SkillOpt.Testing.Verifiers;

namespace SkillOpt.Trainer.Verifiers;

/// <summary>How a <see cref="VerifierProcessRunner"/> runs rollouts (<c>rollouts.isolation</c>).</summary>
internal enum VerifierIsolation
{
    /// <summary>Long-lived verifier workers, each serving many rollouts concurrently (the default).</summary>
    Worker,

    /// <summary>One verifier process per (batch, slot), started for the batch and ended with it.</summary>
    Process,
}

/// <summary>Settings of a <see cref="VerifierProcessRunner"/>.</summary>
internal sealed class VerifierRunnerOptions
{
    /// <summary>
    /// Rollouts in flight at once across the run (<c>rollouts.concurrency</c>); with <see cref="VerifierIsolation.Process"/>,
    /// verifier processes run side by side.
    /// </summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Long-lived workers or one process per batch slot (<c>rollouts.isolation</c>, default <see cref="VerifierIsolation.Worker"/>).</summary>
    public VerifierIsolation Isolation { get; init; } = VerifierIsolation.Worker;

    /// <summary>
    /// Most verifier workers alive at once with <see cref="VerifierIsolation.Worker"/> (<c>rollouts.workers</c>; default the
    /// machine's core count, at most 64). Independent of <see cref="Concurrency"/>: each worker runs many rollouts concurrently.
    /// </summary>
    public int Workers { get; init; } = Math.Clamp(System.Environment.ProcessorCount, 1, 64);

    /// <summary>
    /// Most time one verifier process may run before it is killed (<c>rollouts.timeout_seconds</c>); with
    /// <see cref="VerifierIsolation.Worker"/>, most time one rollout may run before its worker is killed.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>After cancellation, how long running processes may take to finish before they are killed.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most tasks given to one process (a longer list is cut into more processes).</summary>
    public int MaxTasksPerProcess { get; init; } = 100;

    /// <summary>
    /// Most bytes of one process's output kept in its <c>output.log</c> (<c>rollouts.max_output_bytes</c>, default 1 MiB):
    /// the first half and the last half are kept, with a line between them that says how much was cut.
    /// </summary>
    public int MaxOutputBytes { get; init; } = 1_048_576;

    /// <summary>Path of <c>skillopt.yaml</c>, passed as <c>SKILLOPT_CONFIG</c>.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Folder that holds one sub-folder per rollout (skill file, per-process results and output logs).</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Further environment variables for the verifier processes (e.g. <c>SKILLOPT_TARGET_MODEL</c> for a cross-model eval).</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}

/// <summary>What happened to one verifier process.</summary>
/// <param name="Folder">The process's folder (results and <c>output.log</c>).</param>
/// <param name="Tasks">Tasks given to it.</param>
/// <param name="Reported">Tasks it wrote a result for.</param>
/// <param name="ExitCode">Exit code, or <see langword="null"/> when it was killed.</param>
/// <param name="TimedOut">Killed after the timeout.</param>
/// <param name="Cancelled">Killed or stopped because the run was cancelled.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="OutputTail">The last lines of its output.</param>
/// <param name="Worker">
/// With <see cref="VerifierIsolation.Worker"/>: the report is of one rollout (its folder, one task), and this is the number
/// of the worker that ran it (its log is <c>workers/wNNN/output.log</c>); <see langword="null"/> for a verifier process of its own.
/// </param>
/// <param name="WorkerEnded">The rollout's worker ended (crash, <c>Environment.Exit</c>) while the rollout was in flight.</param>
internal sealed record VerifierProcessReport(string Folder, int Tasks, int Reported, int? ExitCode, bool TimedOut, bool Cancelled, TimeSpan Elapsed, string OutputTail,
    int? Worker = null, bool WorkerEnded = false)
{
    /// <summary>
    /// True when the process ended abnormally (not 0 or 1, xUnit's "all passed" and "some failed"), or the rollout's worker
    /// ended with the rollout in flight.
    /// </summary>
    public bool Crashed => !TimedOut && !Cancelled && (WorkerEnded || ExitCode is not (0 or 1));
}

/// <summary>
/// The trainer's <see cref="IRolloutRunner"/>: runs a batch of tasks by launching the verifier executable with
/// <c>-automated</c> and one <c>-trait "skillopt.task=&lt;id&gt;"</c> filter per task, several processes side by side
/// (the batch is dealt round-robin over up to <see cref="VerifierRunnerOptions.Concurrency"/> processes), each with the
/// candidate skill, results folder, sample index, configuration and stage in its environment. Results come from the
/// per-task result files; a task without one (crash, hang, timeout) is Errored with the tail of the process's output, and
/// the run goes on. Each process's output is stored in its <c>output.log</c> with every secret redacted
/// (<see cref="SecretRedaction"/>) and capped at <see cref="VerifierRunnerOptions.MaxOutputBytes"/> (head and tail kept,
/// the cut noted); a run folder that cannot be written stops the run with <c>SKOPT2010</c>.
/// </summary>
internal sealed class VerifierProcessRunner : IRolloutRunner
{
    private readonly VerifierExecutable _verifier;
    private readonly VerifierRunnerOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly object _gate = new();
    private readonly HashSet<ChildProcess> _running = [];
    private int _batches;

    /// <summary>Creates a runner.</summary>
    /// <param name="verifier">The verifier executable.</param>
    /// <param name="options">Settings.</param>
    public VerifierProcessRunner(VerifierExecutable verifier, VerifierRunnerOptions options)
    {
        _verifier = verifier ?? throw new ArgumentNullException(nameof(verifier));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTasksPerProcess, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxOutputBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Workers, 1);
        _slots = new SemaphoreSlim(options.Concurrency, options.Concurrency);
        AtomicFile.CreateDirectory(options.WorkDirectory);
        _batches = Directory.GetDirectories(options.WorkDirectory).Length;
    }

    /// <summary>Raised after each verifier process ends (from a worker thread).</summary>
    public event Action<VerifierProcessReport>? ProcessEnded;

    /// <summary>Raised after each batch: tasks, processes, wall time (from the calling thread).</summary>
    public event Action<RolloutRequest, int, TimeSpan>? BatchEnded;

    /// <summary>Kills every running verifier process now (a second Ctrl+C).</summary>
    public void KillAll()
    {
        lock (_gate)
        {
            foreach (var p in _running)
            {
                p.Kill();
            }
        }
        _pool?.KillAll("the run was stopped");
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RolloutResult>> RunAsync(RolloutRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        if (request.TaskIds.Count == 0)
        {
            return [];
        }
        using var rolloutSpan = SkillOpt.Core.Diagnostics.TrainingTelemetry.StartRollout(request);
        var sw = Stopwatch.StartNew();
        var n = Interlocked.Increment(ref _batches);
        var folder = Path.Combine(_options.WorkDirectory,
            string.Create(CultureInfo.InvariantCulture, $"{n:D5}_{Safe(request.Stage)}_s{request.SampleIndex}_{request.SkillHash[..Math.Min(12, request.SkillHash.Length)]}"));
        AtomicFile.CreateDirectory(folder);
        var skillFile = Path.Combine(folder, "skill.md");
        AtomicFile.WriteAllText(skillFile, request.Skill);

        if (_options.Isolation == VerifierIsolation.Worker && !WorkerPool.Unsupported)
        {
            var served = await Task.WhenAll(request.TaskIds.Select((id, i) =>
                RunInWorkerAsync(request, id, skillFile, Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"r{i:D3}")), cancellationToken))).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            BatchEnded?.Invoke(request, WorkerPool.Started, sw.Elapsed);
            return served;
        }
        var perProcess = Math.Min(_options.MaxTasksPerProcess, (request.TaskIds.Count + _options.Concurrency - 1) / _options.Concurrency);
        var processes = (request.TaskIds.Count + perProcess - 1) / perProcess;
        var chunks = Enumerable.Range(0, processes).Select(k => request.TaskIds.Where((_, i) => i % processes == k).ToList()).ToList();
        var runs = chunks.Select((chunk, k) => RunProcessAsync(request, chunk, skillFile, Path.Combine(folder, $"p{k:D2}"), cancellationToken)).ToList();
        var results = (await Task.WhenAll(runs).ConfigureAwait(false)).SelectMany(r => r).ToList();
        cancellationToken.ThrowIfCancellationRequested();
        BatchEnded?.Invoke(request, processes, sw.Elapsed);
        return results;
    }

    /// <summary>Verifier processes started so far by this runner's worker pool (shared with runners of the same verifier and settings).</summary>
    public int WorkersStarted => _options.Isolation == VerifierIsolation.Worker ? WorkerPool.Started : 0;

    /// <summary>Process ids of the live workers of this runner's pool (empty with <see cref="VerifierIsolation.Process"/> or before the first rollout).</summary>
    public IReadOnlyList<int> WorkerProcessIds => _pool?.ProcessIds ?? [];

    private VerifierWorkerPool WorkerPool => _pool ??= VerifierWorkerPool.For(_verifier, _options.Environment, _options.Workers, _options.MaxOutputBytes,
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(_options.WorkDirectory))!, "workers"));

    private VerifierWorkerPool? _pool;

    private async Task<RolloutResult> RunInWorkerAsync(RolloutRequest request, string taskId, string skillFile, string folder, CancellationToken ct)
    {
        try
        {
            await _slots.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return RolloutResult.Errored(taskId, "cancelled before the rollout started");
        }
        try
        {
            var resultsDir = AtomicFile.CreateDirectory(Path.Combine(folder, "results"));
            var variables = new Dictionary<string, string?>
            {
                [VerifierEnvironment.SkillFile] = skillFile,
                [VerifierEnvironment.ResultsDir] = resultsDir,
                [VerifierEnvironment.SampleIndex] = request.SampleIndex.ToString(CultureInfo.InvariantCulture),
                [VerifierEnvironment.Config] = _options.ConfigPath,
                [VerifierEnvironment.Stage] = request.Stage,
                // the rollout's own trace parent (none hides the worker's): its model-call spans join this rollout's trace
                [SkillOpt.Providers.ProviderTelemetry.TraceParentVariable] = null,
                [SkillOpt.Providers.ProviderTelemetry.TraceStateVariable] = null,
            };
            SkillOpt.Providers.ProviderTelemetry.PropagateTo(Activity.Current, variables);
            var output = new OutputTracker(Path.Combine(folder, "output.log"), _options.MaxOutputBytes);
            var sw = Stopwatch.StartNew();
            var timedOut = false;
            var cancelled = false;
            int? workerNumber = null;
            WorkerRolloutOutcome outcome;
            try
            {
                var rollout = WorkerPool.Start(taskId, variables, output.Stdout);
                workerNumber = rollout.WorkerNumber;
                using var timeout = new CancellationTokenSource(_options.Timeout);
                using var stopping = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, ct);
                var stop = Task.Delay(System.Threading.Timeout.Infinite, stopping.Token);
                if (await Task.WhenAny(rollout.Completion, stop).ConfigureAwait(false) != rollout.Completion)
                {
                    if (timeout.IsCancellationRequested)
                    {
                        timedOut = true;
                        rollout.KillWorker($"the verifier worker was killed because another of its rollouts ('{taskId}') ran past rollouts.timeout_seconds ({_options.Timeout.TotalSeconds:0.#} s)");
                    }
                    else
                    {
                        // Cancelled: let the rollout finish within the grace period (and the timeout), then kill its worker.
                        cancelled = true;
                        var grace = Task.Delay(_options.GracePeriod, timeout.Token);
                        if (await Task.WhenAny(rollout.Completion, grace).ConfigureAwait(false) != rollout.Completion)
                        {
                            rollout.KillWorker("the run was cancelled");
                        }
                    }
                }
                outcome = await rollout.Completion.WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                outcome = new WorkerRolloutOutcome(WorkerRolloutEnd.WorkerDied, "the verifier worker did not end 60 s after it was killed", null);
            }
            finally
            {
                output.Dispose();
            }
            if (output.WriteError is { } writeError)
            {
                throw OutputWriteException.From(output.Path, Path.GetDirectoryName(_options.WorkDirectory) ?? _options.WorkDirectory, writeError);
            }
            if (outcome.End == WorkerRolloutEnd.WorkerDied && !timedOut && !cancelled && !ct.IsCancellationRequested)
            {
                // The worker ended with this rollout in flight, perhaps because of another rollout: run it again alone, in a
                // verifier process of its own, so that only the rollout that crashes the verifier is Errored.
                return (await RunOneAsync(request, [taskId], skillFile, Path.Combine(folder, "isolated"), ct).ConfigureAwait(false))[0];
            }
            var result = outcome.End == WorkerRolloutEnd.Done ? ReadResult(request, taskId, resultsDir) : null;
            var reported = result is null ? 0 : 1;
            if (result is null)
            {
                var state = output.StateOf(taskId);
                var reason = timedOut
                    ? $"the rollout ran past rollouts.timeout_seconds ({_options.Timeout.TotalSeconds:0.#} s) and its verifier worker was killed; this task {state}."
                    : cancelled
                        ? $"the run was cancelled; this task {state}."
                        : outcome.End switch
                        {
                            WorkerRolloutEnd.Refused => $"the verifier worker did not run this task: {outcome.Detail}",
                            WorkerRolloutEnd.WorkerDied => $"{outcome.Detail}; this task {state}.",
                            _ => $"the verifier worker finished the rollout without a result for this task; is '{taskId}' a [SkillFact]/[SkillTheory] task of this verifier?",
                        };
                var tail = output.Tail();
                result = RolloutResult.Errored(taskId, tail.Length == 0 ? reason : $"{reason} Output tail:\n{tail}");
            }
            var died = outcome.End == WorkerRolloutEnd.WorkerDied && !timedOut && !cancelled;
            ProcessEnded?.Invoke(new VerifierProcessReport(folder, 1, reported, died ? outcome.ExitCode : timedOut ? null : 0, timedOut, cancelled, sw.Elapsed,
                died ? outcome.Detail ?? "" : output.Tail(), workerNumber, died));
            return result;
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<IReadOnlyList<RolloutResult>> RunProcessAsync(RolloutRequest request, IReadOnlyList<string> tasks, string skillFile, string folder, CancellationToken ct)
    {
        try
        {
            await _slots.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return tasks.Select(id => RolloutResult.Errored(id, "cancelled before the verifier process started")).ToList();
        }
        try
        {
            return await RunOneAsync(request, tasks, skillFile, folder, ct).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<IReadOnlyList<RolloutResult>> RunOneAsync(RolloutRequest request, IReadOnlyList<string> tasks, string skillFile, string folder, CancellationToken ct)
    {
        var resultsDir = AtomicFile.CreateDirectory(Path.Combine(folder, "results"));
        var args = new List<string> { "-automated", "-noColor", "-noLogo" };
        foreach (var id in tasks)
        {
            args.Add("-trait");
            args.Add($"skillopt.task={id}");
        }
        var env = new Dictionary<string, string?>(_options.Environment)
        {
            [VerifierEnvironment.SkillFile] = skillFile,
            [VerifierEnvironment.ResultsDir] = resultsDir,
            [VerifierEnvironment.SampleIndex] = request.SampleIndex.ToString(CultureInfo.InvariantCulture),
            [VerifierEnvironment.Config] = _options.ConfigPath,
            [VerifierEnvironment.Stage] = request.Stage,
        };
        // The verifier's model-call spans join this rollout's trace (W3C TRACEPARENT).
        SkillOpt.Providers.ProviderTelemetry.PropagateTo(Activity.Current, env);
        var output = new OutputTracker(Path.Combine(folder, "output.log"), _options.MaxOutputBytes);
        var process = _verifier.Process(args, env, output.Stdout, output.Stderr);
        var sw = Stopwatch.StartNew();
        int? exitCode = null;
        var timedOut = false;
        var cancelled = false;
        try
        {
            lock (_gate)
            {
                _running.Add(process);
            }
            process.Start();
            using var timeout = new CancellationTokenSource(_options.Timeout);
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, ct);
            var exited = process.WaitForExitAsync(CancellationToken.None);
            var stop = Task.Delay(System.Threading.Timeout.Infinite, stopping.Token);
            if (await Task.WhenAny(exited, stop).ConfigureAwait(false) != exited)
            {
                if (timeout.IsCancellationRequested)
                {
                    timedOut = true;
                    process.Kill();
                }
                else
                {
                    // Cancelled: let the process finish within the grace period (and the timeout), then kill it.
                    cancelled = true;
                    var grace = Task.Delay(_options.GracePeriod, timeout.Token);
                    if (await Task.WhenAny(exited, grace).ConfigureAwait(false) != exited)
                    {
                        process.Kill();
                    }
                }
            }
            var code = await exited.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
            // the rest of the output; a grandchild that keeps the pipes open is not waited for long
            if (!await process.WaitForOutputAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false))
            {
                output.Stderr("skillopt: stopped reading the output: the pipes stayed open 30 s after the process ended");
            }
            exitCode = timedOut || (cancelled && code is not (0 or 1)) ? null : code;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
        {
            output.Stderr($"skillopt: could not run the verifier process: {ex.Message}");
        }
        finally
        {
            lock (_gate)
            {
                _running.Remove(process);
            }
            process.Dispose();
            output.Dispose();
        }
        if (output.WriteError is { } writeError)
        {
            // the run folder refuses writes (disk full, read-only, gone): stop the run, which resumes once that is fixed
            throw OutputWriteException.From(output.Path, Path.GetDirectoryName(_options.WorkDirectory) ?? _options.WorkDirectory, writeError);
        }

        var results = new List<RolloutResult>(tasks.Count);
        var reported = 0;
        foreach (var id in tasks)
        {
            var r = ReadResult(request, id, resultsDir);
            if (r is not null)
            {
                reported++;
                results.Add(r);
                continue;
            }
            var state = output.StateOf(id);
            var tail = output.Tail();
            var reason = timedOut
                ? $"the verifier process ran past rollouts.timeout_seconds ({_options.Timeout.TotalSeconds:0.#} s) and was killed; this task {state}."
                : cancelled
                    ? $"the run was cancelled; this task {state}."
                    : exitCode is null
                        ? $"the verifier process could not run; this task {state}."
                        : exitCode is 0 or 1
                            ? $"the verifier process finished (exit code {exitCode}) without a result for this task; is '{id}' a [SkillFact]/[SkillTheory] task of this verifier (see `{SkillOpt.Testing.Gate.SkillOptCommand.ForTrainer()} list --verifier {SkillOpt.Testing.Gate.SkillOptCommand.Quote(_verifier.AssemblyPath)}`)?"
                            : $"the verifier process crashed (exit code {exitCode}); this task {state}.";
            results.Add(RolloutResult.Errored(id, tail.Length == 0 ? reason : $"{reason} Output tail:\n{tail}"));
        }
        ProcessEnded?.Invoke(new VerifierProcessReport(folder, tasks.Count, reported, exitCode, timedOut, cancelled, sw.Elapsed, output.Tail()));
        return results;
    }

    private RolloutResult? ReadResult(RolloutRequest request, string taskId, string resultsDir)
    {
        var path = VerifierResultFile.PathFor(resultsDir, taskId);
        if (!File.Exists(path))
        {
            return null;
        }
        VerifierResult file;
        try
        {
            file = VerifierResultFile.Read(path);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            BadResult?.Invoke(path, ex.Message);
            return RolloutResult.Errored(taskId, $"the result file could not be read: {ex.Message}");
        }
        string? mismatch = file.Result.TaskId != taskId ? $"it is for task '{file.Result.TaskId}'"
            : file.SkillHash is not null && !string.Equals(file.SkillHash, request.SkillHash, StringComparison.OrdinalIgnoreCase) ? $"the agent used a skill with hash {file.SkillHash[..12]}, not the candidate {request.SkillHash[..Math.Min(12, request.SkillHash.Length)]} (does the verifier read SKILLOPT_SKILL_FILE?)"
            : file.SampleIndex is { } s && s != request.SampleIndex ? $"it ran sample {s}, not {request.SampleIndex}"
            : null;
        if (mismatch is not null)
        {
            BadResult?.Invoke(path, mismatch);
            return RolloutResult.Errored(taskId, $"the result file does not match the request: {mismatch}");
        }
        return file.Result;
    }

    /// <summary>Raised when a result file is unreadable or does not match its request (path, why).</summary>
    public event Action<string, string>? BadResult;

    private static string Safe(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_');
        }
        return sb.ToString();
    }

    /// <summary>
    /// Keeps a process's output: <c>output.log</c> with secrets redacted and at most a cap of bytes (the first half, a line
    /// saying how much was cut, the last half), the last lines in memory for reasons, and which tasks started and finished.
    /// A write error (disk full…) stops the logging and is kept in <see cref="WriteError"/>.
    /// </summary>
    internal sealed class OutputTracker : IDisposable
    {
        private const int TailLines = 15;
        private readonly object _gate = new();
        private readonly StreamWriter? _log;
        private readonly long _headBudget;
        private readonly long _tailBudget;
        private readonly long _cap;
        private readonly Queue<string> _tail = new();
        private readonly Queue<(string Line, long Bytes)> _logTail = new();
        private readonly Dictionary<string, string> _taskByTestCase = new(StringComparer.Ordinal);
        private readonly HashSet<string> _started = new(StringComparer.Ordinal);
        private readonly HashSet<string> _finished = new(StringComparer.Ordinal);
        private long _headBytes;
        private long _logTailBytes;
        private long _cutBytes;
        private long _cutLines;
        private bool _cutting;
        private bool _disposed;
        private int _framesAfterMessage;

        public OutputTracker(string path, int maxBytes)
        {
            Path = path;
            _cap = maxBytes;
            _headBudget = maxBytes / 2;
            _tailBudget = maxBytes - _headBudget;
            try
            {
                _log = new StreamWriter(path, append: false, new UTF8Encoding(false));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                WriteError = ex;
            }
        }

        public string Path { get; }

        /// <summary>The error that stopped the log, if any.</summary>
        public Exception? WriteError { get; private set; }

        public void Stdout(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }
                if (line.StartsWith("{\"$type\":", StringComparison.Ordinal))
                {
                    Track(line);
                }
                line = SecretRedaction.Redact(line);
                Log(line);
                if (!line.StartsWith("{\"$type\":", StringComparison.Ordinal))
                {
                    AddTail(line);
                }
            }
        }

        public void Stderr(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }
                line = SecretRedaction.Redact(line);
                Log("[stderr] " + line);
                AddTail(line);
            }
        }

        public string StateOf(string taskId)
        {
            lock (_gate)
            {
                return _finished.Contains(taskId) ? "had finished without writing a result"
                    : _started.Contains(taskId) ? "was running"
                    : "had not started";
            }
        }

        public string Tail()
        {
            lock (_gate)
            {
                return string.Join("\n", _tail);
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }
                _disposed = true;
                if (_cutting)
                {
                    Write(string.Create(CultureInfo.InvariantCulture,
                        $"[skillopt: {_cutLines} lines ({_cutBytes} bytes) of output cut here: rollouts.max_output_bytes keeps the first and the last {_cap / 2} bytes of {_cap}]"));
                    foreach (var (line, _) in _logTail)
                    {
                        Write(line);
                    }
                }
                try
                {
                    _log?.Dispose();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    WriteError ??= ex;
                }
            }
        }

        private void Log(string line)
        {
            var bytes = Encoding.UTF8.GetByteCount(line) + 1;
            if (!_cutting && _headBytes + bytes <= _headBudget)
            {
                _headBytes += bytes;
                Write(line);
                return;
            }
            _cutting = true;
            if (bytes > _tailBudget / 2)
            {
                // keep the start of a line longer than half the tail
                line = line[..(int)Math.Min(line.Length, _tailBudget / 8)] + "… [skillopt: rest of the line cut]";
                var kept = Encoding.UTF8.GetByteCount(line) + 1;
                _cutBytes += Math.Max(0, bytes - kept);
                bytes = kept;
            }
            _logTail.Enqueue((line, bytes));
            _logTailBytes += bytes;
            while (_logTailBytes > _tailBudget && _logTail.Count > 0)
            {
                var (_, dropped) = _logTail.Dequeue();
                _logTailBytes -= dropped;
                _cutBytes += dropped;
                _cutLines++;
            }
        }

        private void Write(string line)
        {
            if (_log is null || WriteError is not null)
            {
                return;
            }
            try
            {
                _log.WriteLine(line);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                WriteError = ex;
            }
        }

        private void AddTail(string line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                return;
            }
            // Keep messages, not stack traces: only the first frame after a message stays in the tail.
            var frame = line.TrimStart().StartsWith("at ", StringComparison.Ordinal);
            if (frame && _framesAfterMessage++ > 0)
            {
                return;
            }
            if (!frame)
            {
                _framesAfterMessage = 0;
            }
            _tail.Enqueue(line.Length > 400 ? line[..400] + "…" : line);
            while (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }

        private void Track(string line)
        {
            // test-case-starting carries the traits; later messages only the test case's unique id.
            if (!line.StartsWith("{\"$type\":\"test-case-", StringComparison.Ordinal))
            {
                return;
            }
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                var type = root.GetProperty("$type").GetString();
                var id = root.TryGetProperty("TestCaseUniqueID", out var u) ? u.GetString() : null;
                if (id is null)
                {
                    return;
                }
                if (type == "test-case-starting" && root.TryGetProperty("Traits", out var traits) && traits.TryGetProperty("skillopt.task", out var t) && t.GetArrayLength() > 0)
                {
                    var task = t[0].GetString()!;
                    _taskByTestCase[id] = task;
                    _started.Add(task);
                }
                else if (type == "test-case-finished" && _taskByTestCase.TryGetValue(id, out var task))
                {
                    _finished.Add(task);
                }
            }
            catch (JsonException)
            {
                // not a message we understand; it stays in output.log
            }
        }
    }
}
