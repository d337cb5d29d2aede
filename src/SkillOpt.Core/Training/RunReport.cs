using System.Globalization;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Training;

/// <summary>What a run reports: budget warnings as it goes and, at its end, <c>summary.json</c>.</summary>
internal sealed class RunReport(TrainingContext context, EarlyStopping earlyStopping)
{
    /// <summary>Warns once at 50% and once at 80% of the budget; returns the state with the warnings given.</summary>
    public RunState WarnAboutBudget(RunState state, Phase phase, int totalSteps)
    {
        var budget = context.Budget;
        if (!budget.Any)
        {
            return state;
        }
        var spent = budget.Measure(context.Usage.Snapshot(), state.ElapsedSeconds);
        var used = budget.FractionUsed(spent);
        var warnings = state.BudgetWarnings.ToList();
        foreach (var level in new[] { 50, 80 })
        {
            if (used * 100 >= level && !warnings.Contains(level))
            {
                warnings.Add(level);
                context.Report("budget", string.Create(CultureInfo.InvariantCulture, $"warning: {used:P0} of the budget spent ({spent.TargetCalls} target calls, {spent.OptimizerCalls} optimizer calls, {spent.Tokens} tokens{(spent.CostUsd is { } c ? $", ${c:0.##}" : "")})"),
                    phase.Epoch, phase.Step, totalSteps);
            }
        }
        return state with { BudgetWarnings = warnings };
    }

    /// <summary>The run's summary: status, counts, the initial, best and final skills' scores, usage and spending.</summary>
    public RunSummary Summarize(RunScope run, RunState state, string? stopReason)
    {
        var store = context.Store;
        var splits = run.Splits;
        SkillScores Scores(string hash) => new(hash,
            PooledValidation(hash),
            splits.Test.Count == 0 ? null : store.ReadEvaluation("test", hash, 0)?.MeanScore,
            store.ReadEvaluation("test", hash, 0)?.ScoredCount ?? 0);
        var usage = context.Usage.Snapshot();
        var spent = context.Budget.Measure(usage, state.ElapsedSeconds);
        return new RunSummary
        {
            Status = stopReason is null ? "completed" : $"stopped: {stopReason}",
            Preset = context.Settings.Preset,
            Seed = context.Settings.Seed,
            Splits = new SortedDictionary<string, int>(StringComparer.Ordinal) { ["train"] = splits.Train.Count, ["val"] = splits.Validation.Count, ["test"] = splits.Test.Count },
            Steps = run.History.Count(h => h.Kind == "step"),
            Accepted = state.Accepted,
            Rejected = state.Rejected,
            Inconclusive = state.Inconclusive,
            Initial = Scores(state.InitialHash),
            Best = Scores(state.BestHash),
            Final = Scores(state.CurrentHash),
            Usage = usage,
            ReplyFailures = context.ReplyFailures.Snapshot(),
            ErroredRollouts = state.ErroredRollouts,
            BestSkillTokens = ApproximateTokenCounter.Instance.CountTokens(store.ReadSkill(state.BestHash)),
            TargetCalls = spent.TargetCalls,
            OptimizerCalls = spent.OptimizerCalls,
            CostUsd = spent.CostUsd,
            CacheHits = state.CacheHits,
            ValidationTasksSkipped = run.History.Sum(h => h.Validation?.TasksSkipped ?? 0),
            EarlyStopping = state.StoppedEarlyAfterStep is null ? null : earlyStopping.Describe(state, run.TotalSteps),
        };
    }

    /// <summary>Mean validation score of a skill over every sample it was measured on (null when never measured).</summary>
    private double? PooledValidation(string hash)
    {
        var dir = Path.Combine(context.Store.Root, "evaluations");
        if (!Directory.Exists(dir))
        {
            return null;
        }
        var scored = Directory.EnumerateFiles(dir, $"{RunStore.EvaluationFilePrefix("val", hash)}*.json").Order(StringComparer.Ordinal)
            .SelectMany(f => AtomicFile.ReadJson<Evaluation>(f)?.Results ?? []).Where(r => r.IsScored).ToList();
        return scored.Count == 0 ? null : Math.Round(scored.Average(r => r.Score), 6);
    }
}
