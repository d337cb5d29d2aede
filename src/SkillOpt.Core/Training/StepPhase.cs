using System.Globalization;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Training;

/// <summary>
/// One step (docs/method.md, "One run", 2): the rollout of the current skill on the step's train batch, the proposals
/// (<see cref="ProposalPhase"/>), the pre-screen (<see cref="PrescreenPhase"/>), the validation gate and the combination of
/// inconclusive candidates (<see cref="GatePhase"/>).
/// </summary>
internal sealed class StepPhase(TrainingContext context, RolloutPhase rollouts, ProposalPhase proposals, PrescreenPhase prescreen, GatePhase gate,
    LearningRateSchedule schedule)
{
    /// <summary>Runs step <paramref name="phase"/> and returns the state after it and its history record.</summary>
    public async Task<(RunState, HistoryRecord)> RunAsync(RunScope run, RunState state, Phase phase, CancellationToken ct)
    {
        var settings = context.Settings;
        var store = context.Store;
        var folder = store.PhaseFolder($"step_{phase.Step.ToString("D4", CultureInfo.InvariantCulture)}");
        if (phase.Batch == 0 && settings.RejectedEdits.ResetEachEpoch)
        {
            run.Buffer.Clear();
        }
        var current = store.ReadSkill(state.CurrentHash);
        var currentDoc = SkillDocument.Parse(current);
        var batch = context.Batch(run.Splits, phase.Epoch, phase.Batch);

        // 1. rollout
        var rollout = await rollouts.RunTasksAsync(current, state.CurrentHash, batch, phase.Step, ChatStage.Rollout, reuse: true, ct).ConfigureAwait(false);
        AtomicFile.WriteJson(Path.Combine(folder, "rollout.json"), rollout);
        var rolloutSummary = RolloutPhase.Summarize(rollout);
        context.Report(ChatStage.Rollout, $"rollout: {rolloutSummary.Passed}/{rolloutSummary.Tasks} passed, mean {rolloutSummary.MeanScore:0.###}, {rolloutSummary.Errored} errored", phase.Epoch, phase.Step, run.TotalSteps);

        // 2–5. reflection, merge, filter and ranking, apply: once per proposal (training.proposals), side by side
        var lr = schedule.BudgetAt(SchedulePosition(run.History, phase, settings.Reference.ScheduleOnSelection), run.TotalSteps);
        var count = settings.Proposals;
        var all = await Task.WhenAll(Enumerable.Range(0, count).Select(k =>
            proposals.ProposeAsync(run, state, current, currentDoc, rollout, phase, lr, k, count == 1 ? folder : Path.Combine(folder, $"proposal_{k + 1}"), ct))).ConfigureAwait(false);
        var first = all[0].Record with
        {
            ReflectionCalls = all.Sum(p => p.Record.ReflectionCalls),
            MergeCalls = all.Sum(p => p.Record.MergeCalls),
            Epoch = phase.Epoch,
            Step = phase.Step,
            LearningRate = lr,
            Rollout = rolloutSummary,
            Action = "skip",
            CurrentHash = state.CurrentHash,
            CurrentScore = context.IncumbentScore(state),
            BestScore = state.BestScore,
        };
        var built = all.Where(p => p.Candidate is not null).ToList();
        IReadOnlyList<ProposalSummary>? Describe(Proposal? chosen) => count == 1 ? null : [.. all.Select(p => ProposalPhase.DescribeProposal(p, built, chosen))];
        if (built.Count == 0)
        {
            context.Report("gate", count == 1 ? $"{all[0].SkipReason}: step skipped" : $"no proposal built a candidate: step skipped", phase.Epoch, phase.Step, run.TotalSteps);
            return (context.WriteVersion(state, current), first with { Reason = all[0].SkipReason, Proposals = Describe(null) });
        }

        // 6. pre-screen (of every built proposal), then the gate of the best one
        Proposal chosen;
        if (settings.Prescreen.RunsFor(run.Splits.Validation.Count))
        {
            built = await prescreen.ScreenAsync(run, rollout, built, phase, ct).ConfigureAwait(false);
            if (!built.Any(p => p.Screen!.Passed))
            {
                // the record shows the one that came closest, ranked as the gate's choice would be
                var top = built[ProposalPhase.ChooseProposal([.. built.Select(p => (true, p.Screen!.Fixes, p.Screen.Breaks, p.Edits.Count))])];
                context.Report("gate", $"pre-screen: reject ({top.Screen!.Reason})", phase.Epoch, phase.Step, run.TotalSteps);
                var rejectedState = state with { Rejected = state.Rejected + 1 };
                var rejected = ProposalPhase.WithProposal(first, top) with
                {
                    CandidateHash = top.Candidate!.Hash,
                    Action = "reject",
                    Reason = "pre-screen: " + top.Screen.Reason,
                    Validation = new ValidationSummary(top.Screen.CandidateScore, top.Screen.IncumbentScore, top.Screen.Tasks, 0, run.Splits.Validation.Count, null, "prescreen"),
                    Proposals = Describe(null),
                };
                RecordInStepBuffer(run, phase, rollout, top, "reject", rejected.Validation);
                return (context.WriteVersion(rejectedState, current), rejected);
            }
            chosen = built[ProposalPhase.ChooseProposal([.. built.Select(p => (p.Screen!.Passed, p.Screen.Fixes, p.Screen.Breaks, p.Edits.Count))])];
            if (count > 1)
            {
                context.Report("gate", $"proposal {chosen.Index + 1} of {count} chosen (pre-screen: {chosen.Screen!.Fixes} fixed, {chosen.Screen.Breaks} broken)", phase.Epoch, phase.Step, run.TotalSteps);
            }
        }
        else
        {
            chosen = built[0];
        }

        // 7. the validation gate, 8. the combination of inconclusive candidates
        var record = ProposalPhase.WithProposal(first, chosen) with { Proposals = Describe(chosen) };
        var (newState, gateRecord) = await gate.GateAsync(run, state, chosen.Candidate!, folder, phase, chosen.Edits, gate.FirstValidationSample(state), ct).ConfigureAwait(false);
        CombinationSummary? combination = null;
        if (gateRecord.Action == "inconclusive" && settings.Gate.CombineInconclusive > 1)
        {
            newState = newState with { PendingCandidates = [.. newState.PendingCandidates, new PendingCandidate(phase.Step, chosen.Edits)] };
            if (newState.PendingCandidates.Count >= 2)
            {
                (newState, combination) = await gate.CombineAsync(run, newState, folder, phase, ct).ConfigureAwait(false);
            }
        }
        RecordInStepBuffer(run, phase, rollout, chosen, gateRecord.Action == "accept" && newState.BestHash != state.BestHash ? "accept_new_best" : gateRecord.Action, gateRecord.Validation);
        return (context.WriteVersion(newState, store.ReadSkill(newState.CurrentHash)), record with
        {
            CandidateHash = gateRecord.CandidateHash,
            Validation = gateRecord.Validation,
            Action = gateRecord.Action,
            Reason = gateRecord.Reason,
            Combination = combination,
            CurrentHash = newState.CurrentHash,
            CurrentScore = context.IncumbentScore(newState),
            BestScore = newState.BestScore,
        });
    }

    /// <summary>
    /// The step of the learning-rate schedule: the step number (default), or, as the reference's scheduler advances only
    /// when a step reaches selection, one more than the earlier steps whose reflections proposed an edit (<c>classic</c>).
    /// </summary>
    internal static int SchedulePosition(IReadOnlyList<HistoryRecord> history, Phase phase, bool scheduleOnSelection) => scheduleOnSelection
        ? 1 + history.Count(h => h.Kind == "step" && h.FailurePatches + h.SuccessPatches > 0)
        : phase.Step;

    /// <summary>Records a gated step in the step buffer (<c>classic</c>): its action, its rollout's failures and patterns, and a rejected candidate's edits with the scores.</summary>
    private void RecordInStepBuffer(RunScope run, Phase phase, Rollouts.Evaluation rollout, Proposal gated, string action, ValidationSummary? validation)
    {
        if (!context.Settings.Reference.StepBuffer)
        {
            return;
        }
        var rejected = action == "reject";
        run.StepBuffer.Add(new StepBufferEntry(phase.Index, phase.Epoch, phase.Step, action, rollout.Results.Count(r => r.Outcome == Rollouts.TaskOutcome.Failed), rollout.Results.Count,
            StepBuffer.FailurePatterns(rollout.Results, gated.FailureTypes), rejected ? validation?.IncumbentScore : null, rejected ? validation?.CandidateScore : null,
            rejected ? StepBuffer.Describe(gated.Selected) : [],
            rejected ? validation?.Tasks : null, rejected ? validation?.Tasks + validation?.Errored + validation?.TasksSkipped : null, rejected ? validation?.TasksSkipped ?? 0 : 0));
    }
}
