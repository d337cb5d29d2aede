namespace SkillOpt.SimLab.Tests;

public class ScenarioTests
{
    [Fact]
    public void Builtin_scenarios_load_with_simulated_model_ids()
    {
        Assert.Equal(["gsm8k", "gsm8k-noisy", "misdiagnosis", "null-correlated", "null-optimizer", "small-effects", "synthetic-clean"], ScenarioLoader.BuiltinNames);
        foreach (var name in ScenarioLoader.BuiltinNames)
        {
            var s = ScenarioLoader.Load(name);
            Assert.Equal(name, s.Name);
            Assert.Contains("sim", s.Models.Target, StringComparison.Ordinal);
            Assert.Contains("sim", s.Models.Optimizer, StringComparison.Ordinal);
            Assert.NotEmpty(s.ResolvedTasks);
            // in the worlds with per-task difficulty a task may need no procedure at all
            Assert.All(s.ResolvedTasks, t => Assert.True(t.Needs.Count > 0 || t.BaseSuccess is not null, t.Id));
        }
    }

    [Fact]
    public void Gsm8k_reads_800_real_problems_with_their_numeric_answers()
    {
        var s = ScenarioLoader.LoadBuiltin("gsm8k");
        Assert.Equal(800, s.ResolvedTasks.Count);
        var first = s.ResolvedTasks[0];
        Assert.Equal("gsm8k-0001", first.Id);
        Assert.StartsWith("Janet", first.Question, StringComparison.Ordinal);
        Assert.Equal("18", first.Answer);
        Assert.All(s.ResolvedTasks, t => Assert.True(decimal.TryParse(t.Answer.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture, out _), t.Answer));
    }

    [Fact]
    public void Gsm8k_assigns_procedures_from_features_of_the_question()
    {
        var s = ScenarioLoader.LoadBuiltin("gsm8k");
        var features = s.TaskSource!.Features;
        Assert.All(s.ResolvedTasks, t => Assert.Contains("final-answer-format", t.Needs));

        // Janet's ducks: "16 eggs per day", "$2 per fresh duck egg": a rate problem with two numbers
        var janet = s.ResolvedTasks[0].Needs;
        Assert.Contains("rates", janet);
        Assert.DoesNotContain("percentages", janet);
        Assert.DoesNotContain("multi-step-bookkeeping", janet);

        Assert.Contains("percentages", ScenarioLoader.AssignFeatures("The price rose by 20% in March.", features));
        Assert.Contains("percentages", ScenarioLoader.AssignFeatures("She saved 15 percent of it.", features));
        Assert.Contains("unit-conversion", ScenarioLoader.AssignFeatures("He bought 3 dozen eggs.", features));
        Assert.Contains("unit-conversion", ScenarioLoader.AssignFeatures("It takes 45 minutes; how many hours in total?", features));
        Assert.DoesNotContain("unit-conversion", ScenarioLoader.AssignFeatures("It takes 45 minutes and then 20 minutes more.", features));
        Assert.Contains("fractions-and-multiples", ScenarioLoader.AssignFeatures("Tom has twice as many as Ann.", features));
        Assert.Contains("rates", ScenarioLoader.AssignFeatures("A car drives at 60 mph.", features));
        var many = ScenarioLoader.AssignFeatures("1 2 3 4 5 6", features);
        Assert.Contains("multi-step-bookkeeping", many);
        Assert.Contains("read-every-quantity", many);
        Assert.Equal(["final-answer-format"], ScenarioLoader.AssignFeatures("No numbers here.", features));

        // every feature is used by some task
        Assert.All(s.Procedures, p => Assert.Contains(s.ResolvedTasks, t => t.Needs.Contains(p.Name)));
    }

    [Fact]
    public void Noise_levels_differ_between_scenarios_and_seeds_redraw_flaky_tasks()
    {
        static double Flaky(Scenario s) => s.ResolvedTasks.Count(t => t.Flakiness >= 0.1) / (double)s.ResolvedTasks.Count;
        var moderate = ScenarioLoader.LoadBuiltin("gsm8k");
        var noisy = ScenarioLoader.LoadBuiltin("gsm8k-noisy");
        var clean = ScenarioLoader.LoadBuiltin("synthetic-clean");
        Assert.InRange(Flaky(noisy), 0.2, 0.4);
        Assert.InRange(Flaky(moderate), 0.08, 0.22);
        Assert.True(Flaky(clean) < 0.15);

        var reseeded = moderate.WithSeed(99);
        Assert.Equal(99, reseeded.Seed);
        Assert.Equal(moderate.ResolvedTasks.Select(t => t.Id), reseeded.ResolvedTasks.Select(t => t.Id));
        Assert.NotEqual(moderate.ResolvedTasks.Select(t => t.Flakiness), reseeded.ResolvedTasks.Select(t => t.Flakiness));
        Assert.Equal(moderate.ResolvedTasks.Select(t => t.Flakiness), moderate.WithSeed(1).ResolvedTasks.Select(t => t.Flakiness));
    }

    [Fact]
    public void Unknown_key_is_an_error_with_its_line()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("name: x\ntarget:\n  base_sucess_rate: 0.5\n", "bad.yaml", null));
        Assert.Equal(3, ex.Line);
        Assert.Contains("unknown key 'base_sucess_rate'", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("bad.yaml(3,", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_type_and_malformed_yaml_are_errors_with_their_line()
    {
        var type = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("name: x\n\nseed: abc\n", "bad.yaml", null));
        Assert.Equal(3, type.Line);
        var malformed = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("name: x\ntasks: [\n  - a\n", "bad.yaml", null));
        Assert.True(malformed.Line >= 2, malformed.Message);
        Assert.Contains("malformed YAML", malformed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unclosed_collection_before_more_lines_and_deep_nesting_are_malformed_yaml_at_a_line()
    {
        // YamlDotNet throws InvalidOperationException for the first and overflows the stack on the second
        var unclosed = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("target: { base_success_rate: 0.5\nseed: 1\n", "bad.yaml", null));
        Assert.Contains("malformed YAML", unclosed.Message, StringComparison.Ordinal);
        Assert.True(unclosed.Line >= 1, unclosed.Message);
        var deep = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("a: " + new string('[', 50_000) + new string(']', 50_000) + "\n", "deep.yaml", null));
        Assert.Contains("nested more than", deep.Message, StringComparison.Ordinal);
        Assert.Equal(1, deep.Line);
    }

    [Fact]
    public void Invalid_values_are_errors_with_the_line_of_the_value()
    {
        var tiny = SimLabHost.TinyYaml;
        var rate = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny.Replace("base_success_rate: 1.0", "base_success_rate: 1.5"), "t.yaml", null));
        Assert.Equal(LineOf(tiny, "base_success_rate"), rate.Line);
        Assert.Contains("target.base_success_rate", rate.Message, StringComparison.Ordinal);

        var unknown = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny.Replace("needs: [borrow, format] }\n  - { id: t4", "needs: [borow, format] }\n  - { id: t4"), "t.yaml", null));
        Assert.Equal(LineOf(tiny, "id: t3"), unknown.Line);
        Assert.Contains("unknown procedure 'borow'", unknown.Message, StringComparison.Ordinal);

        var model = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny + "\nmodels:\n  target: gpt-4o\n", "t.yaml", null));
        Assert.Contains("must contain 'sim'", model.Message, StringComparison.Ordinal);

        var notTaught = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny.Replace("texts: [\"- When adding, carry the tens.\"]", "texts: [\"- Add carefully.\"]"), "t.yaml", null));
        Assert.Contains("does not contain any phrase", notTaught.Message, StringComparison.Ordinal);

        var neutral = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny + "\nuseless_edits: [\"- Always carry the tens.\"]\n", "t.yaml", null));
        Assert.Contains("would not be neutral", neutral.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("  base_success_distribution: { alpha: 0, beta: 2 }", "target.base_success_distribution: alpha and beta must be positive")]
    [InlineData("  penalty_distribution: { median: -0.1, sigma: 1 }", "target.penalty_distribution: median must be positive")]
    [InlineData("  penalty_distribution: { median: 0.1, sigma: 1, max: 2 }", "target.penalty_distribution.max: 2 must be between 0 and 1")]
    [InlineData("  flaky_groups: { size: 0, correlation: 0.5 }", "target.flaky_groups.size: must be 1 or more")]
    [InlineData("  flaky_groups: { size: 4, correlation: 1.5 }", "target.flaky_groups.correlation: 1.5 must be between 0 and 1")]
    [InlineData("  length_penalty: { free_tokens: -1 }", "target.length_penalty.free_tokens: must be 0 or more")]
    [InlineData("  generic_effect_distribution: { mean: 0, sd: -1 }", "target.generic_effect_distribution: sd must be 0 or more")]
    public void Invalid_world_settings_are_errors_that_name_the_key(string line, string message)
    {
        var yaml = SimLabHost.TinyYaml.Replace("  reasoning_words: 10", "  reasoning_words: 10\n" + line, StringComparison.Ordinal);
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(yaml, "t.yaml", null));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.True(ex.Line > 0, ex.Message);
    }

    [Fact]
    public void Generic_rules_and_misdiagnosis_are_validated()
    {
        var tiny = SimLabHost.TinyYaml;
        var teaches = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny + "\ngeneric_rules:\n  - { name: g, phrase: \"be careful\", texts: [\"- Be careful and carry the tens.\"] }\n", "t.yaml", null));
        Assert.Contains("would not be a generic rule", teaches.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny + "\ngeneric_rules:\n  - { name: g, phrase: \"be careful\", texts: [\"- Take care.\"] }\n", "t.yaml", null));
        Assert.Contains("does not contain the phrase 'be careful'", missing.Message, StringComparison.Ordinal);
        var effect = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny + "\ngeneric_rules:\n  - { name: g, phrase: \"be careful\", effect: 3 }\n", "t.yaml", null));
        Assert.Contains("generic_rules[0].effect: must be between -1 and 1", effect.Message, StringComparison.Ordinal);
        var padding = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny + "\ngeneric_rules:\n  - { name: g, phrase: \"similar problems\" }\n", "t.yaml", null));
        Assert.Contains("would not be neutral", padding.Message, StringComparison.Ordinal); // a default filler sentence holds the phrase
        var rate = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(tiny.Replace("  ranking_noise: 0.0", "  ranking_noise: 0.0\n  misdiagnosis: 1.2", StringComparison.Ordinal), "t.yaml", null));
        Assert.Contains("optimizer.misdiagnosis", rate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fraction_feature_assigns_a_share_of_the_tasks_the_same_for_every_seed()
    {
        var features = new[] { new FeatureRule { Procedure = "p", Fraction = 0.25 } };
        var ids = Enumerable.Range(1, 400).Select(i => $"task-{i:D4}").ToList();
        var hits = ids.Count(id => ScenarioLoader.AssignFeatures("No numbers here.", features, id).Count == 1);
        Assert.InRange(hits, 70, 130);
        Assert.Empty(ScenarioLoader.AssignFeatures("No numbers here.", features)); // no task id, no draw
        var s = ScenarioLoader.LoadBuiltin("small-effects");
        var needing = s.ResolvedTasks.Count(t => t.Needs.Contains("work-backwards"));
        Assert.InRange(needing, 80, 160); // fraction 0.15 of 800
    }

    [Fact]
    public void A_scenario_file_and_an_unknown_name_are_told_apart()
    {
        var path = Path.Combine(Path.GetTempPath(), $"simlab-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, SimLabHost.TinyYaml);
        try
        {
            Assert.Equal("tiny", ScenarioLoader.Load(path).Name);
        }
        finally
        {
            File.Delete(path);
        }
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("no-such-scenario"));
        Assert.Contains("gsm8k", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oracle_gives_the_noise_free_success_probability()
    {
        var s = SimLabHost.Tiny();
        Assert.Equal(0, SimLabOracle.SuccessProbability(s, s.InitialSkill, "t1"));
        Assert.Equal(1, SimLabOracle.SuccessProbability(s, SimLabHost.FullTinySkill, "t1"));
        Assert.Equal(0.5, SimLabOracle.SuccessProbability(s, SimLabHost.FullTinySkill, "t6"));
        Assert.Equal(0, SimLabOracle.SuccessProbability(s, SimLabHost.FullTinySkill + "- Guess quickly when unsure.\n", "t3"));
        Assert.Equal(["carry", "borrow", "format"], SimLabOracle.ProceduresIn(s, SimLabHost.FullTinySkill));
        Assert.Equal(["guess"], SimLabOracle.HarmfulRulesIn(s, "GUESS QUICKLY"));
    }

    private static int LineOf(string text, string part) => text[..text.IndexOf(part, StringComparison.Ordinal)].Count(c => c == '\n') + 1;
}
