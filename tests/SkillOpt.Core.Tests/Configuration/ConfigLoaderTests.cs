using SkillOpt.Core.Configuration;

namespace SkillOpt.Core.Tests.Configuration;

public class ConfigLoaderTests
{
    [Fact]
    public void Empty_file_gives_the_reference_defaults_and_the_default_preset()
    {
        var o = SkillOptConfigLoader.Parse("", "skillopt.yaml");
        Assert.Equal(4, o.Training.Epochs);
        Assert.Equal(40, o.Training.BatchSize);
        Assert.Equal(8, o.Training.MinibatchSize);
        Assert.Equal(8, o.Training.MergeFanIn);
        Assert.Equal(16, o.Training.OptimizerConcurrency);
        Assert.Equal(("cosine", 4, 2), (o.Training.LearningRate.Schedule, o.Training.LearningRate.Max, o.Training.LearningRate.Min));
        // no pre-screen with the strict gate: it looks every 4 validation tasks on small splits instead (chunk size left to the split's size)
        Assert.Equal(("strict", 0.05, true, true, false, true), (o.Gate.Kind, o.Gate.Alpha, o.Gate.Sequential, o.Gate.VetoRegressions, o.Gate.Prescreen.Enabled, o.Rollouts.Cache));
        Assert.Null(o.Gate.ChunkSize);
        Assert.Equal(8, SkillOptConfigLoader.Parse("preset: classic\n", "skillopt.yaml").Gate.ChunkSize);
        Assert.Equal(8, SkillOptConfigLoader.Parse("gate:\n  kind: posterior\n", "skillopt.yaml").Gate.ChunkSize);
        // the strict gate with its futility stop, in the reference's loop: the reference's edit settings, rejected-edit
        // buffer and ungated slow update (also after the last epoch), but no meta skill after the last epoch
        Assert.True(o.UsesReferenceLoop);
        Assert.Equal(0.05, o.Gate.Strict.StopProbability);
        Assert.Equal((0, 2.0, "classic", false, "epoch", false, true, false), (o.Skill.TokenBudget, o.Skill.DuplicateSimilarity, o.Skill.Matching,
            o.Training.SlowUpdate.Gated, o.Training.RejectedEdits.Scope, o.Training.RejectedEdits.Enforce, o.Training.SlowUpdate.InLastEpoch, o.Training.MetaSkill.InLastEpoch));
        // its epoch comparison reads one side from the steps' rollouts; the slow update still runs after an epoch that changed nothing
        Assert.Equal((true, false), (o.Training.SlowUpdate.ReuseStepRollouts, o.Training.SlowUpdate.SkipUnchanged));
        // a setting given explicitly wins over the loop's default
        var budget = SkillOptConfigLoader.Parse("skill:\n  token_budget: 900\ntraining:\n  slow_update:\n    gated: true\n", "skillopt.yaml");
        Assert.Equal((900, true), (budget.Skill.TokenBudget, budget.Training.SlowUpdate.Gated));
        Assert.Equal(0.0, SkillOptConfigLoader.Parse("preset: classic\n", "skillopt.yaml").Gate.Strict.StopProbability);
        Assert.Equal(0.01, SkillOptConfigLoader.Parse("gate:\n  kind: strict\n  strict:\n    stop_probability: 0.01\n", "skillopt.yaml").Gate.Strict.StopProbability);
        // a paired gate runs the default preset's own loop
        var posteriorKind = SkillOptConfigLoader.Parse("gate:\n  kind: posterior\n", "skillopt.yaml");
        Assert.Equal((false, 2000, 0.85, "strict", "run", true, true, true, false, true), (posteriorKind.UsesReferenceLoop, posteriorKind.Skill.TokenBudget, posteriorKind.Skill.DuplicateSimilarity,
            posteriorKind.Skill.Matching, posteriorKind.Training.RejectedEdits.Scope, posteriorKind.Training.RejectedEdits.Enforce, posteriorKind.Training.SlowUpdate.Gated,
            posteriorKind.Training.SlowUpdate.ReuseStepRollouts, posteriorKind.Training.MetaSkill.InLastEpoch, posteriorKind.Training.SlowUpdate.InLastEpoch));
        var bad = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("gate:\n  strict:\n    stop_probability: 0.5\n", "skillopt.yaml"));
        Assert.Equal(("SKOPT1002", "gate.strict.stop_probability", 3), (bad.Code, bad.Key, bad.Line));
        Assert.True(o.Gate.FinalAnalysis);
        Assert.False(SkillOptConfigLoader.Parse("gate:\n  final_analysis: false\n", "skillopt.yaml").Gate.FinalAnalysis);
    }

    [Fact]
    public void Classic_preset_reproduces_the_reference_behaviour_unless_overridden()
    {
        var o = SkillOptConfigLoader.Parse("preset: classic\nskill:\n  token_budget: 900\n", "skillopt.yaml");
        Assert.True(o.IsClassic);
        Assert.Equal("classic", o.Skill.Matching);
        Assert.False(o.Training.SlowUpdate.Gated);
        Assert.Equal("epoch", o.Training.RejectedEdits.Scope);
        Assert.False(o.Training.RejectedEdits.Enforce);
        Assert.True(o.Training.MetaSkill.InLastEpoch);
        Assert.True(o.Training.SlowUpdate.InLastEpoch);
        Assert.Equal(("strict", false, false), (o.Gate.Kind, o.Gate.Prescreen.Enabled, o.Rollouts.Cache));
        Assert.False(o.Gate.FinalAnalysis);
        Assert.Equal(900, o.Skill.TokenBudget); // explicit setting wins over the preset
    }

    [Fact]
    public void Full_file_is_read_with_snake_case_keys()
    {
        var o = SkillOptConfigLoader.Parse("""
            seed: 11
            training:
              epochs: 2
              learning_rate: { schedule: linear, max: 6, min: 1 }
            splits: { train: 0.5, val: 0.3, test: 0.2 }
            models:
              target: { provider: openai, model: gpt-5-mini, api_key_env: MY_KEY, temperature: 0.2 }
            pricing:
              gpt-5-mini: { input_per_million: 0.25, output_per_million: 2.0 }
            """, "skillopt.yaml");
        Assert.Equal(11, o.Seed);
        Assert.Equal("linear", o.Training.LearningRate.Schedule);
        Assert.Equal(0.3, o.Splits.Val);
        Assert.Equal("MY_KEY", o.Models.Target.ApiKeyEnv);
        Assert.Equal(0.2f, o.Models.Target.Temperature);
        Assert.Equal(2.0, o.Pricing["gpt-5-mini"].OutputPerMillion);
    }

    [Fact]
    public void Unknown_key_names_file_line_column_key_and_suggests_the_right_one()
    {
        var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("seed: 1\ntraining:\n  epoch: 3\n", "cfg/skillopt.yaml"));
        Assert.Equal("SKOPT1001", ex.Code);
        Assert.Equal(("cfg/skillopt.yaml", 3, 3), (ex.File, ex.Line, ex.Column));
        Assert.Equal("training.epoch", ex.Key);
        Assert.Contains("did you mean 'epochs'", ex.Message);
        Assert.StartsWith("cfg/skillopt.yaml(3,3): error SKOPT1001:", ex.Message);
    }

    [Fact]
    public void Wrong_type_names_the_key_the_value_and_the_expected_type()
    {
        var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("training:\n  batch_size: forty\n", "skillopt.yaml"));
        Assert.Equal("SKOPT1002", ex.Code);
        Assert.Equal(2, ex.Line);
        Assert.Equal("training.batch_size", ex.Key);
        Assert.Contains("'forty'", ex.Message);
        Assert.Contains("an integer", ex.Message);
    }

    [Fact]
    public void Out_of_range_value_names_its_line()
    {
        var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("seed: 3\nsplits:\n  train: 0.9\n  val: 0.3\n  test: 0.2\n", "skillopt.yaml"));
        Assert.Equal("splits", ex.Key);
        Assert.Equal(2, ex.Line);
        var ex2 = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("training:\n  learning_rate:\n    schedule: exponential\n", "skillopt.yaml"));
        Assert.Equal(("training.learning_rate.schedule", 3), (ex2.Key, ex2.Line));
        Assert.Contains("constant, linear, cosine", ex2.Message);
    }

    [Fact]
    public void The_sequential_test_settings_are_read_and_checked()
    {
        var o = SkillOptConfigLoader.Parse("gate:\n  alternative_win_share: 0.8\n  power: 0.9\n", "skillopt.yaml");
        Assert.Equal((0.8, 0.9), (o.Gate.AlternativeWinShare, o.Gate.Power));
        var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("gate:\n  alternative_win_share: 0.5\n", "skillopt.yaml"));
        Assert.Equal(("gate.alternative_win_share", 2), (ex.Key, ex.Line));
        var ex2 = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("gate:\n  power: 1\n", "skillopt.yaml"));
        Assert.Equal(("gate.power", 2), (ex2.Key, ex2.Line));
    }

    [Fact]
    public void The_posterior_gate_and_approval_settings_are_read_and_checked()
    {
        var d = SkillOptConfigLoader.Parse("", "skillopt.yaml");
        Assert.Equal((0.7, 3.0, 0.1, 3), (d.Gate.Posterior.Threshold, d.Gate.Posterior.Prior, d.Gate.Posterior.StopProbability, d.Gate.Posterior.MaxDraws));
        Assert.Equal((0.025, 1), (d.Approval.Alpha, d.Approval.TestDraws));
        var o = SkillOptConfigLoader.Parse("gate:\n  posterior:\n    threshold: 0.8\n    prior: 1\n    stop_probability: 0\n    max_draws: 2\napproval:\n  alpha: 0.1\n  test_draws: 3\n", "skillopt.yaml");
        Assert.Equal((0.8, 1.0, 0.0, 2), (o.Gate.Posterior.Threshold, o.Gate.Posterior.Prior, o.Gate.Posterior.StopProbability, o.Gate.Posterior.MaxDraws));
        Assert.Equal((0.1, 3), (o.Approval.Alpha, o.Approval.TestDraws));
        foreach (var (yaml, key, line) in new[]
        {
            ("gate:\n  posterior:\n    threshold: 0.5\n", "gate.posterior.threshold", 3),
            ("gate:\n  posterior:\n    threshold: 1\n", "gate.posterior.threshold", 3),
            ("gate:\n  posterior:\n    prior: 0\n", "gate.posterior.prior", 3),
            ("gate:\n  posterior:\n    stop_probability: 0.5\n", "gate.posterior.stop_probability", 3),
            ("gate:\n  posterior:\n    max_draws: 0\n", "gate.posterior.max_draws", 3),
            ("seed: 1\napproval:\n  alpha: 0.6\n", "approval.alpha", 3),
            ("approval:\n  test_draws: 0\n", "approval.test_draws", 2),
        })
        {
            var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse(yaml, "skillopt.yaml"));
            Assert.Equal(("SKOPT1002", key, line), (ex.Code, ex.Key, ex.Line));
        }
        Assert.Equal("gate.kind", Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("gate:\n  kind: bayes\n", "skillopt.yaml")).Key);
        var posterior = SkillOptConfigLoader.Parse("preset: classic\ngate:\n  kind: posterior\n  posterior:\n    threshold: 0.8\ntraining:\n  early_stopping:\n    ceiling: true\n", "skillopt.yaml");
        Assert.Equal(("posterior", 0.8, true), (posterior.Gate.Kind, posterior.Gate.Posterior.Threshold, posterior.Training.EarlyStopping.Ceiling));
    }

    [Fact]
    public void Early_stopping_and_slow_update_reuse_follow_the_preset_and_are_checked()
    {
        var d = SkillOptConfigLoader.Parse("", "skillopt.yaml");
        // the default preset's strict gate in the reference's loop: no patience, the strict ceiling (a score to beat of 1),
        // the slow update's comparison reads one side from the steps' rollouts
        Assert.Equal((0, true, true), (d.Training.EarlyStopping.Patience, d.Training.EarlyStopping.Ceiling, d.Training.SlowUpdate.ReuseStepRollouts));
        Assert.Equal(5, SkillOptConfigLoader.Parse("training:\n  early_stopping:\n    patience: 5\n", "skillopt.yaml").Training.EarlyStopping.Patience);
        var own = SkillOptConfigLoader.Parse("gate:\n  kind: posterior\n", "skillopt.yaml").Training;
        Assert.Equal((15, true, true), (own.EarlyStopping.Patience, own.EarlyStopping.Ceiling, own.SlowUpdate.ReuseStepRollouts));
        // each gate keeps the patience it was measured with: the paired sequential gate 10, the strict gate none
        Assert.Equal(10, SkillOptConfigLoader.Parse("gate:\n  kind: paired\n", "skillopt.yaml").Training.EarlyStopping.Patience);
        var strictGate = SkillOptConfigLoader.Parse("gate:\n  kind: strict\n", "skillopt.yaml");
        Assert.Equal((0, true), (strictGate.Training.EarlyStopping.Patience, strictGate.Training.EarlyStopping.Ceiling));
        var c = SkillOptConfigLoader.Parse("preset: classic\n", "skillopt.yaml");
        Assert.Equal((0, false), (c.Training.EarlyStopping.Patience, c.Training.SlowUpdate.ReuseStepRollouts));
        var set = SkillOptConfigLoader.Parse("preset: classic\ntraining:\n  early_stopping:\n    patience: 5\n", "skillopt.yaml");
        Assert.Equal(5, set.Training.EarlyStopping.Patience);
        var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("seed: 2\ntraining:\n  early_stopping:\n    patience: -1\n", "skillopt.yaml"));
        Assert.Equal(("SKOPT1002", "training.early_stopping.patience", 4), (ex.Code, ex.Key, ex.Line));

        // classic runs every step, as the reference; a ceiling it is given applies to its gate, paired or strict
        Assert.False(c.Training.EarlyStopping.Ceiling);
        Assert.True(SkillOptConfigLoader.Parse("preset: classic\ntraining:\n  early_stopping:\n    ceiling: true\n", "skillopt.yaml").Training.EarlyStopping.Ceiling);
        var paired = SkillOptConfigLoader.Parse("preset: classic\ngate:\n  kind: paired\ntraining:\n  early_stopping:\n    ceiling: true\n", "skillopt.yaml");
        Assert.True(paired.Training.EarlyStopping.Ceiling);
        Assert.False(SkillOptConfigLoader.Parse("gate:\n  kind: strict\ntraining:\n  early_stopping:\n    ceiling: false\n", "skillopt.yaml").Training.EarlyStopping.Ceiling);
    }

    [Fact]
    public void Malformed_yaml_and_missing_file_are_clear_errors()
    {
        var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("training:\n  epochs: [1\n", "skillopt.yaml"));
        Assert.Equal("SKOPT1003", ex.Code);
        Assert.True(ex.Line >= 2);
        var missing = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".yaml")));
        Assert.Equal("SKOPT1004", missing.Code);
    }

    [Fact]
    public void An_empty_test_split_is_refused_like_an_empty_validation_split()
    {
        var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("seed: 1\nsplits: { train: 0.8, val: 0.2, test: 0 }\n", "skillopt.yaml"));
        Assert.Equal(("SKOPT1002", "splits.test", 2), (ex.Code, ex.Key, ex.Line));
        Assert.Contains("the test split must not be empty", ex.Message, StringComparison.Ordinal);
        Assert.Contains("approval check", ex.Message, StringComparison.Ordinal);
        var val = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("splits: { train: 0.8, val: 0, test: 0.2 }\n", "skillopt.yaml"));
        Assert.Equal(("SKOPT1002", "splits.val"), (val.Code, val.Key));
        Assert.Equal(0.1, SkillOptConfigLoader.Parse("splits: { train: 0.8, val: 0.1, test: 0.1 }\n", "skillopt.yaml").Splits.Test);
    }

    [Fact]
    public void Unknown_provider_is_refused() =>
        Assert.Equal("models.optimizer.provider", Assert.Throws<SkillOptConfigException>(() =>
            SkillOptConfigLoader.Parse("models:\n  optimizer:\n    provider: gemini\n", "skillopt.yaml")).Key);
}
