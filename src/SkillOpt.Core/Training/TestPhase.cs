using SkillOpt.Core.Accounting;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Training;

/// <summary>The test (docs/method.md, "One run", 5): the initial, best and final skills scored on the test split, sample 0.</summary>
internal sealed class TestPhase(TrainingContext context, RolloutPhase rollouts)
{
    /// <summary>Scores each distinct skill of initial, best and final on the test split (no budget check: the run's result must be measured).</summary>
    public async Task<(RunState, HistoryRecord)> RunAsync(RunScope run, RunState state, CancellationToken ct)
    {
        if (run.Splits.Test.Count > 0)
        {
            foreach (var hash in new[] { state.InitialHash, state.BestHash, state.CurrentHash }.Distinct())
            {
                var eval = await rollouts.EvaluateAsync("test", context.Store.ReadSkill(hash), hash, run.Splits.Test, 0, ChatStage.Test, ct).ConfigureAwait(false);
                var role = string.Join("/", new[] { (state.InitialHash, "initial"), (state.BestHash, "best"), (state.CurrentHash, "final") }.Where(x => x.Item1 == hash).Select(x => x.Item2));
                context.Report(ChatStage.Test, $"test {hash[..12]}: {eval.MeanScore:0.###} on {eval.ScoredCount} tasks ({role} skill, test split)", 0, 0, 0);
            }
        }
        return (state, new HistoryRecord { Kind = "test", Action = "none", CurrentHash = state.CurrentHash, CurrentScore = context.IncumbentScore(state), BestScore = state.BestScore });
    }
}
