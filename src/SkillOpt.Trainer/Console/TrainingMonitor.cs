using System.Globalization;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;

namespace SkillOpt.Trainer.Console;

/// <summary>What a progress display shows at one moment (<see cref="TrainingMonitor.Snapshot"/>).</summary>
/// <param name="Phase">The running phase: <c>starting</c>, <c>baseline</c>, <c>step</c>, <c>slow_update</c>, <c>meta_skill</c>, <c>test</c> or <c>done</c>.</param>
/// <param name="Epoch">1-based epoch, 0 outside epochs.</param>
/// <param name="Step">1-based global step, 0 outside steps.</param>
/// <param name="TotalSteps">Steps in the whole run (0 until the loop says).</param>
/// <param name="Stage">The stage whose rollouts are counted (<c>rollout</c>, <c>prescreen</c>, <c>validate</c>, <c>test</c>…), or null before the first.</param>
/// <param name="RolloutsDone">Rollouts of <paramref name="Stage"/> finished since it began (cache hits never reach the runner and are not counted).</param>
/// <param name="RolloutsPlanned">Rollouts of <paramref name="Stage"/> asked for so far (a sequential gate asks chunk by chunk).</param>
/// <param name="RolloutsErrored">Rollouts of <paramref name="Stage"/> that errored.</param>
/// <param name="StageRemaining">Time left for the stage's rollouts asked for so far, at their pace; null before the first finished.</param>
/// <param name="Elapsed">Time since training started in this process.</param>
/// <param name="Remaining">Time left for the remaining steps at the pace of the steps finished in this process; null before one finished.</param>
/// <param name="Spending">Target and optimizer calls, tokens and cost (US dollars, when <c>pricing</c> has both models) so far, over resumed sessions too.</param>
/// <param name="LastGate">The last gate verdict in plain words, or null.</param>
internal sealed record ProgressSnapshot(string Phase, int Epoch, int Step, int TotalSteps, string? Stage, int RolloutsDone, int RolloutsPlanned, int RolloutsErrored,
    TimeSpan? StageRemaining, TimeSpan Elapsed, TimeSpan? Remaining, Spending Spending, string? LastGate)
{
    /// <summary>Where the run is, as the progress lines print it: <c>[epoch 1 step 2/8] </c> (or empty outside epochs).</summary>
    public string Where => Epoch > 0 && Step > 0 ? $"[epoch {Epoch} step {Step}/{TotalSteps}] " : Epoch > 0 ? $"[epoch {Epoch}] " : "";

    /// <summary>The rollout count of the stage, e.g. <c>validation: rollouts 96/240, 3 errored, 41 s left</c>; null when no stage has run.</summary>
    public string? RolloutLine => Stage is null ? null
        : $"{StageName(Stage)}: rollouts {RolloutsDone}/{RolloutsPlanned}, {RolloutsErrored} errored" + (StageRemaining is { } r && RolloutsDone < RolloutsPlanned ? $", {Duration(r)} left" : "");

    /// <summary>A rollout stage in words: <c>train rollout</c>, <c>pre-screen</c>, <c>validation</c>, <c>slow-update rollout</c>, <c>test</c>.</summary>
    /// <param name="stage">The stage (<see cref="ChatStage"/>).</param>
    public static string StageName(string stage) => stage switch
    {
        ChatStage.Rollout => "train rollout",
        ChatStage.Prescreen => "pre-screen",
        ChatStage.Validate => "validation",
        ChatStage.SlowUpdateRollout => "slow-update rollout",
        _ => stage,
    };

    /// <summary>Elapsed time, and the time left when it is known and not zero: <c>3 min 10 s elapsed, about 6 min 20 s left</c>.</summary>
    public string TimeLine => $"{Duration(Elapsed)} elapsed" + (Remaining is { } left && left >= TimeSpan.FromSeconds(1) ? $", about {Duration(left)} left" : "");

    /// <summary>A duration the way progress prints it: <c>41 s</c> (to the nearest second), <c>3 min 05 s</c>, <c>1 h 02 min</c>.</summary>
    /// <param name="span">The duration.</param>
    public static string Duration(TimeSpan span)
    {
        var seconds = (long)Math.Round(Math.Max(0, span.TotalSeconds), MidpointRounding.AwayFromZero);
        return seconds < 60 ? seconds.ToString(CultureInfo.InvariantCulture) + " s"
            : seconds < 3600 ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 60} min {seconds % 60:00} s")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600} h {seconds % 3600 / 60:00} min");
    }
}

/// <summary>
/// Collects a training's live progress for the displays (<see cref="ProgressDisplay"/>): the loop's progress events
/// (<see cref="TrainingProgress"/>), every rollout batch the runner is asked for (<see cref="MonitoredRolloutRunner"/>), every
/// optimizer call (<see cref="MonitoredChatClient"/>), and the usage of earlier sessions from the run folder's checkpoint.
/// Thread-safe. Time comes from a <see cref="TimeProvider"/>, so tests can drive it.
/// </summary>
internal sealed class TrainingMonitor : IProgress<TrainingProgress>
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly RunBudget _pricing;
    private readonly StageUsageTracker _usage = new();
    private readonly long _started;
    private string _phase = "starting";
    private int _epoch, _step, _totalSteps;
    private string? _stage;
    private int _done, _planned, _errored, _partial;
    private long _stageStarted;
    private int _stepsFinished;
    private long? _firstStepStarted;
    private double _elapsedBefore;
    private string? _lastGate;
    private long _lastOutput;

    /// <summary>Creates a monitor.</summary>
    /// <param name="options">The run's configuration (its <c>pricing</c> table turns tokens into dollars).</param>
    /// <param name="time">The clock (<see cref="TimeProvider.System"/> outside tests).</param>
    /// <param name="runFolder">The run folder: when it holds a checkpoint, its usage and wall time are the starting totals (a resumed run); may be null.</param>
    public TrainingMonitor(SkillOptOptions options, TimeProvider time, string? runFolder = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _pricing = new RunBudget(options);
        _started = _time.GetTimestamp();
        _lastOutput = _started;
        if (runFolder is not null && AtomicFile.ReadJson<RunState>(Path.Combine(runFolder, "runtime_state.json")) is { } state)
        {
            _usage.Restore(state.Usage);
            _elapsedBefore = state.ElapsedSeconds;
        }
    }

    /// <summary>The clock the monitor and its displays use.</summary>
    public TimeProvider Time => _time;

    /// <summary>Raised (outside the monitor's lock) after a gate verdict, with the verdict in plain words.</summary>
    public event Action<string>? GateDecided;

    /// <inheritdoc/>
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string? gate = null;
        lock (_gate)
        {
            if (value.TotalSteps > 0)
            {
                _totalSteps = value.TotalSteps;
            }
            if (value.Stage == TrainingProgress.PhaseStarted)
            {
                if (_phase == "step" && _firstStepStarted is not null)
                {
                    _stepsFinished++;
                }
                _phase = value.Message;
                _epoch = value.Epoch;
                _step = value.Step;
                if (_phase == "step")
                {
                    _firstStepStarted ??= _time.GetTimestamp();
                }
            }
            else if (value.Stage == "gate")
            {
                gate = _lastGate = Verdict(value.Message);
            }
            else if (value.Stage == "run" && value.Message.StartsWith("completed", StringComparison.Ordinal))
            {
                _phase = "done";
            }
        }
        if (gate is not null)
        {
            GateDecided?.Invoke(gate);
        }
    }

    /// <summary>A rollout batch was asked for.</summary>
    /// <param name="stage">Its stage.</param>
    /// <param name="tasks">Its task count.</param>
    public void RolloutsStarted(string stage, int tasks)
    {
        lock (_gate)
        {
            if (stage != _stage)
            {
                _stage = stage;
                _done = _planned = _errored = _partial = 0;
                _stageStarted = _time.GetTimestamp();
            }
            _planned += tasks;
        }
    }

    /// <summary>Part of a batch finished (one verifier process ended): shown until the batch's results arrive.</summary>
    /// <param name="tasks">Tasks the part held.</param>
    public void RolloutsReported(int tasks)
    {
        lock (_gate)
        {
            _partial += tasks;
        }
    }

    /// <summary>A rollout batch finished: its results count as done, their tokens as the stage's target usage.</summary>
    /// <param name="stage">Its stage.</param>
    /// <param name="results">Its results.</param>
    public void RolloutsFinished(string stage, IReadOnlyList<RolloutResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        lock (_gate)
        {
            _usage.AddTokens(stage, results.Aggregate(TokenUsage.Zero, (a, r) => a + r.Usage), results.Count);
            if (stage == _stage)
            {
                _done += results.Count;
                _errored += results.Count(r => r.Outcome == TaskOutcome.Errored);
                _partial = Math.Max(0, _partial - results.Count);
            }
        }
    }

    /// <summary>An optimizer call finished.</summary>
    /// <param name="stage">Its stage (<c>reflect</c>, <c>merge</c>…; <c>optimizer</c> when the request named none).</param>
    /// <param name="usage">Its tokens.</param>
    public void OptimizerCalled(string stage, TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        lock (_gate)
        {
            _usage.AddTokens(stage, usage with { Calls = Math.Max(1, usage.Calls) });
        }
    }

    /// <summary>Time since the last line of output (<see cref="Touch"/>), or since the monitor was created.</summary>
    public TimeSpan Quiet
    {
        get
        {
            lock (_gate)
            {
                return _time.GetElapsedTime(_lastOutput);
            }
        }
    }

    /// <summary>Marks a line of output as just written (<see cref="TrainerConsole"/> calls it for every line): <see cref="Quiet"/> starts again.</summary>
    public void Touch()
    {
        lock (_gate)
        {
            _lastOutput = _time.GetTimestamp();
        }
    }

    /// <summary>The progress now.</summary>
    public ProgressSnapshot Snapshot()
    {
        lock (_gate)
        {
            var elapsed = _time.GetElapsedTime(_started);
            var done = Math.Min(_planned, _done + _partial);
            TimeSpan? stageLeft = done > 0 && done < _planned ? _time.GetElapsedTime(_stageStarted) / done * (_planned - done) : null;
            TimeSpan? left = _firstStepStarted is { } first && _stepsFinished > 0 && _totalSteps > 0
                ? _time.GetElapsedTime(first) / _stepsFinished * Math.Max(0, _totalSteps - _stepsFinished)
                : null;
            var spending = _pricing.Measure(_usage.Snapshot(), _elapsedBefore + elapsed.TotalSeconds);
            return new ProgressSnapshot(_phase, _epoch, _step, _totalSteps, _stage, done, _planned, _errored, stageLeft, elapsed, _phase == "done" ? TimeSpan.Zero : left, spending, _lastGate);
        }
    }

    /// <summary>The verdict of a gate progress message without its prefix and details path.</summary>
    private static string Verdict(string message)
    {
        var m = message.StartsWith("gate: ", StringComparison.Ordinal) ? message["gate: ".Length..] : message;
        var details = m.LastIndexOf(" (details: ", StringComparison.Ordinal);
        return details > 0 ? m[..details] : m;
    }
}
