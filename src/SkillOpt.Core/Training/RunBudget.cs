using System.Globalization;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Core.Training;

/// <summary>Spending so far: calls by role, tokens, cost and wall time.</summary>
/// <param name="TargetCalls">Target-model calls (a task whose runner reports no call count counts as one call).</param>
/// <param name="OptimizerCalls">Optimizer-model calls.</param>
/// <param name="Tokens">Input plus output tokens of both roles.</param>
/// <param name="CostUsd">Cost in US dollars, when the pricing table has the models; else null.</param>
/// <param name="WallSeconds">Wall time in seconds.</param>
internal sealed record Spending(long TargetCalls, long OptimizerCalls, long Tokens, double? CostUsd, double WallSeconds);

/// <summary>
/// The run's budgets (<c>budget</c> section): measures spending from the per-stage accounting, estimates before the run
/// how many steps a budget allows, and says when a limit is reached.
/// </summary>
internal sealed class RunBudget
{
    private readonly SkillOptOptions _options;

    /// <summary>Creates the budget of a run.</summary>
    public RunBudget(SkillOptOptions options) => _options = options;

    /// <summary>True when any limit is set.</summary>
    public bool Any => _options.Budget is { } b && (b.MaxTargetCalls ?? b.MaxOptimizerCalls ?? b.MaxTokens) is not null || _options.Budget.MaxCostUsd is not null || _options.Budget.MaxWallSeconds is not null;

    /// <summary>Spending from per-stage usage and elapsed wall time.</summary>
    public Spending Measure(IReadOnlyDictionary<string, StageUsage> usage, double wallSeconds)
    {
        long target = 0, optimizer = 0, tokens = 0;
        double cost = 0;
        var priced = true;
        foreach (var (stage, u) in usage)
        {
            var isTarget = ChatStage.TargetStages.Contains(stage);
            if (isTarget)
            {
                target += Math.Max(u.Calls, u.Tasks);
            }
            else
            {
                optimizer += u.Calls;
            }
            tokens += u.InputTokens + u.OutputTokens;
            var model = isTarget ? _options.Models.Target.Model : _options.Models.Optimizer.Model;
            if (ModelPricing.Find(_options.Pricing, model) is { } price)
            {
                cost += ModelPricing.CostUsd(price, u.InputTokens, u.CachedInputTokens, u.OutputTokens);
            }
            else if (u.InputTokens + u.OutputTokens > 0)
            {
                priced = false;
            }
        }
        return new Spending(target, optimizer, tokens, priced && _options.Pricing.Count > 0 ? Math.Round(cost, 6) : null, wallSeconds);
    }

    /// <summary>The largest fraction of any limit spent (0 when no limit is set).</summary>
    public double FractionUsed(Spending s)
    {
        var b = _options.Budget;
        var f = 0.0;
        if (b.MaxTargetCalls is { } t) { f = Math.Max(f, (double)s.TargetCalls / t); }
        if (b.MaxOptimizerCalls is { } o) { f = Math.Max(f, (double)s.OptimizerCalls / o); }
        if (b.MaxTokens is { } k) { f = Math.Max(f, (double)s.Tokens / k); }
        if (b.MaxCostUsd is { } c && s.CostUsd is { } spent) { f = Math.Max(f, spent / c); }
        if (b.MaxWallSeconds is { } w) { f = Math.Max(f, s.WallSeconds / w); }
        return f;
    }

    /// <summary>Names the first limit reached, with its numbers, or returns null.</summary>
    public string? Exhausted(Spending s)
    {
        var b = _options.Budget;
        return b.MaxTargetCalls is { } t && s.TargetCalls >= t ? $"budget.max_target_calls reached ({s.TargetCalls} of {t})"
            : b.MaxOptimizerCalls is { } o && s.OptimizerCalls >= o ? $"budget.max_optimizer_calls reached ({s.OptimizerCalls} of {o})"
            : b.MaxTokens is { } k && s.Tokens >= k ? $"budget.max_tokens reached ({s.Tokens} of {k})"
            : b.MaxCostUsd is { } c && s.CostUsd >= c ? string.Create(CultureInfo.InvariantCulture, $"budget.max_cost_usd reached (${s.CostUsd:0.##} of ${c:0.##})")
            : b.MaxWallSeconds is { } w && s.WallSeconds >= w ? string.Create(CultureInfo.InvariantCulture, $"budget.max_wall_seconds reached ({s.WallSeconds:0} s of {w:0} s)")
            : null;
    }

    /// <summary>
    /// Pre-flight estimate, before any call: target and optimizer calls per step from the configuration (rollout of a batch,
    /// pre-screen, validation — the whole split for the strict gate, about half for the sequential paired gate — and about
    /// one reflection per minibatch plus merges and a ranking; pre-screen and optimizer calls once per proposal of
    /// <c>training.proposals</c>), and how many steps the call budgets allow. The per-step figures are averages for planning,
    /// not bounds; the sentence names the early-stopping rules that may end the run before the budget does
    /// (<c>training.early_stopping</c>).
    /// </summary>
    /// <param name="totalSteps">Steps the run plans (epochs × batches per epoch), ≥ 0.</param>
    /// <param name="trainTasks">Tasks in the train split.</param>
    /// <param name="validationTasks">Tasks in the validation split.</param>
    /// <returns>A sentence, or null when no call budget (<c>budget.max_target_calls</c>, <c>budget.max_optimizer_calls</c>) is set.</returns>
    public string? Estimate(int totalSteps, int trainTasks, int validationTasks)
    {
        if (_options.Budget.MaxTargetCalls is null && _options.Budget.MaxOptimizerCalls is null)
        {
            return null;
        }
        var o = _options.ApplyPreset();
        var t = o.Training;
        var batch = Math.Min(t.BatchSize, trainTasks);
        var paired = GateKinds.IsPaired(o.Gate.Kind);
        var proposals = Math.Max(1, t.Proposals ?? 1);
        var ps = PrescreenSettings.From(o.Gate.Prescreen, proposals);
        var prescreen = ps.RunsFor(validationTasks) ? proposals * (ps.FailedTasks + ps.PassedTasks) : 0;
        // gates that stop early score about half the split per candidate (the strict gate's futility stop: 43–64% measured on
        // SimLab, docs/method.md, "The strict gate with a futility stop")
        var stopsEarly = paired ? o.Gate.Sequential == true || GateKinds.Normalize(o.Gate.Kind) == "posterior" : o.Gate.Strict.StopProbability > 0;
        var validation = stopsEarly ? validationTasks / 2.0 : validationTasks;
        var targetPerStep = batch + prescreen + validation;
        var minibatches = Math.Ceiling(batch / (double)t.MinibatchSize);
        var optimizerPerStep = proposals * (minibatches + Math.Ceiling(minibatches / t.MergeFanIn) + 2);
        var fixedTarget = validationTasks * (paired ? 2 : 1);
        var steps = new List<(string Name, double Steps)>();
        if (o.Budget.MaxTargetCalls is { } mt) { steps.Add(("max_target_calls", Math.Max(0, (mt - fixedTarget) / targetPerStep))); }
        if (o.Budget.MaxOptimizerCalls is { } mo) { steps.Add(("max_optimizer_calls", mo / optimizerPerStep)); }
        var (name, n) = steps.MinBy(x => x.Steps);
        var patience = t.EarlyStopping.Patience ?? 0;
        var stops = new List<string>();
        if (patience > 0) { stops.Add(string.Create(CultureInfo.InvariantCulture, $"after {patience} steps in a row without an accepted edit")); }
        if (t.EarlyStopping.Ceiling == true) { stops.Add(paired ? "once the current skill fails too few validation tasks for a candidate to be accepted" : "once the current skill passes every validation task"); }
        return string.Create(CultureInfo.InvariantCulture,
            $"pre-flight estimate: about {targetPerStep:0} target and {optimizerPerStep:0} optimizer calls per step; budget.{name} allows about {Math.Floor(n):0} of the {totalSteps} planned steps")
            + (stops.Count > 0 ? $" (early stopping may end the run sooner: {string.Join(", or ", stops)})" : "");
    }
}

/// <summary>Thrown inside a phase when a budget limit is reached; the loop stops cleanly and writes the best skill and the summary.</summary>
internal sealed class BudgetExhaustedException(string message) : Exception(message);
