using System.Globalization;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Training;

/// <summary>
/// Early stopping (docs/method.md, "One run", 4; default preset): patience — training stops after
/// <c>training.early_stopping.patience</c> steps in a row without an accepted edit — and the ceiling — it stops once the
/// current skill fails too few validation tasks for the paired gate to accept anything, or, with the strict gate, once the
/// score to beat is the highest a mean can be (1), which no candidate can exceed. Either way the remaining steps, slow
/// updates and meta skills are skipped and the run goes to the test split.
/// </summary>
internal sealed class EarlyStopping(TrainingContext context, RolloutPhase rollouts, GatePhase gate)
{
    /// <summary>
    /// The state after <paramref name="phase"/> with the decision to stop early, when patience or the ceiling
    /// (<paramref name="ceiling"/>, from <see cref="CeilingAsync"/>) calls for it; <paramref name="stepsDone"/> is the last
    /// step finished once the phase is done.
    /// </summary>
    public RunState Decide(RunScope run, RunState state, Phase phase, int stepsDone, string? ceiling)
    {
        var patience = context.Settings.EarlyStopping.Patience;
        if (patience > 0 && phase.Kind is PhaseKind.Step or PhaseKind.SlowUpdate && stepsDone < run.TotalSteps && StepsWithoutAcceptance(run.History) >= patience)
        {
            state = state with { StoppedEarlyAfterStep = stepsDone };
            context.Report("run", $"early stopping: {Describe(state, run.TotalSteps)}", phase.Epoch, phase.Step, run.TotalSteps);
        }
        if (state.StoppedEarlyAfterStep is null && ceiling is not null)
        {
            state = state with { StoppedEarlyAfterStep = stepsDone, StoppedEarlyReason = ceiling };
            context.Report("run", $"early stopping: {Describe(state, run.TotalSteps)}", phase.Epoch, phase.Step, run.TotalSteps);
        }
        return state;
    }

    /// <summary>
    /// Steps at the end of <paramref name="history"/> since the last accepted edit (a step's, or a slow update's, gated or
    /// classic) or since the baseline.
    /// </summary>
    public static int StepsWithoutAcceptance(IReadOnlyList<HistoryRecord> history)
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

    /// <summary>What stopped the run early and what it skipped (<c>summary.json</c>'s <c>early_stopping</c>).</summary>
    public string Describe(RunState state, int totalSteps)
    {
        var last = state.StoppedEarlyAfterStep!.Value;
        var patience = context.Settings.EarlyStopping.Patience;
        var skipped = last + 1 >= totalSteps ? $"step {totalSteps}" : $"steps {last + 1}–{totalSteps}";
        var why = state.StoppedEarlyReason ?? $"no edit accepted in the last {patience} step(s) (training.early_stopping.patience = {patience})";
        return string.Create(CultureInfo.InvariantCulture, $"{why}; {skipped} and their slow updates skipped");
    }

    /// <summary>
    /// The strict gate's ceiling: a candidate must score strictly above <paramref name="scoreToBeat"/> (the stored mean in
    /// [0,1] of the skill credited with the current score), and no mean is above 1, so at 1 every later step, slow update
    /// and the final skill's promotion could only be turned away: the returned skill is already decided. Null below 1.
    /// </summary>
    internal static string? StrictCeiling(double scoreToBeat) => scoreToBeat >= 1
        ? "the current skill scores 1 on the validation split, and the strict gate accepts only a strictly higher score: no candidate can be accepted"
        : null;

    /// <summary>
    /// Why training should stop at the ceiling (<c>training.early_stopping.ceiling</c>, see
    /// <see cref="IPairedGate.CeilingReason"/>), or null. Decided on the current skill's results in the current
    /// validation round only. A skill accepted in this phase has none yet; when its results as a candidate (the previous
    /// round's draws, biased upwards since they got it accepted) already put it at the ceiling, it is measured on this round's
    /// first draw, which the next gate would score anyway (the rollout cache keeps it), and the decision rests on that draw.
    /// </summary>
    public async Task<string?> CeilingAsync(RunScope run, RunState state, CancellationToken ct)
    {
        if (!context.Settings.EarlyStopping.Ceiling)
        {
            return null;
        }
        if (gate.Paired is not { } paired)
        {
            return StrictCeiling(context.IncumbentScore(state));
        }
        var n = run.Splits.Validation.Count;
        var first = gate.FirstValidationSample(state);
        // measured after it became current, so no gate decision selected on them (its draws as a candidate belong to the previous round)
        var current = gate.RoundValidation(state.CurrentHash, first);
        if (current.Count > 0 || state.Accepted == 0)
        {
            return paired.CeilingReason(current, n);
        }
        // accepted at least once, so the previous round exists
        if (paired.CeilingReason(gate.RoundValidation(state.CurrentHash, first - gate.DrawsPerRound), n) is null)
        {
            return null;
        }
        await rollouts.EvaluateAsync("val", context.Store.ReadSkill(state.CurrentHash), state.CurrentHash, run.Splits.Validation, first, ChatStage.Validate, ct).ConfigureAwait(false);
        return paired.CeilingReason(gate.RoundValidation(state.CurrentHash, first), n);
    }
}
