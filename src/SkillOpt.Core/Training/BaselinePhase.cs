using SkillOpt.Core.Accounting;
using SkillOpt.Core.Rollouts;
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
        if (EmptyAnswers(eval.Results) is { } asked)
        {
            context.Warn(ChatStage.Validate, DiagnosticCodes.EmptyAnswers,
                $"the target returned empty answers for {asked} of {asked} tasks of the baseline (the initial skill on the validation split), so its scores say nothing about the skill; "
                + "check the target's provider and model configuration (models.target: provider, endpoint, model; SKILLOPT_TARGET_* overrides)");
        }
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

    /// <summary>
    /// How many tasks asked the target when every one of them got only empty answers (no assistant message with text in its
    /// transcript: a provider that answers HTTP 200 with empty content, say), else <see langword="null"/>. Tasks that did not
    /// ask the target (skipped, or errored before a call) do not count.
    /// </summary>
    internal static int? EmptyAnswers(IEnumerable<RolloutResult> results)
    {
        var asked = results.Where(r => r.Transcript.Any(m => m.Role == "user")).ToList();
        return asked.Count > 0 && asked.All(r => !r.Transcript.Any(m => m.Role == "assistant" && !string.IsNullOrWhiteSpace(m.Text))) ? asked.Count : null;
    }
}
