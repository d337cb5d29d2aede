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
/// The SkillOpt optimisation loop (REFERENCE.md, "The loop as the reference runs it"): baseline validation; per step a
/// rollout of the current skill on a train batch, reflection over failure and success minibatches, hierarchical merge,
/// rejected-edit filtering, ranking down to the textual learning rate, edit application and the validation gate;
/// end-of-epoch slow update (gated in the default preset) and meta skill; final test scores. Every phase is checkpointed
/// in the run folder, and re-running with the same folder resumes after the last finished phase.
/// </summary>
public sealed class SkillTrainingLoop
{
    private readonly SkillOptOptions _options;
    private readonly RunStore _store;
    private readonly RolloutExecutor _executor;
    private readonly OptimizerModel _optimizer;
    private readonly IValidationGate _gate;
    private readonly EditApplier _applier;
    private readonly LearningRateSchedule _schedule;
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly StageUsageTracker _usage = new();
    private readonly ReplyFailureCounter _replyFailures = new();
    private readonly RolloutCache? _cache;
    private readonly RunBudget _budget;
    private readonly VerifierLeakGuard _leakGuard = new();
    private readonly Stopwatch _session = new();
    private double _elapsedBeforeSession;

    /// <summary>Creates a loop.</summary>
    /// <param name="options">Configuration (its preset is applied here if it was not yet).</param>
    /// <param name="runner">Runs tasks with a skill (the target model lives behind it).</param>
    /// <param name="optimizerClient">The optimizer model.</param>
    /// <param name="runFolder">Run folder; created when missing, resumed when it holds a checkpoint.</param>
    /// <param name="progress">Receives one event per stage; may be null.</param>
    /// <param name="optimizerOptions">Options copied into every optimizer request (model id, temperature…); may be null.</param>
    /// <param name="gate">The validation gate; by default the one <c>gate.kind</c> names (<see cref="PairedSequentialGate"/> or <see cref="StrictImprovementGate"/>).</param>
    public SkillTrainingLoop(SkillOptOptions options, IRolloutRunner runner, IChatClient optimizerClient, string runFolder,
        IProgress<TrainingProgress>? progress = null, ChatOptions? optimizerOptions = null, IValidationGate? gate = null)
    {
        _options = (options ?? throw new ArgumentNullException(nameof(options))).ApplyPreset();
        _store = new RunStore(runFolder);
        _executor = new RolloutExecutor(runner, _options.Rollouts.ErroredRetries, _options.Rollouts.MaxErrorRate);
        _optimizer = new OptimizerModel(new StructuredCaller(optimizerClient, optimizerOptions, _usage, _replyFailures), _options.Training.OptimizerConcurrency);
        var g = _options.Gate;
        _gate = gate ?? (g.Kind == "paired"
            ? new PairedSequentialGate(g.Alpha, g.Sequential!.Value, g.ChunkSize, g.VetoRegressions!.Value, g.VetoMinSamples, g.MaxDraws, g.AlternativeWinShare, g.Power, g.FinalAnalysis!.Value)
            : new StrictImprovementGate());
        _cache = _options.Rollouts.Cache!.Value ? new RolloutCache(_store.Root, JsonSerializer.Serialize(_options.Models.Target, SkillOptJson.Options)) : null;
        _budget = new RunBudget(_options);
        _applier = new EditApplier(new EditApplierOptions
        {
            TokenBudget = _options.Skill.TokenBudget!.Value,
            DuplicateSimilarity = _options.Skill.DuplicateSimilarity!.Value,
            ClassicMatching = _options.Skill.Matching == "classic",
        });
        _schedule = LearningRateSchedule.Create(_options.Training.LearningRate.Schedule, _options.Training.LearningRate.Max, _options.Training.LearningRate.Min);
        _progress = progress;
    }

    /// <summary>The run folder.</summary>
    public RunStore Store => _store;

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
        var initialDoc = SkillDocument.Parse(initialSkill);
        var fingerprint = Fingerprint(splits);
        var plan = PhasePlan.Build(_options.Training.Epochs, BatchesPerEpoch(splits), _options.Training.SlowUpdate.Enabled, _options.Training.MetaSkill.Enabled,
            _options.Training.MetaSkill.InLastEpoch!.Value);
        var totalSteps = plan.Count(p => p.Kind == PhaseKind.Step);

        var state = AtomicFile.ReadJson<RunState>(_store.StatePath);
        if (state is not null)
        {
            if (state.Fingerprint != fingerprint)
            {
                throw new InvalidOperationException($"The run folder {_store.Root} holds a run started with another configuration or task split; use a new folder (or delete it) to start over.");
            }
            if (state.InitialHash != initialDoc.Hash)
            {
                throw new InvalidOperationException($"The run folder {_store.Root} holds a run started from another initial skill; use a new folder (or delete it) to start over.");
            }
            _usage.Restore(state.Usage);
            _replyFailures.Restore(state.ReplyFailures);
            Report("run", $"resuming after phase {state.CompletedPhases} of {plan.Count}", 0, 0, totalSteps);
        }
        else
        {
            _store.SaveSkill(initialDoc.Hash, initialSkill);
            _store.WriteSkillVersion(0, initialSkill);
            state = new RunState
            {
                Fingerprint = fingerprint,
                InitialHash = initialDoc.Hash,
                CurrentHash = initialDoc.Hash,
                BestHash = initialDoc.Hash,
                IncumbentEvaluationHash = initialDoc.Hash,
                EpochEndHashes = [initialDoc.Hash],
            };
        }

        if (!_options.Training.AllowVerifierText)
        {
            _leakGuard.Load(LiteralsPath);
        }
        if (state.CompletedPhases == 0 && _budget.Estimate(totalSteps, splits.Train.Count, splits.Validation.Count) is { } estimate)
        {
            Report("budget", estimate, 0, 0, totalSteps);
        }
        var buffer = RejectedEditBuffer.Load(_store.RejectedEditsPath);
        buffer.RollBackTo(state.CompletedPhases);
        var history = _store.ReadHistory().Where(h => h.Phase < state.CompletedPhases).ToList();
        var erroredBase = state.ErroredRollouts;

        string? stopReason = null;
        var cacheHitsBase = state.CacheHits;
        _elapsedBeforeSession = state.ElapsedSeconds;
        _session.Restart();
        foreach (var phase in plan.Skip(state.CompletedPhases))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (state.StoppedEarlyAfterStep is not null && phase.Kind != PhaseKind.Test)
            {
                continue;
            }
            var spent = _budget.Measure(_usage.Snapshot(), state.ElapsedSeconds);
            if (_budget.Exhausted(spent) is { } exhausted)
            {
                stopReason = exhausted;
                Report("budget", $"stopping: {exhausted}; the best skill so far is kept", phase.Epoch, phase.Step, totalSteps);
                break;
            }
            var before = _usage.Snapshot();
            var failuresBefore = _replyFailures.Snapshot();
            var sw = Stopwatch.StartNew();
            RunState next;
            HistoryRecord record;
            string? ceiling = null;
            // the last step finished once this phase is done (a slow update follows its epoch's last step)
            var stepsDone = phase.Kind == PhaseKind.Step ? phase.Step : history.Count == 0 ? 0 : history.Max(h => h.Step ?? 0);
            try
            {
                (next, record) = phase.Kind switch
                {
                    PhaseKind.Baseline => await BaselineAsync(state, splits, phase, cancellationToken).ConfigureAwait(false),
                    PhaseKind.Step => await StepAsync(state, splits, phase, totalSteps, buffer, cancellationToken).ConfigureAwait(false),
                    PhaseKind.SlowUpdate => await SlowUpdateAsync(state, splits, phase, totalSteps, buffer, history, cancellationToken).ConfigureAwait(false),
                    PhaseKind.MetaSkill => await MetaSkillAsync(state, phase, totalSteps, history, cancellationToken).ConfigureAwait(false),
                    _ => await TestAsync(state, splits, phase, cancellationToken).ConfigureAwait(false),
                };
                if (phase.Kind is PhaseKind.Baseline or PhaseKind.Step or PhaseKind.SlowUpdate && stepsDone < totalSteps)
                {
                    ceiling = await CeilingAsync(next, splits, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (BudgetExhaustedException ex)
            {
                // The phase is abandoned (its rollouts are cached, so resuming with a larger budget redoes it cheaply).
                stopReason = ex.Message;
                Report("budget", $"stopping: {ex.Message}; the best skill so far is kept", phase.Epoch, phase.Step, totalSteps);
                state = state with { Usage = _usage.Snapshot(), ElapsedSeconds = state.ElapsedSeconds + sw.Elapsed.TotalSeconds };
                AtomicFile.WriteJson(_store.StatePath, state);
                break;
            }
            state = next;
            sw.Stop();
            var failuresAfter = _replyFailures.Snapshot();
            record = record with
            {
                Phase = phase.Index,
                Usage = StageUsageTracker.Delta(before, _usage.Snapshot()),
                Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3),
                RepliesRepaired = failuresAfter.Values.Sum(v => v.Repaired) - failuresBefore.Values.Sum(v => v.Repaired),
                RepliesFailed = failuresAfter.Values.Sum(v => v.Failed) - failuresBefore.Values.Sum(v => v.Failed),
            };
            var epochEnds = state.EpochEndHashes.ToList();
            if (IsLastPhaseOfEpoch(plan, phase))
            {
                epochEnds.Add(state.CurrentHash);
            }
            history.Add(record);
            state = state with
            {
                CompletedPhases = phase.Index + 1,
                Usage = _usage.Snapshot(),
                ReplyFailures = _replyFailures.Snapshot(),
                ErroredRollouts = erroredBase + _executor.ErroredAttempts,
                EpochEndHashes = epochEnds,
                ElapsedSeconds = state.ElapsedSeconds + sw.Elapsed.TotalSeconds,
                CacheHits = cacheHitsBase + (_cache?.Hits ?? 0),
            };
            state = WarnAboutBudget(state, phase, totalSteps);
            var patience = _options.Training.EarlyStopping.Patience!.Value;
            if (patience > 0 && phase.Kind is PhaseKind.Step or PhaseKind.SlowUpdate && stepsDone < totalSteps && StepsWithoutAcceptance(history) >= patience)
            {
                state = state with { StoppedEarlyAfterStep = stepsDone };
                Report("run", $"early stopping: {EarlyStopText(state, totalSteps)}", phase.Epoch, phase.Step, totalSteps);
            }
            if (state.StoppedEarlyAfterStep is null && ceiling is not null)
            {
                state = state with { StoppedEarlyAfterStep = stepsDone, StoppedEarlyReason = ceiling };
                Report("run", $"early stopping: {EarlyStopText(state, totalSteps)}", phase.Epoch, phase.Step, totalSteps);
            }
            if (!_options.Training.AllowVerifierText)
            {
                _leakGuard.Save(LiteralsPath);
            }
            AtomicFile.WriteJson(_store.HistoryPath, history);
            buffer.Save(_store.RejectedEditsPath);
            AtomicFile.WriteAllText(_store.BestSkillPath, _store.ReadSkill(state.BestHash));
            AtomicFile.WriteJson(_store.StatePath, state);
        }

        var summary = BuildSummary(state, splits, history, stopReason, totalSteps);
        AtomicFile.WriteAllText(_store.BestSkillPath, _store.ReadSkill(state.BestHash));
        AtomicFile.WriteJson(_store.SummaryPath, summary);
        Report("run", $"{summary.Status}: best validation {summary.Best.Validation:0.###} (initial {summary.Initial.Validation:0.###}), {state.Accepted} accepted, {state.Rejected} rejected", 0, totalSteps, totalSteps);
        return summary;
    }

    /// <summary>
    /// Steps at the end of <paramref name="history"/> since the last accepted edit (a step's, or a slow update's, gated or
    /// classic) or since the baseline.
    /// </summary>
    internal static int StepsWithoutAcceptance(IReadOnlyList<HistoryRecord> history)
    {
        var n = 0;
        for (var i = history.Count - 1; i >= 0; i--)
        {
            var h = history[i];
            if (h.Kind == "baseline" || h.Action is "accept" or "applied_ungated" || h.Combination?.Action == "accept")
            {
                break;
            }
            if (h.Kind == "step")
            {
                n++;
            }
        }
        return n;
    }

    private string EarlyStopText(RunState state, int totalSteps)
    {
        var last = state.StoppedEarlyAfterStep!.Value;
        var patience = _options.Training.EarlyStopping.Patience!.Value;
        var skipped = last + 1 >= totalSteps ? $"step {totalSteps}" : $"steps {last + 1}–{totalSteps}";
        var why = state.StoppedEarlyReason ?? $"no edit accepted in the last {patience} step(s) (training.early_stopping.patience = {patience})";
        return string.Create(CultureInfo.InvariantCulture, $"{why}; {skipped} and their slow updates skipped");
    }

    private static bool IsLastPhaseOfEpoch(IReadOnlyList<Phase> plan, Phase phase) =>
        phase.Epoch > 0 && (phase.Index + 1 >= plan.Count || plan[phase.Index + 1].Epoch != phase.Epoch);

    private async Task<(RunState, HistoryRecord)> BaselineAsync(RunState state, TaskSplits splits, Phase phase, CancellationToken ct)
    {
        var skill = _store.ReadSkill(state.CurrentHash);
        var eval = await EvaluateAsync("val", skill, state.CurrentHash, splits.Validation, 0, ChatStage.Validate, ct).ConfigureAwait(false);
        Report(ChatStage.Validate, $"baseline: validation {eval.MeanScore:0.###} on {eval.ScoredCount} tasks ({eval.ErroredCount} errored)", 0, 0, 0);
        var s = state with { BestScore = eval.MeanScore, IncumbentSample = 0, IncumbentEvaluationHash = state.CurrentHash };
        return (s, new HistoryRecord
        {
            Kind = "baseline",
            Action = "none",
            CurrentHash = s.CurrentHash,
            CurrentScore = eval.MeanScore,
            BestScore = eval.MeanScore,
            Validation = new ValidationSummary(eval.MeanScore, eval.MeanScore, eval.ScoredCount, eval.ErroredCount),
        });
    }

    private async Task<(RunState, HistoryRecord)> StepAsync(RunState state, TaskSplits splits, Phase phase, int totalSteps, RejectedEditBuffer buffer, CancellationToken ct)
    {
        var folder = _store.PhaseFolder($"step_{phase.Step.ToString("D4", CultureInfo.InvariantCulture)}");
        var t = _options.Training;
        if (phase.Batch == 0 && t.RejectedEdits.Scope == "epoch")
        {
            buffer.Clear();
        }
        var current = _store.ReadSkill(state.CurrentHash);
        var currentDoc = SkillDocument.Parse(current);
        var batch = Batch(splits, phase.Epoch, phase.Batch);

        // 1. rollout
        var sw = Stopwatch.StartNew();
        var rollout = await RunTasksAsync(current, state.CurrentHash, batch, phase.Step, ChatStage.Rollout, reuse: true, ct).ConfigureAwait(false);
        AtomicFile.WriteJson(Path.Combine(folder, "rollout.json"), rollout);
        var rolloutSummary = Summarize(rollout);
        Report(ChatStage.Rollout, $"rollout: {rolloutSummary.Passed}/{rolloutSummary.Tasks} passed, mean {rolloutSummary.MeanScore:0.###}, {rolloutSummary.Errored} errored", phase.Epoch, phase.Step, totalSteps);

        // 2–5. reflection, merge, filter and ranking, apply: once per proposal (training.proposals), side by side
        var lr = _schedule.BudgetAt(phase.Step, totalSteps);
        var count = Math.Max(1, t.Proposals ?? 1);
        var proposals = await Task.WhenAll(Enumerable.Range(0, count).Select(k =>
            ProposeAsync(state, current, currentDoc, rollout, phase, totalSteps, lr, buffer, k, count == 1 ? folder : Path.Combine(folder, $"proposal_{k + 1}"), ct))).ConfigureAwait(false);
        var first = proposals[0].Record with
        {
            ReflectionCalls = proposals.Sum(p => p.Record.ReflectionCalls),
            MergeCalls = proposals.Sum(p => p.Record.MergeCalls),
            Epoch = phase.Epoch,
            Step = phase.Step,
            LearningRate = lr,
            Rollout = rolloutSummary,
            Action = "skip",
            CurrentHash = state.CurrentHash,
            CurrentScore = IncumbentScore(state),
            BestScore = state.BestScore,
        };
        var built = proposals.Where(p => p.Candidate is not null).ToList();
        IReadOnlyList<ProposalSummary>? Describe(Proposal? chosen) => count == 1 ? null : [.. proposals.Select(p => DescribeProposal(p, built, chosen))];
        if (built.Count == 0)
        {
            Report("gate", count == 1 ? $"{proposals[0].SkipReason}: step skipped" : $"no proposal built a candidate: step skipped", phase.Epoch, phase.Step, totalSteps);
            return (WriteVersion(state, current), first with { Reason = proposals[0].SkipReason, Proposals = Describe(null) });
        }

        // 6. pre-screen (of every built proposal), then the gate of the best one
        Proposal chosen;
        if (_options.Gate.Prescreen.Enabled!.Value)
        {
            // proposals that built the same candidate share one pre-screen (pre-screened side by side, they would race the cache)
            var distinct = built.DistinctBy(p => p.Candidate!.Hash).ToList();
            var screens = await Task.WhenAll(distinct.Select(p => PrescreenAsync(rollout, p.Candidate!, phase, ct))).ConfigureAwait(false);
            var byHash = distinct.Select((p, i) => (p.Candidate!.Hash, screens[i])).ToDictionary(x => x.Hash, x => x.Item2, StringComparer.Ordinal);
            for (var i = 0; i < built.Count; i++)
            {
                built[i] = built[i] with { Screen = byHash[built[i].Candidate!.Hash] };
            }
            var passed = built.Where(p => p.Screen!.Passed).ToList();
            foreach (var p in built.Where(p => !p.Screen!.Passed))
            {
                _store.SaveSkill(p.Candidate!.Hash, p.Candidate.Text);
                AtomicFile.WriteAllText(Path.Combine(p.Folder, "candidate_skill.md"), p.Candidate.Text);
                AtomicFile.WriteJson(Path.Combine(p.Folder, "decision.json"), new { verdict = "reject", gate = "prescreen", reason = p.Screen!.Reason, candidate_hash = p.Candidate.Hash });
            }
            // one rejection per distinct candidate: the buffer bans an edit rejected in two different candidates
            foreach (var p in built.Where(p => !p.Screen!.Passed).DistinctBy(p => p.Candidate!.Hash))
            {
                foreach (var e in p.Edits)
                {
                    buffer.Add(e, phase.Index, phase.Epoch, 0, p.Screen!.Reason, p.Edits.Count);
                }
            }
            if (passed.Count == 0)
            {
                // the record shows the one that came closest, ranked as the gate's choice would be
                var top = built[ChooseProposal([.. built.Select(p => (true, p.Screen!.Fixes, p.Screen.Breaks, p.Edits.Count))])];
                Report("gate", $"pre-screen: reject ({top.Screen!.Reason})", phase.Epoch, phase.Step, totalSteps);
                var rejectedState = state with { Rejected = state.Rejected + 1 };
                var rejected = WithProposal(first, top);
                return (WriteVersion(rejectedState, current), rejected with
                {
                    CandidateHash = top.Candidate!.Hash,
                    Action = "reject",
                    Reason = "pre-screen: " + top.Screen.Reason,
                    Validation = new ValidationSummary(top.Screen.CandidateScore, top.Screen.IncumbentScore, top.Screen.Tasks, 0, splits.Validation.Count, null, "prescreen"),
                    Proposals = Describe(null),
                });
            }
            chosen = built[ChooseProposal([.. built.Select(p => (p.Screen!.Passed, p.Screen.Fixes, p.Screen.Breaks, p.Edits.Count))])];
            if (count > 1)
            {
                Report("gate", $"proposal {chosen.Index + 1} of {count} chosen (pre-screen: {chosen.Screen!.Fixes} fixed, {chosen.Screen.Breaks} broken)", phase.Epoch, phase.Step, totalSteps);
            }
        }
        else
        {
            chosen = built[0];
        }
        var record = WithProposal(first, chosen) with { Proposals = Describe(chosen) };
        var candidate = chosen.Candidate!;
        var appliedEdits = chosen.Edits;
        var (newState, gateRecord) = await GateAsync(state, splits, candidate, folder, phase, totalSteps, appliedEdits, buffer, FirstValidationSample(state), ct).ConfigureAwait(false);
        CombinationSummary? combination = null;
        if (gateRecord.Action == "inconclusive" && _options.Gate.CombineInconclusive!.Value > 1)
        {
            newState = newState with { PendingCandidates = [.. newState.PendingCandidates, new PendingCandidate(phase.Step, appliedEdits)] };
            if (newState.PendingCandidates.Count >= 2)
            {
                (newState, combination) = await CombineAsync(newState, splits, folder, phase, totalSteps, buffer, ct).ConfigureAwait(false);
            }
        }
        return (WriteVersion(newState, _store.ReadSkill(newState.CurrentHash)), record with
        {
            CandidateHash = gateRecord.CandidateHash,
            Validation = gateRecord.Validation,
            Action = gateRecord.Action,
            Reason = gateRecord.Reason,
            Combination = combination,
            CurrentHash = newState.CurrentHash,
            CurrentScore = IncumbentScore(newState),
            BestScore = newState.BestScore,
        });
    }

    /// <summary>
    /// One proposal of a step: reflection on the step's rollout, merge, the rejected-edit and leak filters, ranking down to
    /// the learning rate, and the edits applied to the current skill. Proposal k &gt; 0 (<c>training.proposals</c>) reflects on
    /// the same trajectories in its own seeded order, so its minibatches, and the optimizer's replies, differ from proposal 0's.
    /// </summary>
    private async Task<Proposal> ProposeAsync(RunState state, string current, SkillDocument currentDoc, Evaluation rollout, Phase phase, int totalSteps, int lr,
        RejectedEditBuffer buffer, int k, string folder, CancellationToken ct)
    {
        var t = _options.Training;
        Directory.CreateDirectory(folder);
        var shown = _options.Training.AllowVerifierText ? rollout.Results : rollout.Results.Select(_leakGuard.Redact).ToList();
        if (k > 0)
        {
            var order = Order(shown.Select(r => r.TaskId), $"proposal:{phase.Step}:{k}").Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);
            shown = [.. shown.OrderBy(r => order[r.TaskId])];
        }
        var failures = shown.Where(r => r.Outcome == TaskOutcome.Failed).ToList();
        var successes = t.ReflectSuccesses ? shown.Where(r => r.Outcome == TaskOutcome.Passed).ToList() : [];
        var sw = Stopwatch.StartNew();
        var reflection = await _optimizer.ReflectAsync(current, failures, successes, t.MinibatchSize, lr, state.MetaAdvice, buffer.Distinct(), ct).ConfigureAwait(false);
        _usage.AddWallTime(ChatStage.Reflect, sw.Elapsed.TotalSeconds);
        AtomicFile.WriteJson(Path.Combine(folder, "reflections.json"), reflection.Replies);
        var proposed = reflection.FailurePatches.Sum(p => p.Count) + reflection.SuccessPatches.Sum(p => p.Count);
        Report(ChatStage.Reflect, $"reflection: {reflection.Replies.Count} calls, {proposed} edits proposed", phase.Epoch, phase.Step, totalSteps);

        sw.Restart();
        var merge = await _optimizer.MergeAsync(current, reflection.FailurePatches, reflection.SuccessPatches, t.MergeFanIn, 2 * lr, state.MetaAdvice, ct).ConfigureAwait(false);
        _usage.AddWallTime(ChatStage.Merge, sw.Elapsed.TotalSeconds);
        AtomicFile.WriteJson(Path.Combine(folder, "merge.json"), new { replies = merge.Replies, edits = merge.Edits });

        var (kept, filtered) = t.RejectedEdits.Enforce!.Value ? buffer.Filter(merge.Edits) : (merge.Edits, 0);
        var leaks = new List<object>();
        if (!_options.Training.AllowVerifierText)
        {
            var clean = new List<SkillEdit>();
            foreach (var e in kept)
            {
                if (_leakGuard.FindLeak(e) is { } literal)
                {
                    leaks.Add(new { edit = e, reason = $"contains the verifier literal '{literal}'" });
                }
                else
                {
                    clean.Add(e);
                }
            }
            kept = clean;
        }
        IReadOnlyList<SkillEdit> selected = kept;
        var ranked = false;
        if (kept.Count > lr)
        {
            sw.Restart();
            var (sel, rankReply) = await _optimizer.RankAsync(current, kept, lr, ct).ConfigureAwait(false);
            _usage.AddWallTime(ChatStage.Rank, sw.Elapsed.TotalSeconds);
            AtomicFile.WriteJson(Path.Combine(folder, "ranking.json"), rankReply);
            selected = sel;
            ranked = true;
        }
        AtomicFile.WriteJson(Path.Combine(folder, "selected_edits.json"), new { learning_rate = lr, filtered_as_rejected = filtered, rejected_as_leaks = leaks, edits = selected });
        Report(ChatStage.Merge, $"merge: {merge.Replies.Count} calls, {merge.Edits.Count} edits; {filtered} already rejected; {selected.Count} selected (L={lr})", phase.Epoch, phase.Step, totalSteps);

        var record = new HistoryRecord
        {
            Kind = "step",
            ReflectionCalls = reflection.Replies.Count,
            FailurePatches = reflection.FailurePatches.Count,
            SuccessPatches = reflection.SuccessPatches.Count,
            EditsProposed = proposed,
            MergeCalls = merge.Replies.Count,
            EditsMerged = merge.Edits.Count,
            EditsFilteredAsRejected = filtered,
            EditsRejectedAsLeaks = leaks.Count,
            Ranked = ranked,
            EditsSelected = selected.Count,
            Action = "skip",
            CurrentHash = state.CurrentHash,
        };
        if (selected.Count == 0)
        {
            return new Proposal(k, folder, record, null, [], "no edits survived reflection, merge and the rejected-edit filter");
        }
        var applied = _applier.Apply(currentDoc, selected);
        AtomicFile.WriteJson(Path.Combine(folder, "edit_report.json"), new
        {
            applied = applied.Applied,
            rejected = applied.Rejected.Select(r => new { r.Index, r.Edit, reason = r.Reason.ToString(), r.Detail }),
            tokens_before = applied.TokensBefore,
            tokens_after = applied.TokensAfter,
        });
        record = record with { EditsApplied = applied.Applied.Count, EditsRefused = applied.Rejected.Count };
        if (!applied.Changed)
        {
            return new Proposal(k, folder, record, null, [], "no selected edit could be applied: " + string.Join("; ", applied.Rejected.Select(r => $"{r.Reason}: {r.Detail}").Take(3)));
        }
        return new Proposal(k, folder, record, applied.Result, [.. applied.Applied.Select(a => a.Edit)], null);
    }

    /// <summary>
    /// The proposal to gate among pre-screened ones (<c>training.proposals</c>): of those that passed, the one with the most
    /// fixed tasks net of broken ones on the step's own tasks, then the fewest applied edits (the smaller change), then the
    /// first. Returns its index in <paramref name="screens"/>, or −1 when none passed.
    /// </summary>
    internal static int ChooseProposal(IReadOnlyList<(bool Passed, int Fixes, int Breaks, int Edits)> screens) =>
        Enumerable.Range(0, screens.Count).Where(i => screens[i].Passed)
            .OrderByDescending(i => screens[i].Fixes - screens[i].Breaks).ThenBy(i => screens[i].Edits).ThenBy(i => i)
            .DefaultIfEmpty(-1).First();

    /// <summary>A step's record with the chosen proposal's reflection, merge and edit counts (its call counts stay the sum over all proposals).</summary>
    private static HistoryRecord WithProposal(HistoryRecord step, Proposal p) => step with
    {
        FailurePatches = p.Record.FailurePatches,
        SuccessPatches = p.Record.SuccessPatches,
        EditsProposed = p.Record.EditsProposed,
        EditsMerged = p.Record.EditsMerged,
        EditsFilteredAsRejected = p.Record.EditsFilteredAsRejected,
        EditsRejectedAsLeaks = p.Record.EditsRejectedAsLeaks,
        Ranked = p.Record.Ranked,
        EditsSelected = p.Record.EditsSelected,
        EditsApplied = p.Record.EditsApplied,
        EditsRefused = p.Record.EditsRefused,
    };

    /// <summary>A proposal's line in <c>history.json</c>; <paramref name="built"/> holds the pre-screened copies of the proposals that built a candidate.</summary>
    private static ProposalSummary DescribeProposal(Proposal p, IReadOnlyList<Proposal> built, Proposal? chosen)
    {
        var b = built.FirstOrDefault(x => x.Index == p.Index) ?? p;
        var outcome = b.Candidate is null ? "skip" : chosen is not null && chosen.Index == p.Index ? "gated" : b.Screen is { Passed: false } ? "reject" : "not_chosen";
        return new ProposalSummary(p.Index + 1, b.Record.EditsSelected, b.Record.EditsApplied, b.Candidate?.Hash, b.Screen?.Fixes, b.Screen?.Breaks, outcome,
            b.Candidate is null ? b.SkipReason : b.Screen is { Passed: false } s ? "pre-screen: " + s.Reason : null);
    }

    /// <summary>One proposal of a step and, once pre-screened, its pre-screen result.</summary>
    private sealed record Proposal(int Index, string Folder, HistoryRecord Record, SkillDocument? Candidate, IReadOnlyList<SkillEdit> Edits, string? SkipReason)
    {
        public PrescreenResult? Screen { get; init; }
    }

    /// <summary>A pre-screen's result: <see cref="Passed"/> when the candidate may go to validation.</summary>
    private sealed record PrescreenResult(bool Passed, string Reason, int Fixes, int Breaks, double CandidateScore, double IncumbentScore, int Tasks);

    /// <summary>
    /// Gates the pooled inconclusive candidates' edits applied together to the current skill (<c>gate.combine_inconclusive</c>),
    /// on validation samples no other evaluation uses: each pooled candidate was kept because it led the current skill's draw
    /// of this round, so judging the combination on that same draw would count the current skill's unlucky failures again.
    /// On fresh draws, when every pooled edit is useless the combination's pairs are fair coins whatever led to the pooling,
    /// so its false-accept rate is still at most α. Accepted or rejected, the pool is emptied (rejected edits go to the
    /// rejected-edit buffer); inconclusive, it keeps its newest K − 1 candidates (K = <c>gate.combine_inconclusive</c>).
    /// </summary>
    private async Task<(RunState, CombinationSummary)> CombineAsync(RunState state, TaskSplits splits, string stepFolder, Phase phase, int totalSteps,
        RejectedEditBuffer buffer, CancellationToken ct)
    {
        var pool = state.PendingCandidates;
        var steps = pool.Select(p => p.Step).ToList();
        var edits = pool.SelectMany(p => p.Edits).ToList();
        var applied = _applier.Apply(SkillDocument.Parse(_store.ReadSkill(state.CurrentHash)), edits);
        var firstSample = CombinationSampleBase + state.Combinations * DrawsPerRound;
        if (!applied.Changed || applied.Result.Hash == state.CurrentHash)
        {
            Report("gate", $"combination of steps {string.Join(", ", steps)}: no edit applies to the current skill any more; pool emptied", phase.Epoch, phase.Step, totalSteps);
            return (state with { PendingCandidates = [] }, new CombinationSummary(steps, 0, applied.Rejected.Count, null, "skip", "no pooled edit applies to the current skill", null, firstSample));
        }
        var folder = Path.Combine(stepFolder, "combined");
        Directory.CreateDirectory(folder);
        var appliedEdits = applied.Applied.Select(a => a.Edit).ToList();
        Report("gate", $"combining the inconclusive candidates of steps {string.Join(", ", steps)}: {appliedEdits.Count} edits, gated on fresh validation samples", phase.Epoch, phase.Step, totalSteps);
        var (s, gate) = await GateAsync(state with { Combinations = state.Combinations + 1 }, splits, applied.Result, folder, phase, totalSteps, appliedEdits, buffer, firstSample, ct).ConfigureAwait(false);
        var keep = _options.Gate.CombineInconclusive!.Value - 1;
        s = s with { PendingCandidates = gate.Action == "inconclusive" ? [.. pool.Skip(Math.Max(0, pool.Count - keep))] : [] };
        return (s, new CombinationSummary(steps, appliedEdits.Count, applied.Rejected.Count, applied.Result.Hash, gate.Action, gate.Reason, gate.Validation, firstSample));
    }

    /// <summary>First sample index of combined candidates' validation draws (<see cref="CombineAsync"/>): above every round's samples and the veto re-checks' offsets.</summary>
    private const int CombinationSampleBase = 2_000_000;

    private async Task<(RunState, HistoryRecord)> GateAsync(RunState state, TaskSplits splits, SkillDocument candidate, string folder, Phase phase, int totalSteps,
        IReadOnlyList<SkillEdit> edits, RejectedEditBuffer buffer, int firstSample, CancellationToken ct)
    {
        _store.SaveSkill(candidate.Hash, candidate.Text);
        AtomicFile.WriteAllText(Path.Combine(folder, "candidate_skill.md"), candidate.Text);
        // The paired gate measures the current skill itself, lazily and through the cache; the strict gate trusts its stored evaluation.
        var incumbentEval = _gate is PairedSequentialGate ? new Evaluation(state.CurrentHash, 0, []) : await IncumbentEvaluationAsync(state, splits, ct).ConfigureAwait(false);
        var current = _store.ReadSkill(state.CurrentHash);
        var sw = Stopwatch.StartNew();
        var decision = await _gate.DecideAsync(new GateContext(candidate.Text, candidate.Hash, current, state.CurrentHash, incumbentEval, splits.Validation,
            (skill, hash, tasks, sample, token) => EvaluateAsync("val", skill, hash, tasks, sample, ChatStage.Validate, token), _options.Seed,
            firstSample, IncumbentHistory(state, splits)), ct).ConfigureAwait(false);
        _usage.AddWallTime(ChatStage.Validate, sw.Elapsed.TotalSeconds);
        AtomicFile.WriteJson(Path.Combine(folder, $"validation_{candidate.ShortHash}.json"), decision.Candidate);
        AtomicFile.WriteJson(Path.Combine(folder, "decision.json"), new { verdict = decision.Verdict.ToString().ToLowerInvariant(), decision.Reason, decision.CandidateScore, decision.IncumbentScore, candidate_hash = candidate.Hash });

        var s = state;
        switch (decision.Verdict)
        {
            case GateVerdict.Accept:
                s = s with
                {
                    CurrentHash = candidate.Hash,
                    IncumbentEvaluationHash = candidate.Hash,
                    IncumbentSample = decision.Candidate.SampleIndex,
                    Accepted = s.Accepted + 1,
                };
                // paired: an accepted candidate is significantly better than the current skill, so it is the new best
                if (_gate is PairedSequentialGate || decision.CandidateScore > s.BestScore)
                {
                    s = s with { BestHash = candidate.Hash, BestScore = decision.CandidateScore };
                }
                break;
            case GateVerdict.Reject:
                foreach (var e in edits)
                {
                    buffer.Add(e, phase.Index, Math.Max(1, phase.Epoch), decision.IncumbentScore - decision.CandidateScore, decision.Reason, edits.Count);
                }
                s = s with { Rejected = s.Rejected + 1 };
                break;
            default:
                s = s with { Inconclusive = s.Inconclusive + 1 };
                break;
        }
        var action = decision.Verdict.ToString().ToLowerInvariant();
        Report("gate", $"gate: {action} ({decision.Reason})", phase.Epoch, phase.Step, totalSteps);
        return (s, new HistoryRecord
        {
            Kind = "gate",
            Action = action,
            Reason = decision.Reason,
            CandidateHash = candidate.Hash,
            Validation = new ValidationSummary(decision.CandidateScore, decision.IncumbentScore, decision.Candidate.ScoredCount, decision.Candidate.ErroredCount,
                decision.TasksSkipped, decision.PValue, _gate.Name),
            CurrentHash = s.CurrentHash,
        });
    }

    private async Task<(RunState, HistoryRecord)> SlowUpdateAsync(RunState state, TaskSplits splits, Phase phase, int totalSteps, RejectedEditBuffer buffer,
        IReadOnlyList<HistoryRecord> history, CancellationToken ct)
    {
        var su = _options.Training.SlowUpdate;
        var previousHash = state.EpochEndHashes[phase.Epoch - 1];
        var baseRecord = new HistoryRecord { Kind = "slow_update", Epoch = phase.Epoch, Action = "skip", CurrentHash = state.CurrentHash, CurrentScore = IncumbentScore(state), BestScore = state.BestScore };
        if (su.SkipUnchanged!.Value && previousHash == state.CurrentHash)
        {
            Report(ChatStage.SlowUpdate, "slow update skipped: the epoch changed nothing", phase.Epoch, 0, totalSteps);
            return (state, baseRecord with { Reason = "the epoch changed nothing, so there is nothing to compare (training.slow_update.skip_unchanged)" });
        }
        var folder = _store.PhaseFolder($"epoch_{phase.Epoch.ToString("D2", CultureInfo.InvariantCulture)}_slow_update");
        var previous = _store.ReadSkill(previousHash);
        var current = _store.ReadSkill(state.CurrentHash);
        var (tasks, sample) = su.ReuseStepRollouts!.Value && ReusableStep(history, phase.Epoch, previousHash, state.CurrentHash) is { } step
            ? (Batch(splits, phase.Epoch, (step - 1) % BatchesPerEpoch(splits)).Take(su.SampleSize).ToList(), step)
            : (Order(splits.Train, $"slow_update:{phase.Epoch}").Take(su.SampleSize).ToList(), 100_000 + phase.Epoch);
        var sw = Stopwatch.StartNew();
        var before = await RunTasksAsync(previous, previousHash, tasks, sample, ChatStage.SlowUpdateRollout, reuse: true, ct).ConfigureAwait(false);
        var after = previousHash == state.CurrentHash ? before : await RunTasksAsync(current, state.CurrentHash, tasks, sample, ChatStage.SlowUpdateRollout, reuse: true, ct).ConfigureAwait(false);
        if (!_options.Training.AllowVerifierText)
        {
            before = before with { Results = before.Results.Select(_leakGuard.Redact).ToList() };
            after = after with { Results = after.Results.Select(_leakGuard.Redact).ToList() };
        }
        var comparison = Compare(before, after);
        var reply = await _optimizer.SlowUpdateAsync(previous, current, comparison, tasks.Count, su.MaxWords, ct).ConfigureAwait(false);
        _usage.AddWallTime(ChatStage.SlowUpdate, sw.Elapsed.TotalSeconds);
        AtomicFile.WriteJson(Path.Combine(folder, "slow_update.json"), new { comparison, reply });
        if (reply.Value is null)
        {
            return (state, baseRecord with { Reason = $"the slow-update reply was unusable: {reply.Failure}" });
        }
        var candidate = SkillDocument.Parse(current).WithSlowUpdateGuidance(reply.Value.Guidance.Trim());
        var budget = _options.Skill.TokenBudget!.Value;
        var tokens = ApproximateTokenCounter.Instance.CountTokens(candidate.Text);
        if (candidate.Hash == state.CurrentHash)
        {
            return (state, baseRecord with { Reason = "the guidance is unchanged" });
        }
        if (budget > 0 && tokens > budget && tokens > ApproximateTokenCounter.Instance.CountTokens(current))
        {
            return (state, baseRecord with { Reason = $"the guidance would bring the skill to {tokens} tokens, over the budget of {budget}" });
        }
        if (!su.Gated!.Value)
        {
            // classic: the reference applies the guidance without validation
            _store.SaveSkill(candidate.Hash, candidate.Text);
            Report(ChatStage.SlowUpdate, "slow update applied without validation (classic)", phase.Epoch, 0, totalSteps);
            var s = state with { CurrentHash = candidate.Hash };
            return (WriteVersion(s, candidate.Text), baseRecord with { Action = "applied_ungated", CandidateHash = candidate.Hash, CurrentHash = s.CurrentHash });
        }
        var guidanceEdit = new SkillEdit(EditOperation.Replace, "<!-- skillopt:slow-update -->", reply.Value.Guidance.Trim(), "slow update");
        var (newState, gateRecord) = await GateAsync(state, splits, candidate, folder, phase, totalSteps, [guidanceEdit], buffer, FirstValidationSample(state), ct).ConfigureAwait(false);
        return (WriteVersion(newState, _store.ReadSkill(newState.CurrentHash)), baseRecord with
        {
            Action = gateRecord.Action,
            Reason = gateRecord.Reason,
            CandidateHash = gateRecord.CandidateHash,
            Validation = gateRecord.Validation,
            CurrentHash = newState.CurrentHash,
            CurrentScore = IncumbentScore(newState),
            BestScore = newState.BestScore,
        });
    }

    /// <summary>Steps per epoch: ceil(|train| / batch size).</summary>
    private int BatchesPerEpoch(TaskSplits splits) => (splits.Train.Count + _options.Training.BatchSize - 1) / _options.Training.BatchSize;

    /// <summary>The train tasks of batch <paramref name="batch"/> (0-based) of epoch <paramref name="epoch"/>.</summary>
    private List<string> Batch(TaskSplits splits, int epoch, int batch) =>
        Order(splits.Train, $"epoch:{epoch}").Skip(batch * _options.Training.BatchSize).Take(_options.Training.BatchSize).ToList();

    /// <summary>
    /// The latest step of <paramref name="epoch"/> that rolled out the current skill, or else the latest that rolled out the
    /// previous one (the skill at the epoch's start), whose batch and sample index the slow update can reuse; null when no
    /// finished step of the epoch rolled out either. The skill a step rolled out is the current skill after the phase before it.
    /// </summary>
    internal static int? ReusableStep(IReadOnlyList<HistoryRecord> history, int epoch, string previousHash, string currentHash)
    {
        var after = new Dictionary<int, string>();
        foreach (var h in history)
        {
            after[h.Phase] = h.CurrentHash;
        }
        var steps = history.Where(h => h.Kind == "step" && h.Epoch == epoch && h.Step is not null)
            .Select(h => (Step: h.Step!.Value, RolledOut: after.GetValueOrDefault(h.Phase - 1)))
            .OrderBy(x => x.Step).ToList();
        foreach (var wanted in new[] { currentHash, previousHash })
        {
            if (steps.LastOrDefault(x => x.RolledOut == wanted) is { RolledOut: not null } hit)
            {
                return hit.Step;
            }
        }
        return null;
    }

    private async Task<(RunState, HistoryRecord)> MetaSkillAsync(RunState state, Phase phase, int totalSteps, IReadOnlyList<HistoryRecord> history, CancellationToken ct)
    {
        var folder = _store.PhaseFolder($"epoch_{phase.Epoch.ToString("D2", CultureInfo.InvariantCulture)}_meta_skill");
        var sb = new StringBuilder();
        foreach (var h in history.Where(h => h.Epoch == phase.Epoch && h.CandidateHash is not null))
        {
            var edits = AtomicFile.ReadJson<JsonElement?>(Path.Combine(_store.Root, "steps", $"step_{(h.Step ?? 0).ToString("D4", CultureInfo.InvariantCulture)}", "selected_edits.json"));
            sb.Append("- ").Append(h.Kind).Append(h.Step is null ? "" : $" {h.Step}").Append(": ").Append(h.Action)
              .Append(h.Validation is null ? "" : $" (candidate {h.Validation.CandidateScore:0.###} vs current {h.Validation.IncumbentScore:0.###})").Append('\n');
            if (edits is { } e && e.TryGetProperty("edits", out var list))
            {
                foreach (var edit in list.EnumerateArray())
                {
                    sb.Append("  - ").Append(Short(edit.GetRawText(), 300)).Append('\n');
                }
            }
        }
        var decisions = sb.Length == 0 ? "No candidate was validated in this epoch." : sb.ToString();
        var sw = Stopwatch.StartNew();
        var reply = await _optimizer.MetaSkillAsync(phase.Epoch, decisions, _options.Training.MetaSkill.MaxWords, ct).ConfigureAwait(false);
        _usage.AddWallTime(ChatStage.Meta, sw.Elapsed.TotalSeconds);
        AtomicFile.WriteJson(Path.Combine(folder, "meta_skill.json"), reply);
        Report(ChatStage.Meta, reply.Value is null ? $"meta skill unusable: {reply.Failure}" : "meta skill updated", phase.Epoch, 0, totalSteps);
        var s = reply.Value is null ? state : state with { MetaAdvice = reply.Value.Advice.Trim() };
        return (s, new HistoryRecord
        {
            Kind = "meta_skill",
            Epoch = phase.Epoch,
            Action = reply.Value is null ? "skip" : "updated",
            Reason = reply.Failure,
            CurrentHash = s.CurrentHash,
            CurrentScore = IncumbentScore(s),
            BestScore = s.BestScore,
        });
    }

    private async Task<(RunState, HistoryRecord)> TestAsync(RunState state, TaskSplits splits, Phase phase, CancellationToken ct)
    {
        if (splits.Test.Count > 0)
        {
            foreach (var hash in new[] { state.InitialHash, state.BestHash, state.CurrentHash }.Distinct())
            {
                var eval = await EvaluateAsync("test", _store.ReadSkill(hash), hash, splits.Test, 0, ChatStage.Test, ct).ConfigureAwait(false);
                Report(ChatStage.Test, $"test {hash[..12]}: {eval.MeanScore:0.###} on {eval.ScoredCount} tasks", 0, 0, 0);
            }
        }
        return (state, new HistoryRecord { Kind = "test", Action = "none", CurrentHash = state.CurrentHash, CurrentScore = IncumbentScore(state), BestScore = state.BestScore });
    }

    private async Task<Evaluation> EvaluateAsync(string split, string skill, string hash, IReadOnlyList<string> tasks, int sample, string stage, CancellationToken ct)
    {
        // Also kept per (split, skill hash, sample) in evaluations/: the incumbent's evidence for the strict gate and the reports.
        var eval = await RunTasksAsync(skill, hash, tasks, sample, stage, reuse: _cache is not null, ct).ConfigureAwait(false);
        var stored = _store.ReadEvaluation(split, hash, sample);
        var merged = (stored?.Results ?? []).Where(r => !tasks.Contains(r.TaskId, StringComparer.Ordinal))
            .Concat(eval.Results.Where(r => r.Outcome != TaskOutcome.Errored)).OrderBy(r => r.TaskId, StringComparer.Ordinal).ToList();
        _store.WriteEvaluation(split, new Evaluation(hash, sample, merged));
        return eval;
    }

    /// <summary>
    /// Runs tasks with a skill through the executor, serving (skill, task, sample) results from the rollout cache when it is
    /// on and <paramref name="reuse"/> allows, storing fresh non-errored ones, and accounting calls, tokens and wall time to <paramref name="stage"/>.
    /// </summary>
    private async Task<Evaluation> RunTasksAsync(string skill, string hash, IReadOnlyList<string> tasks, int sample, string stage, bool reuse, CancellationToken ct)
    {
        var have = new Dictionary<string, RolloutResult>(StringComparer.Ordinal);
        if (reuse && _cache is not null)
        {
            foreach (var t in tasks)
            {
                if (_cache.TryGet(hash, t, sample) is { } hit)
                {
                    have[t] = hit;
                }
            }
        }
        var missing = tasks.Where(t => !have.ContainsKey(t)).ToList();
        if (missing.Count > 0)
        {
            if (stage != ChatStage.Test && _budget.Exhausted(_budget.Measure(_usage.Snapshot(), _elapsedBeforeSession + _session.Elapsed.TotalSeconds)) is { } exhausted)
            {
                throw new BudgetExhaustedException(exhausted);
            }
            var sw = Stopwatch.StartNew();
            var fresh = await _executor.RunAsync(skill, hash, missing, sample, stage, ct).ConfigureAwait(false);
            _usage.AddTokens(stage, fresh.Results.Aggregate(TokenUsage.Zero, (a, r) => a + r.Usage), fresh.Results.Count);
            _usage.AddWallTime(stage, sw.Elapsed.TotalSeconds);
            _leakGuard.Learn(fresh.Results);
            foreach (var r in fresh.Results)
            {
                have[r.TaskId] = r;
                _cache?.Put(hash, sample, r);
            }
        }
        return new Evaluation(hash, sample, tasks.Select(t => have[t]).ToList());
    }

    /// <summary>
    /// Pre-screen: the candidate on up to N failed and M passed tasks of the step's rollout, with the rollout's sample index
    /// (so the pairs are exact). Passes when the candidate may go to validation: it fixes at least one failed task (when the batch
    /// had any) and breaks no more passed tasks than it fixes. Requiring zero breaks rejected most useful edits on flaky
    /// tasks (SimLab GSM8K benchmark), since any change to the skill redraws them.
    /// </summary>
    private async Task<PrescreenResult> PrescreenAsync(Evaluation rollout, SkillDocument candidate, Phase phase, CancellationToken ct)
    {
        var p = _options.Gate.Prescreen;
        var failed = Order(rollout.Results.Where(r => r.Outcome == TaskOutcome.Failed).Select(r => r.TaskId), $"prescreen:{phase.Step}").Take(p.FailedTasks).ToList();
        var passed = Order(rollout.Results.Where(r => r.Outcome == TaskOutcome.Passed).Select(r => r.TaskId), $"prescreen:{phase.Step}").Take(p.PassedTasks).ToList();
        var tasks = failed.Concat(passed).ToList();
        if (tasks.Count == 0)
        {
            return new PrescreenResult(true, "no task to pre-screen on", 0, 0, 0, 0, 0);
        }
        var eval = await RunTasksAsync(candidate.Text, candidate.Hash, tasks, rollout.SampleIndex, ChatStage.Prescreen, reuse: true, ct).ConfigureAwait(false);
        var byId = eval.Results.ToDictionary(r => r.TaskId, StringComparer.Ordinal);
        var fixes = failed.Count(t => byId[t].Outcome == TaskOutcome.Passed);
        var breaks = passed.Where(t => byId[t].Outcome == TaskOutcome.Failed).ToList();
        var before = rollout.Results.Where(r => tasks.Contains(r.TaskId) && r.IsScored).ToList();
        var cs = eval.Scored.Any() ? eval.Scored.Average(r => r.Score) : 0;
        var isScore = before.Count == 0 ? 0 : before.Average(r => r.Score);
        if (failed.Count > 0 && fixes == 0)
        {
            return new PrescreenResult(false, $"fixes none of {failed.Count} failed tasks", fixes, breaks.Count, cs, isScore, tasks.Count);
        }
        if (breaks.Count > fixes)
        {
            return new PrescreenResult(false, $"fixes {fixes} of {failed.Count} failed tasks but breaks {breaks.Count} of {passed.Count} passed ones ({string.Join(", ", breaks.Take(3))})", fixes, breaks.Count, cs, isScore, tasks.Count);
        }
        return new PrescreenResult(true, $"fixes {fixes} of {failed.Count} failed tasks, breaks {breaks.Count} of {passed.Count} passed ones", fixes, breaks.Count, cs, isScore, tasks.Count);
    }

    private IReadOnlyDictionary<string, IReadOnlyList<RolloutResult>> IncumbentHistory(RunState state, TaskSplits splits)
    {
        var history = new Dictionary<string, IReadOnlyList<RolloutResult>>(StringComparer.Ordinal);
        if (_cache is null)
        {
            return history;
        }
        foreach (var t in splits.Validation)
        {
            var list = new List<RolloutResult>();
            // the current skill can only have been measured in this round and, as a candidate, in the previous one
            for (var sample = Math.Max(0, FirstValidationSample(state) - DrawsPerRound); sample < FirstValidationSample(state) + DrawsPerRound; sample++)
            {
                if (_cache.Peek(state.CurrentHash, t, sample) is { IsScored: true } r)
                {
                    list.Add(r);
                }
            }
            history[t] = list;
        }
        return history;
    }

    private RunState WarnAboutBudget(RunState state, Phase phase, int totalSteps)
    {
        if (!_budget.Any)
        {
            return state;
        }
        var spent = _budget.Measure(_usage.Snapshot(), state.ElapsedSeconds);
        var used = _budget.FractionUsed(spent);
        var warnings = state.BudgetWarnings.ToList();
        foreach (var level in new[] { 50, 80 })
        {
            if (used * 100 >= level && !warnings.Contains(level))
            {
                warnings.Add(level);
                Report("budget", string.Create(CultureInfo.InvariantCulture, $"warning: {used:P0} of the budget spent ({spent.TargetCalls} target calls, {spent.OptimizerCalls} optimizer calls, {spent.Tokens} tokens{(spent.CostUsd is { } c ? $", ${c:0.##}" : "")})"),
                    phase.Epoch, phase.Step, totalSteps);
            }
        }
        return state with { BudgetWarnings = warnings };
    }

    /// <summary>Validation samples per round: the paired gate's most draws D (1 for the strict gate).</summary>
    private int DrawsPerRound => _gate is PairedSequentialGate p ? p.MaxDraws : 1;

    /// <summary>
    /// First sample index of the current validation round. A round lasts from one acceptance to the next (round r = r
    /// accepted candidates so far) and uses samples r·D … r·D + D − 1: within it every candidate is compared with the current
    /// skill on the same samples, so the current skill's measurements are paid once (cached) and shared by all its
    /// challengers, and the next round's fresh samples keep the new current skill from being judged on the draws that got it accepted.
    /// </summary>
    private int FirstValidationSample(RunState state) => state.Accepted * DrawsPerRound;

    /// <summary>
    /// Why training should stop at the ceiling (<c>training.early_stopping.ceiling</c>, see
    /// <see cref="PairedSequentialGate.CeilingReason"/>), or null. Decided on the current skill's results in the current
    /// validation round only. A skill accepted in this phase has none yet; when its results as a candidate (the previous
    /// round's draws, biased upwards since they got it accepted) already put it at the ceiling, it is measured on this round's
    /// first draw, which the next gate would score anyway (the rollout cache keeps it), and the decision rests on that draw.
    /// </summary>
    private async Task<string?> CeilingAsync(RunState state, TaskSplits splits, CancellationToken ct)
    {
        if (!_options.Training.EarlyStopping.Ceiling!.Value || _gate is not PairedSequentialGate paired)
        {
            return null;
        }
        var n = splits.Validation.Count;
        var current = CurrentRoundValidation(state);
        if (current.Count > 0 || state.Accepted == 0)
        {
            return paired.CeilingReason(current, n);
        }
        // accepted at least once, so the previous round exists
        if (paired.CeilingReason(RoundValidation(state.CurrentHash, FirstValidationSample(state) - DrawsPerRound), n) is null)
        {
            return null;
        }
        await EvaluateAsync("val", _store.ReadSkill(state.CurrentHash), state.CurrentHash, splits.Validation, FirstValidationSample(state), ChatStage.Validate, ct).ConfigureAwait(false);
        return paired.CeilingReason(CurrentRoundValidation(state), n);
    }

    /// <summary>
    /// The current skill's validation results on the current round's samples (<see cref="FirstValidationSample"/>): measured
    /// after it became current, so no gate decision selected on them (its draws as a candidate belong to the previous round).
    /// </summary>
    private List<RolloutResult> CurrentRoundValidation(RunState state) => RoundValidation(state.CurrentHash, FirstValidationSample(state));

    /// <summary>A skill's stored validation results on the D samples of the round starting at <paramref name="firstSample"/>.</summary>
    private List<RolloutResult> RoundValidation(string hash, int firstSample) =>
        [.. Enumerable.Range(firstSample, DrawsPerRound).SelectMany(sample => _store.ReadEvaluation("val", hash, sample)?.Results ?? [])];

    private string LiteralsPath => Path.Combine(_store.Root, "verifier_literals.json");

    private async Task<Evaluation> IncumbentEvaluationAsync(RunState state, TaskSplits splits, CancellationToken ct)
    {
        var stored = _store.ReadEvaluation("val", state.IncumbentEvaluationHash, state.IncumbentSample);
        if (stored is not null && splits.Validation.All(t => stored.Results.Any(r => r.TaskId == t)))
        {
            return new Evaluation(stored.SkillHash, stored.SampleIndex, splits.Validation.Select(t => stored.Results.First(r => r.TaskId == t)).ToList());
        }
        return await EvaluateAsync("val", _store.ReadSkill(state.IncumbentEvaluationHash), state.IncumbentEvaluationHash, splits.Validation, state.IncumbentSample, ChatStage.Validate, ct).ConfigureAwait(false);
    }

    private double IncumbentScore(RunState state)
    {
        var e = _store.ReadEvaluation("val", state.IncumbentEvaluationHash, state.IncumbentSample);
        return e?.MeanScore ?? 0;
    }

    private RunState WriteVersion(RunState state, string skill)
    {
        var v = state.SkillVersion + 1;
        _store.WriteSkillVersion(v, skill);
        return state with { SkillVersion = v };
    }

    private RunSummary BuildSummary(RunState state, TaskSplits splits, IReadOnlyList<HistoryRecord> history, string? stopReason, int totalSteps)
    {
        SkillScores Scores(string hash) => new(hash,
            PooledValidation(hash),
            splits.Test.Count == 0 ? null : _store.ReadEvaluation("test", hash, 0)?.MeanScore,
            _store.ReadEvaluation("test", hash, 0)?.ScoredCount ?? 0);
        var usage = _usage.Snapshot();
        var spent = _budget.Measure(usage, state.ElapsedSeconds);
        return new RunSummary
        {
            Status = stopReason is null ? "completed" : $"stopped: {stopReason}",
            Preset = _options.Preset,
            Seed = _options.Seed,
            Splits = new SortedDictionary<string, int>(StringComparer.Ordinal) { ["train"] = splits.Train.Count, ["val"] = splits.Validation.Count, ["test"] = splits.Test.Count },
            Steps = history.Count(h => h.Kind == "step"),
            Accepted = state.Accepted,
            Rejected = state.Rejected,
            Inconclusive = state.Inconclusive,
            Initial = Scores(state.InitialHash),
            Best = Scores(state.BestHash),
            Final = Scores(state.CurrentHash),
            Usage = usage,
            ReplyFailures = _replyFailures.Snapshot(),
            ErroredRollouts = state.ErroredRollouts,
            BestSkillTokens = ApproximateTokenCounter.Instance.CountTokens(_store.ReadSkill(state.BestHash)),
            TargetCalls = spent.TargetCalls,
            OptimizerCalls = spent.OptimizerCalls,
            CostUsd = spent.CostUsd,
            CacheHits = state.CacheHits,
            ValidationTasksSkipped = history.Sum(h => h.Validation?.TasksSkipped ?? 0),
            EarlyStopping = state.StoppedEarlyAfterStep is null ? null : EarlyStopText(state, totalSteps),
        };
    }

    /// <summary>Mean validation score of a skill over every sample it was measured on (null when never measured).</summary>
    private double? PooledValidation(string hash)
    {
        var dir = Path.Combine(_store.Root, "evaluations");
        if (!Directory.Exists(dir))
        {
            return null;
        }
        var scored = Directory.EnumerateFiles(dir, $"val_{hash[..16]}_s*.json").Order(StringComparer.Ordinal)
            .SelectMany(f => AtomicFile.ReadJson<Evaluation>(f)?.Results ?? []).Where(r => r.IsScored).ToList();
        return scored.Count == 0 ? null : Math.Round(scored.Average(r => r.Score), 6);
    }

    private string Fingerprint(TaskSplits splits)
    {
        // Budgets, concurrency and timeouts may change between sessions of one run; everything that shapes results may not.
        var shaping = new { _options.Preset, _options.Seed, _options.Training, _options.Skill, _options.Gate, cache = _options.Rollouts.Cache, retries = _options.Rollouts.ErroredRetries,
            target = _options.Models.Target.Model, optimizer = _options.Models.Optimizer.Model };
        var payload = JsonSerializer.Serialize(new { options = shaping, splits }, SkillOptJson.Options);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(payload)))[..16];
    }

    /// <summary>Deterministic seeded order of task ids: by SHA-256 of (seed, salt, id); stable across machines and runtimes.</summary>
    internal IEnumerable<string> Order(IEnumerable<string> ids, string salt) =>
        ids.OrderBy(id => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{_options.Seed}|{salt}|{id}"))), StringComparer.Ordinal).ThenBy(id => id, StringComparer.Ordinal);

    private static RolloutSummary Summarize(Evaluation e) => new(e.Results.Count, e.PassedCount, e.Results.Count(r => r.Outcome == TaskOutcome.Failed), e.ErroredCount,
        e.Results.Count(r => r.Outcome == TaskOutcome.Skipped), Math.Round(e.MeanScore, 6));

    private static string Compare(Evaluation before, Evaluation after)
    {
        var sb = new StringBuilder();
        var b = before.Results.ToDictionary(r => r.TaskId, StringComparer.Ordinal);
        foreach (var a in after.Results)
        {
            if (!b.TryGetValue(a.TaskId, out var p) || !a.IsScored || !p.IsScored)
            {
                continue;
            }
            var cls = (p.Outcome == TaskOutcome.Passed, a.Outcome == TaskOutcome.Passed) switch
            {
                (false, true) => "improved",
                (true, false) => "regressed",
                (false, false) => "still failing",
                _ => "still passing",
            };
            sb.Append("- ").Append(a.TaskId).Append(": ").Append(cls);
            if (a.Outcome != TaskOutcome.Passed && a.Reason is not null)
            {
                sb.Append(" — ").Append(Short(a.Reason, 300));
            }
            sb.Append('\n');
        }
        return sb.Length == 0 ? "No task was scored with both skills." : sb.ToString();
    }

    private static string Short(string s, int max) => (s.Length <= max ? s : s[..max] + "…").Replace("\n", " ", StringComparison.Ordinal);

    private void Report(string stage, string message, int epoch, int step, int totalSteps) =>
        _progress?.Report(new TrainingProgress(stage, message, epoch, step, totalSteps));
}
