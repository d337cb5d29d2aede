using System.Diagnostics;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Training;

/// <summary>
/// The validation gate (docs/method.md, "The paired gate") and the combination of inconclusive candidates ("Combining
/// inconclusive candidates"): a candidate against the current skill on the validation split, the state that follows from
/// the verdict (current and best skill, counts, the rejected-edit buffer), and the validation rounds that decide which
/// samples a comparison uses.
/// </summary>
internal sealed class GatePhase
{
    /// <summary>First sample index of combined candidates' validation draws (<see cref="CombineAsync"/>): above every round's samples and the veto re-checks' offsets.</summary>
    private const int CombinationSampleBase = 2_000_000;

    private readonly TrainingContext _context;
    private readonly RolloutPhase _rollouts;
    private readonly object _pendingGate = new();
    private Dictionary<(string Hash, int Sample), Dictionary<string, RolloutResult>>? _pendingValidation;
    private readonly EditApplier _applier;

    /// <summary>Creates the phase with <paramref name="gate"/>, or the gate <c>gate.kind</c> names.</summary>
    /// <param name="context">The run.</param>
    /// <param name="rollouts">Runs and caches the target's tasks.</param>
    /// <param name="applier">Applies edits (combined candidates).</param>
    /// <param name="gate">The gate to use instead of the one <c>gate.kind</c> names (tests), or null.</param>
    /// <param name="validationTasks">The run's validation tasks: they set the default preset's strict gate's chunk (<see cref="GateSettings.ChunkSizeFor"/>).</param>
    public GatePhase(TrainingContext context, RolloutPhase rollouts, EditApplier applier, IValidationGate? gate, int validationTasks)
    {
        _context = context;
        _rollouts = rollouts;
        _applier = applier;
        var g = context.Settings.Gate;
        var chunk = g.ChunkSizeFor(validationTasks);
        Gate = gate ?? g.Kind switch
        {
            "paired" => new PairedSequentialGate(g.Alpha, g.Sequential, chunk, g.VetoRegressions, g.VetoMinSamples, g.MaxDraws, g.AlternativeWinShare, g.Power, g.FinalAnalysis),
            "posterior" => new PosteriorPairedGate(g.Posterior.Threshold, g.Posterior.Prior, g.Posterior.StopProbability, chunk, g.Posterior.MaxDraws),
            _ => new StrictImprovementGate(g.StrictStopProbability, chunk, g.StrictTaskDifficulty),
        };
    }

    /// <summary>The gate in use.</summary>
    public IValidationGate Gate { get; }

    /// <summary>The gate as a paired gate (<c>paired</c>, <c>posterior</c>): it measures the current skill itself; null for the strict gate.</summary>
    public IPairedGate? Paired => Gate as IPairedGate;

    /// <summary>Validation samples per round: the paired gate's most draws D (1 for the strict gate).</summary>
    public int DrawsPerRound => Paired?.MaxDraws ?? 1;

    /// <summary>
    /// First sample index of the current validation round. A round lasts from one acceptance to the next (round r = r
    /// accepted candidates so far) and uses samples r·D … r·D + D − 1: within it every candidate is compared with the current
    /// skill on the same samples, so the current skill's measurements are paid once (cached) and shared by all its
    /// challengers, and the next round's fresh samples keep the new current skill from being judged on the draws that got it accepted.
    /// The strict gate scores its candidates on sample 1 + r: never on sample 0, which the test split and the approval
    /// check score, so that noise shared by the two splits at one sample (a flaky service, correlated tasks) cannot carry a
    /// candidate's luck on validation over to its test (in <c>classic</c>, sample 0, as the reference validates and tests once;
    /// docs/method.md, "The strict gate with a futility stop").
    /// </summary>
    public int FirstValidationSample(RunState state) => Paired is not null ? state.Accepted * DrawsPerRound
        : _context.Settings.Reference.StrictValidationSample(state.Accepted);

    /// <summary>A skill's stored validation results on the D samples of the round starting at <paramref name="firstSample"/>.</summary>
    public List<RolloutResult> RoundValidation(string hash, int firstSample) =>
        [.. Enumerable.Range(firstSample, DrawsPerRound).SelectMany(sample => _context.Store.ReadEvaluation("val", hash, sample)?.Results ?? [])];

    /// <summary>
    /// Gates <paramref name="candidate"/> against the current skill on validation samples from <paramref name="firstSample"/>
    /// and applies the verdict: accepted, it becomes the current skill (and the best: a paired acceptance is significant;
    /// strict, when its score beats the best); rejected, its <paramref name="edits"/> enter the rejected-edit buffer.
    /// </summary>
    public async Task<(RunState, HistoryRecord)> GateAsync(RunScope run, RunState state, SkillDocument candidate, string folder, Phase phase,
        IReadOnlyList<SkillEdit> edits, int firstSample, CancellationToken ct)
    {
        var store = _context.Store;
        store.SaveSkill(candidate.Hash, candidate.Text);
        AtomicFile.WriteAllText(Path.Combine(folder, "candidate_skill.md"), candidate.Text);
        // The paired gate measures the current skill itself, lazily and through the cache; the strict gate trusts its stored evaluation.
        var incumbentEval = Paired is not null ? new Evaluation(state.CurrentHash, 0, []) : await IncumbentEvaluationAsync(run, state, ct).ConfigureAwait(false);
        var current = store.ReadSkill(state.CurrentHash);
        // wall time is accounted by the evaluations inside the gate (stage validate), not around it: counted once.
        // A sequential gate scores chunk after chunk; each skill's evaluation file is written once when the gate ends
        // (also when it is interrupted), not rewritten after every chunk (the rollout cache keeps every result meanwhile).
        var decision = await WithPendingValidationAsync(() => Gate.DecideAsync(new GateContext(candidate.Text, candidate.Hash, current, state.CurrentHash, incumbentEval,
            run.Splits.Validation, EvaluateValidation, _context.Settings.Seed, firstSample, IncumbentHistory(run, state), TaskHistory(candidate.Hash)), ct)).ConfigureAwait(false);
        AtomicFile.WriteJson(Path.Combine(folder, $"validation_{candidate.ShortHash}.json"), decision.Candidate);
        var plain = GateExplanation.Describe(decision, Gate.Name);
        AtomicFile.WriteJson(Path.Combine(folder, "decision.json"), new
        {
            verdict = decision.Verdict.ToString().ToLowerInvariant(), decision.Reason, decision.CandidateScore, decision.IncumbentScore, candidate_hash = candidate.Hash,
            gate = Gate.Name, decision.Wins, decision.Losses, paired_tasks = decision.PairedTasks, p_value = decision.PValue, tasks_skipped = decision.TasksSkipped, explanation = plain,
        });

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
                // paired: an accepted candidate is judged better than the current skill on the same draws, so it is the new best
                if (Paired is not null || decision.CandidateScore > s.BestScore)
                {
                    s = s with { BestHash = candidate.Hash, BestScore = decision.CandidateScore };
                }
                break;
            case GateVerdict.Reject:
                foreach (var e in edits)
                {
                    run.Buffer.Add(e, phase.Index, Math.Max(1, phase.Epoch), decision.IncumbentScore - decision.CandidateScore, decision.Reason, edits.Count);
                }
                s = s with { Rejected = s.Rejected + 1 };
                break;
            default:
                s = s with { Inconclusive = s.Inconclusive + 1 };
                break;
        }
        var action = decision.Verdict.ToString().ToLowerInvariant();
        _context.Report("gate", $"gate: {plain} (details: {Path.GetRelativePath(store.Root, Path.Combine(folder, "decision.json")).Replace('\\', '/')})", phase.Epoch, phase.Step, run.TotalSteps);
        return (s, new HistoryRecord
        {
            Kind = "gate",
            Action = action,
            Reason = decision.Reason,
            CandidateHash = candidate.Hash,
            Validation = new ValidationSummary(decision.CandidateScore, decision.IncumbentScore, decision.Candidate.ScoredCount, decision.Candidate.ErroredCount,
                decision.TasksSkipped, decision.PValue, Gate.Name, decision.Wins, decision.Losses, decision.PairedTasks),
            CurrentHash = s.CurrentHash,
        });
    }

    /// <summary>
    /// Gates the pooled inconclusive candidates' edits applied together to the current skill (<c>gate.combine_inconclusive</c>),
    /// on validation samples no other evaluation uses: each pooled candidate was kept because it led the current skill's draw
    /// of this round, so judging the combination on that same draw would count the current skill's unlucky failures again.
    /// On fresh draws, when every pooled edit is useless the combination's pairs are fair coins whatever led to the pooling,
    /// so its false-accept rate is still at most α. Accepted or rejected, the pool is emptied (rejected edits go to the
    /// rejected-edit buffer); inconclusive, it keeps its newest K − 1 candidates (K = <c>gate.combine_inconclusive</c>).
    /// </summary>
    public async Task<(RunState, CombinationSummary)> CombineAsync(RunScope run, RunState state, string stepFolder, Phase phase, CancellationToken ct)
    {
        var pool = state.PendingCandidates;
        var steps = pool.Select(p => p.Step).ToList();
        var edits = pool.SelectMany(p => p.Edits).ToList();
        var applied = _applier.Apply(SkillDocument.Parse(_context.Store.ReadSkill(state.CurrentHash)), edits);
        var firstSample = CombinationSampleBase + state.Combinations * DrawsPerRound;
        if (!applied.Changed || applied.Result.Hash == state.CurrentHash)
        {
            _context.Report("gate", $"combination of steps {string.Join(", ", steps)}: no edit applies to the current skill any more; pool emptied", phase.Epoch, phase.Step, run.TotalSteps);
            return (state with { PendingCandidates = [] }, new CombinationSummary(steps, 0, applied.Rejected.Count, null, "skip", "no pooled edit applies to the current skill", null, firstSample));
        }
        var folder = Path.Combine(stepFolder, "combined");
        Directory.CreateDirectory(folder);
        var appliedEdits = applied.Applied.Select(a => a.Edit).ToList();
        _context.Report("gate", $"combining the inconclusive candidates of steps {string.Join(", ", steps)}: {appliedEdits.Count} edits, gated on fresh validation samples", phase.Epoch, phase.Step, run.TotalSteps);
        var (s, gate) = await GateAsync(run, state with { Combinations = state.Combinations + 1 }, applied.Result, folder, phase, appliedEdits, firstSample, ct).ConfigureAwait(false);
        var keep = _context.Settings.Gate.CombineInconclusive - 1;
        s = s with { PendingCandidates = gate.Action == "inconclusive" ? [.. pool.Skip(Math.Max(0, pool.Count - keep))] : [] };
        return (s, new CombinationSummary(steps, appliedEdits.Count, applied.Rejected.Count, applied.Result.Hash, gate.Action, gate.Reason, gate.Validation, firstSample));
    }

    /// <summary>
    /// The final skill's validation before its promotion (the reference's loop), when the strict gate stops early: the final
    /// skill is scored as a candidate of that gate against <paramref name="bar"/> (the best skill's score, in [0,1]), so a final
    /// skill that is unlikely to beat it stops as futile (and is not promoted). Null when the gate scores
    /// every task anyway (<c>classic</c>, or a gate other than strict): the caller scores the whole split.
    /// </summary>
    /// <exception cref="RolloutErrorsException">Too many validation rollouts errored.</exception>
    public async Task<GateDecision?> ValidateFinalAsync(RunScope run, string hash, int sample, double bar, CancellationToken ct)
    {
        if (Gate is not StrictImprovementGate { StopsEarly: true } strict)
        {
            return null;
        }
        return await WithPendingValidationAsync(() => strict.DecideAsync(_context.Store.ReadSkill(hash), hash, run.Splits.Validation, EvaluateValidation,
            _context.Settings.Seed, sample, bar, ct, TaskHistory(hash))).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one gate decision whose validation (<see cref="EvaluateValidation"/>, chunk after chunk) is collected and written
    /// once per (skill, sample) when the decision ends, also when it is interrupted, instead of after every chunk (the
    /// rollout cache keeps every result meanwhile).
    /// </summary>
    private async Task<GateDecision> WithPendingValidationAsync(Func<Task<GateDecision>> decide)
    {
        lock (_pendingGate)
        {
            _pendingValidation = new Dictionary<(string Hash, int Sample), Dictionary<string, RolloutResult>>();
        }
        try
        {
            return await decide().ConfigureAwait(false);
        }
        finally
        {
            FlushPendingValidation();
        }
    }

    /// <summary>
    /// Scores a skill on validation tasks for the gate. With the reference's selection cache (<c>classic</c>), a skill already
    /// validated on these tasks and sample is judged on that stored validation again instead of being measured afresh.
    /// </summary>
    private async Task<Evaluation> EvaluateValidation(string skill, string hash, IReadOnlyList<string> tasks, int sample, CancellationToken ct)
    {
        if (_context.Settings.Reference.SelectionCache && _context.Store.ReadEvaluation("val", hash, sample) is { } stored
            && tasks.All(t => stored.Results.Any(r => r.TaskId == t)))
        {
            return new Evaluation(hash, sample, [.. tasks.Select(t => stored.Results.First(r => r.TaskId == t))]);
        }
        var eval = await _rollouts.RunTasksAsync(skill, hash, tasks, sample, ChatStage.Validate, reuse: _rollouts.Cache is not null, ct).ConfigureAwait(false);
        lock (_pendingGate)
        {
            if (_pendingValidation is { } pending)
            {
                if (!pending.TryGetValue((hash, sample), out var byTask))
                {
                    pending[(hash, sample)] = byTask = new Dictionary<string, RolloutResult>(StringComparer.Ordinal);
                }
                foreach (var r in eval.Results)
                {
                    byTask[r.TaskId] = r;
                }
                return eval;
            }
        }
        _rollouts.StoreEvaluation("val", hash, sample, eval.Results);
        return eval;
    }

    /// <summary>Writes the validation results the gate scored, one evaluation file per (skill, sample).</summary>
    private void FlushPendingValidation()
    {
        Dictionary<(string Hash, int Sample), Dictionary<string, RolloutResult>>? pending;
        lock (_pendingGate)
        {
            pending = _pendingValidation;
            _pendingValidation = null;
        }
        foreach (var ((hash, sample), byTask) in pending ?? [])
        {
            _rollouts.StoreEvaluation("val", hash, sample, byTask.Values);
        }
    }

    /// <summary>The strict gate's incumbent evidence: the stored validation of the skill credited with the current score, scored again only when tasks are missing.</summary>
    private async Task<Evaluation> IncumbentEvaluationAsync(RunScope run, RunState state, CancellationToken ct)
    {
        var stored = _context.Store.ReadEvaluation("val", state.IncumbentEvaluationHash, state.IncumbentSample);
        var tasks = run.Splits.Validation;
        if (stored is not null && tasks.All(t => stored.Results.Any(r => r.TaskId == t)))
        {
            return new Evaluation(stored.SkillHash, stored.SampleIndex, tasks.Select(t => stored.Results.First(r => r.TaskId == t)).ToList());
        }
        return await _rollouts.EvaluateAsync("val", _context.Store.ReadSkill(state.IncumbentEvaluationHash), state.IncumbentEvaluationHash, tasks, state.IncumbentSample, ChatStage.Validate, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The strict gate's task history (<c>gate.strict.task_difficulty</c>): pass/fail counts by validation task over every
    /// stored validation of the run but that of <paramref name="candidateHash"/> (<see cref="RunStore.ValidationTallies"/>);
    /// null when the gate does not read it or nothing is stored.
    /// </summary>
    private IReadOnlyDictionary<string, TaskTally>? TaskHistory(string candidateHash) =>
        _context.Settings.Gate.StrictTaskDifficulty && Gate is StrictImprovementGate { StopsEarly: true } && _context.Store.ValidationTallies(candidateHash) is { Count: > 0 } t ? t : null;

    /// <summary>The current skill's cached validation results of this round and, as a candidate, of the previous one (the veto's evidence).</summary>
    private IReadOnlyDictionary<string, IReadOnlyList<RolloutResult>> IncumbentHistory(RunScope run, RunState state)
    {
        var history = new Dictionary<string, IReadOnlyList<RolloutResult>>(StringComparer.Ordinal);
        if (_rollouts.Cache is not { } cache)
        {
            return history;
        }
        foreach (var t in run.Splits.Validation)
        {
            var list = new List<RolloutResult>();
            // the current skill can only have been measured in this round and, as a candidate, in the previous one
            for (var sample = Math.Max(0, FirstValidationSample(state) - DrawsPerRound); sample < FirstValidationSample(state) + DrawsPerRound; sample++)
            {
                if (cache.Peek(state.CurrentHash, t, sample) is { IsScored: true } r)
                {
                    list.Add(r);
                }
            }
            history[t] = list;
        }
        return history;
    }
}
