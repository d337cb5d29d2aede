using System.Diagnostics;
using System.Globalization;
using System.Text;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Training;

/// <summary>
/// The slow update (docs/method.md, "One run", 3): the previous-epoch and current skills on the same train tasks, a
/// task-by-task comparison, one optimizer call that rewrites the protected guidance block, and the result gated like any
/// edit (the default preset's own loop) or applied as is (the reference's loop: classic, and the default preset with its
/// strict gate). In the reference's loop the comparison is the reference's (<see cref="EpochComparison"/>), and after epoch 1
/// the phase adds the reference's empty guidance block.
/// </summary>
internal sealed class SlowUpdatePhase(TrainingContext context, RolloutPhase rollouts, OptimizerModel optimizer, GatePhase gate, EpochComparison epochComparison)
{
    /// <summary>Runs the slow update of epoch <paramref name="phase"/>.Epoch.</summary>
    public async Task<(RunState, HistoryRecord)> RunAsync(RunScope run, RunState state, Phase phase, CancellationToken ct)
    {
        var su = context.Settings.SlowUpdate;
        var store = context.Store;
        var baseRecord = new HistoryRecord { Kind = "slow_update", Epoch = phase.Epoch, Action = "skip", CurrentHash = state.CurrentHash, CurrentScore = context.IncumbentScore(state), BestScore = state.BestScore };
        if (phase.Epoch == 1)
        {
            return Placeholder(run, state, phase, baseRecord);
        }
        var previousHash = state.EpochEndHashes[phase.Epoch - 1];
        if (su.SkipUnchanged && previousHash == state.CurrentHash)
        {
            context.Report(ChatStage.SlowUpdate, "slow update skipped: the epoch changed nothing", phase.Epoch, 0, run.TotalSteps);
            return (state, baseRecord with { Reason = "the epoch changed nothing, so there is nothing to compare (training.slow_update.skip_unchanged)" });
        }
        var folder = store.PhaseFolder($"epoch_{phase.Epoch.ToString("D2", CultureInfo.InvariantCulture)}_slow_update");
        var previous = store.ReadSkill(previousHash);
        var current = store.ReadSkill(state.CurrentHash);
        var (comparison, reply) = context.Settings.Reference.ReferenceSlowUpdate
            ? await ReferenceGuidanceAsync(run, state, phase, previousHash, previous, current, folder, ct).ConfigureAwait(false)
            : await GuidanceAsync(run, state, phase, previousHash, previous, current, ct).ConfigureAwait(false);
        AtomicFile.WriteJson(Path.Combine(folder, "slow_update.json"), new { comparison, reply });
        if (reply.Value is null)
        {
            return (state, baseRecord with { Reason = $"the slow-update reply was unusable: {reply.Failure}" });
        }
        // the reference's loop: its replace_slow_update_field (the block moves to the end); else written in place
        var candidate = context.Settings.Reference.ReferenceSlowUpdate
            ? SkillDocument.Parse(current).WithReferenceSlowUpdateGuidance(reply.Value.Guidance.Trim())
            : SkillDocument.Parse(current).WithSlowUpdateGuidance(reply.Value.Guidance.Trim());
        var budget = context.Settings.Edits.TokenBudget;
        var tokens = ApproximateTokenCounter.Instance.CountTokens(candidate.Text);
        if (candidate.Hash == state.CurrentHash)
        {
            return (state, baseRecord with { Reason = "the guidance is unchanged" });
        }
        if (budget > 0 && tokens > budget && tokens > ApproximateTokenCounter.Instance.CountTokens(current))
        {
            return (state, baseRecord with { Reason = $"the guidance would bring the skill to {tokens} tokens, over the budget of {budget}" });
        }
        if (!su.Gated)
        {
            // classic: the reference applies the guidance without validation
            store.SaveSkill(candidate.Hash, candidate.Text);
            context.Report(ChatStage.SlowUpdate, "slow update applied without validation (classic)", phase.Epoch, 0, run.TotalSteps);
            var s = state with { CurrentHash = candidate.Hash };
            return (context.WriteVersion(s, candidate.Text), baseRecord with { Action = "applied_ungated", CandidateHash = candidate.Hash, CurrentHash = s.CurrentHash });
        }
        var guidanceEdit = new SkillEdit(EditOperation.Replace, "<!-- skillopt:slow-update -->", reply.Value.Guidance.Trim(), "slow update");
        var (newState, gateRecord) = await gate.GateAsync(run, state, candidate, folder, phase, [guidanceEdit], gate.FirstValidationSample(state), ct).ConfigureAwait(false);
        return (context.WriteVersion(newState, store.ReadSkill(newState.CurrentHash)), baseRecord with
        {
            Action = gateRecord.Action,
            Reason = gateRecord.Reason,
            CandidateHash = gateRecord.CandidateHash,
            Validation = gateRecord.Validation,
            CurrentHash = newState.CurrentHash,
            CurrentScore = context.IncumbentScore(newState),
            BestScore = newState.BestScore,
        });
    }

    /// <summary>
    /// The default preset's guidance: the two skills on a batch a step of the epoch already rolled out (else on the epoch's
    /// slow-update tasks), the same sample on both sides, one rollout when the skills are equal; one line per task.
    /// </summary>
    private async Task<(string Comparison, StructuredReply<SlowUpdateReply> Reply)> GuidanceAsync(RunScope run, RunState state, Phase phase, string previousHash,
        string previous, string current, CancellationToken ct)
    {
        var su = context.Settings.SlowUpdate;
        var (tasks, sample) = su.ReuseStepRollouts && ReusableStep(run.History, phase.Epoch, previousHash, state.CurrentHash) is { } step
            ? (context.Batch(run.Splits, phase.Epoch, (step - 1) % context.BatchesPerEpoch(run.Splits)).Take(su.SampleSize).ToList(), step)
            : (context.Order(run.Splits.Train, $"slow_update:{phase.Epoch}").Take(su.SampleSize).ToList(), EpochComparison.PreviousSample(phase.Epoch));
        var before = await rollouts.RunTasksAsync(previous, previousHash, tasks, sample, ChatStage.SlowUpdateRollout, reuse: true, ct).ConfigureAwait(false);
        var after = previousHash == state.CurrentHash ? before : await rollouts.RunTasksAsync(current, state.CurrentHash, tasks, sample, ChatStage.SlowUpdateRollout, reuse: true, ct).ConfigureAwait(false);
        if (!context.Settings.AllowVerifierText)
        {
            before = before with { Results = before.Results.Select(context.LeakGuard.Redact).ToList() };
            after = after with { Results = after.Results.Select(context.LeakGuard.Redact).ToList() };
        }
        var comparison = Compare(before, after);
        // the rollouts above are accounted to their own stage (slow_update_rollout); this stage is the optimizer call
        var sw = Stopwatch.StartNew();
        var reply = await optimizer.SlowUpdateAsync(previous, current, comparison, tasks.Count, su.MaxWords, ct).ConfigureAwait(false);
        context.Usage.AddWallTime(ChatStage.SlowUpdate, sw.Elapsed.TotalSeconds);
        return (comparison, reply);
    }

    /// <summary>
    /// The reference's guidance (<c>classic</c>): the two skills rolled out afresh on the epoch's slow-update tasks
    /// (<see cref="EpochComparison"/>, kept in the folder for the meta skill), the guidance in force as its own section, no word limit.
    /// </summary>
    private async Task<(string Comparison, StructuredReply<SlowUpdateReply> Reply)> ReferenceGuidanceAsync(RunScope run, RunState state, Phase phase, string previousHash,
        string previous, string current, string folder, CancellationToken ct)
    {
        var (comparison, tasks) = await epochComparison.CompareAsync(run, previousHash, state.CurrentHash, phase.Epoch, ct).ConfigureAwait(false);
        AtomicFile.WriteAllText(Path.Combine(folder, EpochComparison.FileName), comparison);
        var guidance = SkillDocument.Parse(current).SlowUpdateGuidance ?? "";
        var sw = Stopwatch.StartNew(); // the comparison's rollouts are accounted to their own stage
        var reply = await optimizer.SlowUpdateAsync(previous, current, guidance, comparison, tasks, ct).ConfigureAwait(false);
        context.Usage.AddWallTime(ChatStage.SlowUpdate, sw.Elapsed.TotalSeconds);
        return (comparison, reply);
    }

    /// <summary>
    /// After epoch 1 (<c>classic</c>): the reference adds an empty guidance block to the current skill, unvalidated, unless it
    /// has one; the best skill is left as it is.
    /// </summary>
    private (RunState, HistoryRecord) Placeholder(RunScope run, RunState state, Phase phase, HistoryRecord baseRecord)
    {
        var current = SkillDocument.Parse(context.Store.ReadSkill(state.CurrentHash));
        if (current.SlowUpdateRegion is not null)
        {
            return (state, baseRecord with { Reason = "the skill already has a guidance block" });
        }
        var placeholder = current.WithSlowUpdateGuidance("");
        context.Store.SaveSkill(placeholder.Hash, placeholder.Text);
        context.Report(ChatStage.SlowUpdate, "empty guidance block added (the reference's loop adds it after epoch 1, without validation)", phase.Epoch, 0, run.TotalSteps);
        var s = state with { CurrentHash = placeholder.Hash };
        return (context.WriteVersion(s, placeholder.Text), baseRecord with
        {
            Action = "placeholder",
            Reason = "the reference adds an empty slow-update block after epoch 1, without validation",
            CandidateHash = placeholder.Hash,
            CurrentHash = s.CurrentHash,
        });
    }

    /// <summary>
    /// The latest step of <paramref name="epoch"/> that rolled out the current skill, or else the latest that rolled out the
    /// previous one (the skill at the epoch's start), whose batch and sample index the slow update can reuse; null when no
    /// finished step of the epoch rolled out either.
    /// </summary>
    public static int? ReusableStep(IReadOnlyList<HistoryRecord> history, int epoch, string previousHash, string currentHash) =>
        StepsThatRolledOut(history, epoch, currentHash) is [var c, ..] ? c
        : StepsThatRolledOut(history, epoch, previousHash) is [var p, ..] ? p : null;

    /// <summary>
    /// The finished steps of <paramref name="epoch"/> whose rollout ran with the skill <paramref name="hash"/>, latest first
    /// (step numbers, which are also the rollouts' sample indices). The skill a step rolled out is the current skill after the
    /// phase before it.
    /// </summary>
    public static List<int> StepsThatRolledOut(IReadOnlyList<HistoryRecord> history, int epoch, string hash)
    {
        var after = new Dictionary<int, string>();
        foreach (var h in history)
        {
            after[h.Phase] = h.CurrentHash;
        }
        return history.Where(h => h.Kind == "step" && h.Epoch == epoch && h.Step is not null && after.GetValueOrDefault(h.Phase - 1) == hash)
            .Select(h => h.Step!.Value).OrderByDescending(s => s).ToList();
    }

    /// <summary>One line per task scored with both skills: improved, regressed, still failing or still passing (with the failure reason, cut to 300 characters).</summary>
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
                sb.Append(" — ").Append(TextLimits.Short(a.Reason, 300));
            }
            sb.Append('\n');
        }
        return sb.Length == 0 ? "No task was scored with both skills." : sb.ToString();
    }
}
