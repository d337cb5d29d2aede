using SkillOpt.Core.Configuration;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

public class RunBudgetTests
{
    private static SkillOptOptions Options(string preset, Action<SkillOptOptions>? change = null)
    {
        var o = new SkillOptOptions { Preset = preset };
        change?.Invoke(o);
        return o.ApplyPreset();
    }

    [Fact]
    public void No_call_budget_gives_no_estimate()
    {
        Assert.Null(new RunBudget(Options("default", o => o.Budget.MaxWallSeconds = 60)).Estimate(40, 400, 200));
    }

    [Fact]
    public void Classic_estimate_counts_a_batch_and_the_whole_validation_split_per_step()
    {
        // classic: batch 40 + no pre-screen + 200 validation tasks = 240 target calls per step; the baseline validation (200)
        // is paid once, so 2,600 target calls allow (2,600 − 200) / 240 = 10 steps. Optimizer: 5 minibatches + 1 merge + 2 = 8.
        var text = new RunBudget(Options("classic", o => o.Budget.MaxTargetCalls = 2_600)).Estimate(40, 400, 200);
        Assert.Equal("pre-flight estimate: about 240 target and 8 optimizer calls per step; budget.max_target_calls allows about 10 of the 40 planned steps", text);
    }

    [Fact]
    public void Default_estimate_names_both_early_stopping_rules_and_the_tighter_budget()
    {
        // the default preset's own loop (the posterior gate) on 150 validation tasks: batch 40 + pre-screen 8 + 4 + about half
        // of 150 = 127 per step; the baseline and the current skill's own draws, 2 × 150, are paid once. Optimizer calls: 8 per
        // step, so 40 allow 5 steps, fewer than the (100,000 − 300) / 127 the target budget allows.
        var text = new RunBudget(Options("default", o => { o.Gate.Kind = "posterior"; o.Budget.MaxTargetCalls = 100_000; o.Budget.MaxOptimizerCalls = 40; })).Estimate(40, 400, 150);
        Assert.Equal("pre-flight estimate: about 127 target and 8 optimizer calls per step; budget.max_optimizer_calls allows about 5 of the 40 planned steps"
            + " (early stopping may end the run sooner: after 15 steps in a row without an accepted edit, or once the current skill fails too few validation tasks for a candidate to be accepted)", text);
    }

    [Fact]
    public void Default_estimate_counts_the_pre_screen_only_up_to_its_validation_split_size()
    {
        // the posterior gate at both sizes: 150 validation tasks: batch 40 + pre-screen 8 + 4 + 75 = 127; 151: no pre-screen, 40 + 75.5 = 116 (rounded)
        var budget = new RunBudget(Options("default", o => { o.Gate.Kind = "posterior"; o.Budget.MaxOptimizerCalls = 40; }));
        Assert.StartsWith("pre-flight estimate: about 127 target", budget.Estimate(40, 400, 150), StringComparison.Ordinal);
        Assert.StartsWith("pre-flight estimate: about 116 target", budget.Estimate(40, 400, 151), StringComparison.Ordinal);
    }

    [Fact]
    public void The_strict_gate_is_estimated_at_half_the_split_with_its_futility_stop_and_the_whole_split_without()
    {
        // the default preset with gate.kind strict: batch 40 + about half of 200 (the futility stop) = 140 per step, and the
        // baseline (200) is paid once, with no draws of the current skill: (1,000 − 200) / 140 = 5.7 steps; without the stop
        // 40 + 200 = 240, as classic
        var stop = new RunBudget(Options("default", o => { o.Gate.Kind = "strict"; o.Budget.MaxTargetCalls = 1_000; })).Estimate(40, 400, 200);
        Assert.Equal("pre-flight estimate: about 140 target and 8 optimizer calls per step; budget.max_target_calls allows about 5 of the 40 planned steps"
            + " (early stopping may end the run sooner: once the current skill passes every validation task)", stop);
        var whole = new RunBudget(Options("default", o => { o.Gate.Kind = "strict"; o.Gate.Strict.StopProbability = 0; o.Budget.MaxOptimizerCalls = 40; }));
        Assert.StartsWith("pre-flight estimate: about 240 target", whole.Estimate(40, 400, 200), StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_preset_is_estimated_with_its_strict_gate_at_every_size()
    {
        // gate.kind unset: the strict gate with its futility stop and no early stopping, as when it is named; on 150
        // validation tasks, no pre-screen (the stop looks every 4 tasks instead), 40 + 75 = 115 per step and the baseline (150)
        // once: (1,000 − 150) / 115 = 7.4
        var options = Options("default", o => o.Budget.MaxTargetCalls = 1_000);
        var named = new RunBudget(Options("default", o => { o.Gate.Kind = "strict"; o.Budget.MaxTargetCalls = 1_000; }));
        Assert.Equal(named.Estimate(40, 400, 200), new RunBudget(options).Estimate(40, 400, 200));
        Assert.Equal(named.Estimate(40, 400, 150), new RunBudget(options).Estimate(40, 400, 150));
        Assert.Equal("pre-flight estimate: about 115 target and 8 optimizer calls per step; budget.max_target_calls allows about 7 of the 40 planned steps"
            + " (early stopping may end the run sooner: once the current skill passes every validation task)", new RunBudget(options).Estimate(40, 400, 150));
    }

    [Fact]
    public void Proposals_multiply_the_pre_screen_and_optimizer_calls_and_the_ceiling_is_not_named_when_off()
    {
        var text = new RunBudget(Options("default", o =>
        {
            o.Gate.Kind = "posterior";
            o.Budget.MaxTargetCalls = 1_000;
            o.Training.Proposals = 2;
            o.Training.EarlyStopping.Ceiling = false;
            o.Training.EarlyStopping.Patience = 0;
        })).Estimate(40, 400, 200);
        // 40 + 2 × 12 + 100 = 164 per step; (1,000 − 400) / 164 = 3.7 steps; optimizer 2 × 8 = 16
        Assert.Equal("pre-flight estimate: about 164 target and 16 optimizer calls per step; budget.max_target_calls allows about 3 of the 40 planned steps", text);
    }

    [Fact]
    public void Cost_prices_a_dated_model_id_like_the_providers_do()
    {
        // One cost model (ModelPricing): "gpt-5-mini" prices "gpt-5-mini-2025-08-07", as the providers' per-call accounting does.
        var budget = new RunBudget(Options("default", o =>
        {
            o.Models.Target.Model = "gpt-5-mini-2025-08-07";
            o.Models.Optimizer.Model = "GPT-5";
            o.Pricing["gpt-5-mini"] = new ModelPrice { InputPerMillion = 2.0, CachedInputPerMillion = 0.5, OutputPerMillion = 8.0 };
            o.Pricing["gpt-5"] = new ModelPrice { InputPerMillion = 10.0, OutputPerMillion = 40.0 };
        }));
        var usage = new Dictionary<string, SkillOpt.Core.Accounting.StageUsage>
        {
            ["rollout"] = new(Calls: 3, InputTokens: 1_000, OutputTokens: 500, CachedInputTokens: 400, Tasks: 3, WallSeconds: 1),
            ["reflect"] = new(Calls: 1, InputTokens: 100, OutputTokens: 10, CachedInputTokens: 0, Tasks: 0, WallSeconds: 1),
        };

        var spent = budget.Measure(usage, 2);

        // target: 600 × $2/M + 400 × $0.5/M + 500 × $8/M = $0.0054; optimizer: 100 × $10/M + 10 × $40/M = $0.0014
        Assert.Equal(0.0068, spent.CostUsd!.Value, 9);
    }
}
