using SkillOpt.Core.Accounting;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Training;

/// <summary>The baseline (docs/method.md, "One run", 1): the initial skill scored on the validation split, sample 0.</summary>
internal sealed class BaselinePhase(TrainingContext context, RolloutPhase rollouts)
{
    /// <summary>Scores the current (initial) skill; it becomes the best so far and the strict gate's incumbent evidence.</summary>
    public async Task<(RunState, HistoryRecord)> RunAsync(RunScope run, RunState state, CancellationToken ct)
    {
        var skill = context.Store.ReadSkill(state.CurrentHash);
        var eval = await rollouts.EvaluateAsync("val", skill, state.CurrentHash, run.Splits.Validation, 0, ChatStage.Validate, ct).ConfigureAwait(false);
        context.Report(ChatStage.Validate, $"baseline: validation {eval.MeanScore:0.###} on {eval.ScoredCount} tasks ({eval.ErroredCount} errored); initial skill {state.CurrentHash[..12]}, val split", 0, 0, 0);
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
}
