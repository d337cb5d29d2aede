using System.Globalization;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Training;

/// <summary>
/// The test (docs/method.md, "One run", 5): the initial and best skills scored on the test split, sample 0, and in
/// <c>classic</c> the final skill too (the reference's end; elsewhere a final skill the run does not return costs no test
/// calls and the summary gives it no test score). In the
/// reference's loop (<c>classic</c>, and the default preset with the strict gate) a final skill that differs from the best is
/// first validated and promoted to best on a strictly higher score, as the reference does.
/// </summary>
internal sealed class TestPhase(TrainingContext context, RolloutPhase rollouts, GatePhase gate)
{
    /// <summary>Scores each distinct skill of initial, best and (classic) final on the test split (no budget check: the run's result must be measured).</summary>
    public async Task<(RunState, HistoryRecord)> RunAsync(RunScope run, RunState state, CancellationToken ct)
    {
        string? reason = null;
        ValidationSummary? validation = null;
        if (context.Settings.Reference.PromoteFinalSkill && state.CurrentHash != state.BestHash)
        {
            (state, reason, validation) = await PromoteFinalAsync(run, state, ct).ConfigureAwait(false);
        }
        if (run.Splits.Test.Count > 0)
        {
            var skills = context.Settings.Reference.TestFinalSkill ? new[] { state.InitialHash, state.BestHash, state.CurrentHash } : [state.InitialHash, state.BestHash];
            foreach (var hash in skills.Distinct())
            {
                var eval = await rollouts.EvaluateAsync("test", context.Store.ReadSkill(hash), hash, run.Splits.Test, 0, ChatStage.Test, ct).ConfigureAwait(false);
                var role = string.Join("/", new[] { (state.InitialHash, "initial"), (state.BestHash, "best"), (state.CurrentHash, "final") }.Where(x => x.Item1 == hash).Select(x => x.Item2));
                context.Report(ChatStage.Test, $"test {hash[..12]}: {eval.MeanScore:0.###} on {eval.ScoredCount} tasks ({role} skill, test split)", 0, 0, 0);
            }
        }
        return (state, new HistoryRecord
        {
            Kind = "test",
            Action = "none",
            Reason = reason,
            Validation = validation,
            CurrentHash = state.CurrentHash,
            CurrentScore = context.IncumbentScore(state),
            BestScore = state.BestScore,
        });
    }

    /// <summary>
    /// The reference's last check (<c>classic</c>, and the default preset in the reference's loop): the final skill — which may
    /// hold an unvalidated slow update — scored on the validation split (sample 0 in <c>classic</c>, like every strict-gate
    /// measurement there; else sample 1 + r, as the strict gate's next round, so no choice rests on the test split's sample)
    /// and made the best skill when its score is strictly higher than the best's. When the strict gate stops early (the default
    /// preset), the final skill is scored as that gate's candidate against the best's score: a futile one stops before the
    /// whole split (and is not promoted). Skipped, with the reason, when the budget is spent.
    /// </summary>
    private async Task<(RunState, string, ValidationSummary?)> PromoteFinalAsync(RunScope run, RunState state, CancellationToken ct)
    {
        Rollouts.Evaluation eval;
        Gates.GateDecision? decision;
        try
        {
            var sample = context.Settings.Reference.StrictValidationSample(state.Accepted);
            decision = await gate.ValidateFinalAsync(run, state.CurrentHash, sample, state.BestScore, ct).ConfigureAwait(false);
            eval = decision?.Candidate
                ?? await rollouts.EvaluateAsync("val", context.Store.ReadSkill(state.CurrentHash), state.CurrentHash, run.Splits.Validation, sample, ChatStage.Validate, ct).ConfigureAwait(false);
        }
        catch (BudgetExhaustedException ex)
        {
            return (state, $"the final skill was not validated: {ex.Message}", null);
        }
        var score = eval.MeanScore;
        var summary = new ValidationSummary(score, state.BestScore, eval.ScoredCount, eval.ErroredCount, decision?.TasksSkipped ?? 0, Gate: "final");
        var text = decision is { TasksSkipped: > 0 }
            ? string.Create(CultureInfo.InvariantCulture,
                $"final skill {score:0.####} on {eval.ScoredCount} of {run.Splits.Validation.Count} validation tasks against the best {state.BestScore:0.####}; it cannot, or is unlikely to, end above it: stopped")
            : string.Create(CultureInfo.InvariantCulture, $"final skill {score:0.####} on validation against the best {state.BestScore:0.####}");
        if (decision?.Verdict == Gates.GateVerdict.Accept || (decision is null && score > state.BestScore))
        {
            context.Report("gate", $"{text}: the final skill becomes the best (the reference's loop, strict >)", 0, 0, run.TotalSteps);
            return (state with { BestHash = state.CurrentHash, BestScore = score }, text + ": promoted to best (strict >)", summary);
        }
        context.Report("gate", $"{text}: the best skill is kept", 0, 0, run.TotalSteps);
        return (state, text + ": not promoted (strict >)", summary);
    }
}
