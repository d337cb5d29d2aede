using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Training;

/// <summary>
/// The SkillOpt optimisation loop (docs/method.md, "One run"): the baseline validation; per step a rollout of the current
/// skill on a train batch, reflection over failure and success minibatches, hierarchical merge, rejected-edit filtering,
/// ranking down to the textual learning rate, edit application, the pre-screen and the validation gate; end-of-epoch slow
/// update (gated in the default preset) and meta skill; early stopping; final test scores. Each phase of the method is its
/// own type (<see cref="BaselinePhase"/>, <see cref="StepPhase"/>, <see cref="SlowUpdatePhase"/>,
/// <see cref="MetaSkillPhase"/>, <see cref="EarlyStopping"/>, <see cref="TestPhase"/>); this class runs the plan of phases
/// and checkpoints each in the run folder, so re-running with the same folder resumes after the last finished phase.
/// </summary>
internal sealed class SkillTrainingLoop
{
    private readonly SkillOptOptions _options;
    private readonly IRolloutRunner _runner;
    private readonly IChatClient _optimizerClient;
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly ChatOptions? _optimizerOptions;
    private readonly IValidationGate? _gate;
    private readonly RunStore _store;
    // built by Build when the run starts
    private TrainingContext _context = null!;
    private RolloutPhase _rollouts = null!;
    private BaselinePhase _baseline = null!;
    private StepPhase _step = null!;
    private SlowUpdatePhase _slowUpdate = null!;
    private MetaSkillPhase _metaSkill = null!;
    private TestPhase _test = null!;
    private EarlyStopping _earlyStopping = null!;
    private RunReport _report = null!;

    /// <summary>Creates a loop; its phases are built when <see cref="RunAsync"/> starts.</summary>
    /// <param name="options">Configuration (its preset is applied here if it was not yet).</param>
    /// <param name="runner">Runs tasks with a skill (the target model lives behind it).</param>
    /// <param name="optimizerClient">The optimizer model.</param>
    /// <param name="runFolder">Run folder; created when missing, resumed when it holds a checkpoint.</param>
    /// <param name="progress">Receives one event per stage; may be null.</param>
    /// <param name="optimizerOptions">Options copied into every optimizer request (model id, temperature…); may be null.</param>
    /// <param name="gate">The validation gate; by default the one <c>gate.kind</c> names (<see cref="PairedSequentialGate"/>, <see cref="PosteriorPairedGate"/> or <see cref="StrictImprovementGate"/>).</param>
    public SkillTrainingLoop(SkillOptOptions options, IRolloutRunner runner, IChatClient optimizerClient, string runFolder,
        IProgress<TrainingProgress>? progress = null, ChatOptions? optimizerOptions = null, IValidationGate? gate = null)
    {
        _options = (options ?? throw new ArgumentNullException(nameof(options))).ApplyPreset();
        _runner = runner ?? throw new ArgumentNullException(nameof(runner));
        _optimizerClient = optimizerClient ?? throw new ArgumentNullException(nameof(optimizerClient));
        _progress = progress;
        _optimizerOptions = optimizerOptions;
        _gate = gate;
        _store = new RunStore(runFolder);
    }

    /// <summary>The run folder.</summary>
    public RunStore Store => _store;

    /// <summary>Resolves the run's settings and builds its phases.</summary>
    private void Build(int validationTasks)
    {
        var settings = TrainingSettings.Resolve(_options);
        _context = new TrainingContext(settings, _store, new RunBudget(_options), _progress);
        var optimizer = new OptimizerModel(new StructuredCaller(_optimizerClient, _optimizerOptions, _context.Usage, _context.ReplyFailures), settings.Reflection.OptimizerConcurrency);
        var applier = new EditApplier(settings.Edits);
        var lr = settings.Reflection.LearningRate;
        _rollouts = new RolloutPhase(_context, _runner);
        var gatePhase = new GatePhase(_context, _rollouts, applier, _gate, validationTasks);
        _baseline = new BaselinePhase(_context, _rollouts);
        _step = new StepPhase(_context, _rollouts, new ProposalPhase(_context, optimizer, applier), new PrescreenPhase(_context, _rollouts), gatePhase,
            LearningRateSchedule.Create(lr.Schedule, lr.Max, lr.Min));
        var epochComparison = new EpochComparison(_context, _rollouts);
        _slowUpdate = new SlowUpdatePhase(_context, _rollouts, optimizer, gatePhase, epochComparison);
        _metaSkill = new MetaSkillPhase(_context, optimizer, epochComparison);
        _test = new TestPhase(_context, _rollouts, gatePhase);
        _earlyStopping = new EarlyStopping(_context, _rollouts, gatePhase);
        _report = new RunReport(_context, _earlyStopping);
    }

    /// <summary>Runs (or resumes) training and returns the summary also written to <c>summary.json</c>.</summary>
    /// <param name="initialSkill">The skill to start from.</param>
    /// <param name="splits">Task ids by split; train and validation must not be empty.</param>
    /// <param name="cancellationToken">Stops the run after the last finished phase (its checkpoint is on disk).</param>
    /// <exception cref="OperationCanceledException">Cancelled; re-running resumes.</exception>
    /// <exception cref="RolloutErrorsException">Too many rollouts errored.</exception>
    /// <exception cref="InvalidOperationException">The run folder belongs to a run with another configuration, task split or initial skill.</exception>
    /// <exception cref="SkillFormatException">The initial skill has an unclosed protected marker.</exception>
    public async Task<RunSummary> RunAsync(string initialSkill, TaskSplits splits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(initialSkill);
        ArgumentNullException.ThrowIfNull(splits);
        if (splits.Train.Count == 0 || splits.Validation.Count == 0)
        {
            throw new ArgumentException($"Training needs train and validation tasks (got {splits.Train.Count} train, {splits.Validation.Count} validation).", nameof(splits));
        }
        Build(splits.Validation.Count);
        var settings = _context.Settings;
        var store = _context.Store;
        var plan = PhasePlan.Build(settings.Epochs, _context.BatchesPerEpoch(splits), settings.SlowUpdate.Enabled, settings.MetaSkill.Enabled, settings.MetaSkill.InLastEpoch,
            settings.Reference.SlowUpdatePlaceholder, settings.SlowUpdate.InLastEpoch);
        var totalSteps = plan.Count(p => p.Kind == PhaseKind.Step);
        var state = OpenRun(initialSkill, splits, plan, totalSteps);
        if (!settings.AllowVerifierText)
        {
            _context.LeakGuard.Load(_context.LiteralsPath);
        }
        if (state.CompletedPhases == 0 && _context.Budget.Estimate(totalSteps, splits.Train.Count, splits.Validation.Count) is { } estimate)
        {
            _context.Report("budget", estimate, 0, 0, totalSteps);
        }
        if (state.CompletedPhases == 0 && !_options.IsClassic && settings.Gate.Kind == "strict")
        {
            _context.Report("run", string.Create(CultureInfo.InvariantCulture,
                $"gate: strict, with a futility stop at {settings.Gate.StrictStopProbability}{(settings.Gate.StrictStopProbability > 0 ? $" (checked every {settings.Gate.ChunkSizeFor(splits.Validation.Count)} validation tasks)" : "")}{(settings.Gate.StrictTaskDifficulty && settings.Gate.StrictStopProbability > 0 ? " that reads each task by its difficulty" : "")}, in the reference's loop with candidates validated on fresh samples and verifier text hidden (gate.kind: posterior runs the default preset's own loop)"),
                0, 0, totalSteps);
        }
        if (state.CompletedPhases == 0 && settings.Prescreen.Enabled && !settings.Prescreen.RunsFor(splits.Validation.Count))
        {
            // stage "run", not "gate": the live monitor reads every "gate" report as a candidate's verdict
            _context.Report("run", string.Create(CultureInfo.InvariantCulture,
                $"no pre-screen: the validation split has {splits.Validation.Count} tasks, more than gate.prescreen.max_validation_tasks = {settings.Prescreen.MaxValidationTasks}; every candidate goes to the validation gate"),
                0, 0, totalSteps);
        }
        var buffer = RejectedEditBuffer.Load(store.RejectedEditsPath);
        buffer.RollBackTo(state.CompletedPhases);
        var stepBuffer = StepBuffer.Load(_context.StepBufferPath);
        stepBuffer.RollBackTo(state.CompletedPhases);
        var run = new RunScope(splits, plan, totalSteps, buffer, [.. store.ReadHistory().Where(h => h.Phase < state.CompletedPhases)], stepBuffer);
        var session = new SessionBase(state.ErroredRollouts, state.CacheHits);
        _context.StartSession(state.ElapsedSeconds);

        string? stopReason = null;
        using var trainingSpan = Diagnostics.TrainingTelemetry.StartTraining(store.Root, plan.Count, state.CompletedPhases);
        foreach (var phase in plan.Skip(state.CompletedPhases))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var phaseSpan = Diagnostics.TrainingTelemetry.StartPhase(phase);
            if (state.StoppedEarlyAfterStep is not null && phase.Kind != PhaseKind.Test)
            {
                continue; // early stopping: only the test is left
            }
            if (_context.Budget.Exhausted(_context.Budget.Measure(_context.Usage.Snapshot(), state.ElapsedSeconds)) is { } exhausted)
            {
                stopReason = exhausted;
                _context.Report("budget", $"stopping: {exhausted}; the best skill so far is kept", phase.Epoch, phase.Step, totalSteps);
                break;
            }
            (state, stopReason) = await RunPhaseAsync(run, state, phase, session, cancellationToken).ConfigureAwait(false);
            if (stopReason is not null)
            {
                break;
            }
        }

        var summary = _report.Summarize(run, state, stopReason);
        AtomicFile.WriteAllText(store.BestSkillPath, store.ReadSkill(state.BestHash));
        AtomicFile.WriteJson(store.SummaryPath, summary);
        _context.Report("run", string.Create(CultureInfo.InvariantCulture, $"{summary.Status}: best validation {summary.Best.Validation:0.###} (initial {summary.Initial.Validation:0.###}), {state.Accepted} accepted, {state.Rejected} rejected; ")
            + $"best skill {state.BestHash[..12]}, initial skill {state.InitialHash[..12]}, each its mean over every validation draw it had on the {run.Splits.Validation.Count} val tasks", 0, totalSteps, totalSteps);
        return summary;
    }

    /// <summary>
    /// Runs one phase of the plan — 1. baseline, 2. a step, 3. the slow update or the meta skill at an epoch's end, 5. the
    /// test — then 4. early stopping's decision, and checkpoints. Returns the state after it, and why the run stops when a
    /// budget ran out during the phase (the phase is then abandoned: its rollouts are cached, so resuming with a larger budget
    /// redoes it cheaply).
    /// </summary>
    private static string PhaseName(PhaseKind kind) => kind switch
    {
        PhaseKind.Baseline => "baseline",
        PhaseKind.Step => "step",
        PhaseKind.SlowUpdate => "slow_update",
        PhaseKind.MetaSkill => "meta_skill",
        _ => "test",
    };

    private async Task<(RunState, string?)> RunPhaseAsync(RunScope run, RunState state, Phase phase, SessionBase session, CancellationToken ct)
    {
        _context.Report(TrainingProgress.PhaseStarted, PhaseName(phase.Kind), phase.Epoch, phase.Step, run.TotalSteps);
        var usage = _context.Usage;
        var before = usage.Snapshot();
        var failuresBefore = _context.ReplyFailures.Snapshot();
        var sw = Stopwatch.StartNew();
        RunState next;
        HistoryRecord record;
        string? ceiling = null;
        // the last step finished once this phase is done (a slow update follows its epoch's last step)
        var stepsDone = phase.Kind == PhaseKind.Step ? phase.Step : run.History.Count == 0 ? 0 : run.History.Max(h => h.Step ?? 0);
        try
        {
            (next, record) = phase.Kind switch
            {
                PhaseKind.Baseline => await _baseline.RunAsync(run, state, ct).ConfigureAwait(false),
                PhaseKind.Step => await _step.RunAsync(run, state, phase, ct).ConfigureAwait(false),
                PhaseKind.SlowUpdate => await _slowUpdate.RunAsync(run, state, phase, ct).ConfigureAwait(false),
                PhaseKind.MetaSkill => await _metaSkill.RunAsync(run, state, phase, ct).ConfigureAwait(false),
                _ => await _test.RunAsync(run, state, ct).ConfigureAwait(false),
            };
            if (phase.Kind is PhaseKind.Baseline or PhaseKind.Step or PhaseKind.SlowUpdate && stepsDone < run.TotalSteps)
            {
                ceiling = await _earlyStopping.CeilingAsync(run, next, ct).ConfigureAwait(false);
            }
        }
        catch (BudgetExhaustedException ex)
        {
            _context.Report("budget", $"stopping: {ex.Message}; the best skill so far is kept", phase.Epoch, phase.Step, run.TotalSteps);
            state = state with { Usage = usage.Snapshot(), ElapsedSeconds = state.ElapsedSeconds + sw.Elapsed.TotalSeconds };
            AtomicFile.WriteJson(_context.Store.StatePath, state);
            return (state, ex.Message);
        }
        state = next;
        sw.Stop();
        var failuresAfter = _context.ReplyFailures.Snapshot();
        run.History.Add(record with
        {
            Phase = phase.Index,
            Usage = StageUsageTracker.Delta(before, usage.Snapshot()),
            Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3),
            RepliesRepaired = failuresAfter.Values.Sum(v => v.Repaired) - failuresBefore.Values.Sum(v => v.Repaired),
            RepliesFailed = failuresAfter.Values.Sum(v => v.Failed) - failuresBefore.Values.Sum(v => v.Failed),
        });
        var epochEnds = state.EpochEndHashes.ToList();
        if (IsLastPhaseOfEpoch(run.Plan, phase))
        {
            epochEnds.Add(state.CurrentHash);
        }
        state = state with
        {
            CompletedPhases = phase.Index + 1,
            Usage = usage.Snapshot(),
            ReplyFailures = _context.ReplyFailures.Snapshot(),
            ErroredRollouts = session.ErroredRollouts + _rollouts.ErroredAttempts,
            EpochEndHashes = epochEnds,
            ElapsedSeconds = state.ElapsedSeconds + sw.Elapsed.TotalSeconds,
            CacheHits = session.CacheHits + _rollouts.CacheHits,
        };
        state = _report.WarnAboutBudget(state, phase, run.TotalSteps);
        state = _earlyStopping.Decide(run, state, phase, stepsDone, ceiling);
        Checkpoint(run, state);
        return (state, null);
    }

    /// <summary>Writes the phase's checkpoint; the state file last, so a run killed before it redoes the phase.</summary>
    private void Checkpoint(RunScope run, RunState state)
    {
        var store = _context.Store;
        if (!_context.Settings.AllowVerifierText)
        {
            _context.LeakGuard.Save(_context.LiteralsPath);
        }
        AtomicFile.WriteJson(store.HistoryPath, run.History);
        run.Buffer.Save(store.RejectedEditsPath);
        if (_context.Settings.Reference.StepBuffer)
        {
            run.StepBuffer.Save(_context.StepBufferPath);
        }
        AtomicFile.WriteAllText(store.BestSkillPath, store.ReadSkill(state.BestHash));
        AtomicFile.WriteJson(store.StatePath, state);
    }

    /// <summary>The checkpoint to continue from: the stored one (after checking it belongs to this run), or a fresh one.</summary>
    private RunState OpenRun(string initialSkill, TaskSplits splits, IReadOnlyList<Phase> plan, int totalSteps)
    {
        var store = _context.Store;
        var initialDoc = SkillDocument.Parse(initialSkill);
        var fingerprint = Fingerprint(splits);
        var state = AtomicFile.ReadJson<RunState>(store.StatePath);
        if (state is not null)
        {
            if (state.Fingerprint != fingerprint)
            {
                throw new InvalidOperationException($"The run folder {store.Root} holds a run started with another configuration or task split; use a new folder (or delete it) to start over.");
            }
            if (state.InitialHash != initialDoc.Hash)
            {
                throw new InvalidOperationException($"The run folder {store.Root} holds a run started from another initial skill; use a new folder (or delete it) to start over.");
            }
            _context.Usage.Restore(state.Usage);
            _context.ReplyFailures.Restore(state.ReplyFailures);
            _context.Report("run", $"resuming after phase {state.CompletedPhases} of {plan.Count}", 0, 0, totalSteps);
            return state;
        }
        store.SaveSkill(initialDoc.Hash, initialSkill);
        store.WriteSkillVersion(0, initialSkill);
        return new RunState
        {
            Fingerprint = fingerprint,
            InitialHash = initialDoc.Hash,
            CurrentHash = initialDoc.Hash,
            BestHash = initialDoc.Hash,
            IncumbentEvaluationHash = initialDoc.Hash,
            EpochEndHashes = [initialDoc.Hash],
        };
    }

    private static bool IsLastPhaseOfEpoch(IReadOnlyList<Phase> plan, Phase phase) =>
        phase.Epoch > 0 && (phase.Index + 1 >= plan.Count || plan[phase.Index + 1].Epoch != phase.Epoch);

    private string Fingerprint(TaskSplits splits)
    {
        // Budgets, concurrency and timeouts may change between sessions of one run; everything that shapes results may not.
        var shaping = new { _options.Preset, _options.Seed, _options.Training, _options.Skill, _options.Gate, cache = _options.Rollouts.Cache, retries = _options.Rollouts.ErroredRetries,
            target = _options.Models.Target.Model, optimizer = _options.Models.Optimizer.Model };
        var payload = JsonSerializer.Serialize(new { options = shaping, splits }, SkillOptJson.Options);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(payload)))[..16];
    }

    /// <summary>Counters of the checkpoint this session started from (this session's own are added to them).</summary>
    private sealed record SessionBase(int ErroredRollouts, int CacheHits);
}
