using System.Globalization;
using System.Text;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.SimLab.Tests;

/// <summary>
/// The scenario features of the worlds with small effects (small-effects, misdiagnosis, null-correlated): per-task
/// difficulty, per-procedure effect sizes, generic rules, a length penalty, correlated flakiness, a misdiagnosing
/// optimizer; and unknown tasks.
/// </summary>
public class WorldTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string FormulaYaml = """
        name: formula
        seed: 3
        target:
          base_success_rate: 0.8
          missing_procedure_penalty: 0.3
          length_penalty: { free_tokens: 10, per_thousand_tokens: 0.5 }
          answer_format: "{reasoning}\n#### {answer}"
        procedures:
          - { name: a, phrases: ["alpha rule"], texts: ["- Use the alpha rule."], penalty: 0.2 }
          - { name: b, phrases: ["beta rule"], texts: ["- Use the beta rule."] }
        generic_rules:
          - { name: calm, phrase: "stay calm", effect: 0.01 }
        optimizer: { useful: 1, useless: 0, harmful: 0 }
        tasks:
          - { id: t1, question: "What is 2 + 2?", answer: "4", needs: [a, b], flakiness: 0.1 }
          - { id: t2, question: "What is 3 + 3?", answer: "6", needs: [], flakiness: 0 }
        """;

    [Fact]
    public void Success_probability_sums_each_missing_procedures_penalty_the_length_penalty_and_generic_effects()
    {
        var s = ScenarioLoader.Parse(FormulaYaml, "formula.yaml", null);
        Assert.Equal(0.2, s.ProcedurePenalties["a"]);
        Assert.Equal(0.3, s.ProcedurePenalties["b"]); // no penalty of its own, no distribution: missing_procedure_penalty
        Assert.Equal(0.01, s.GenericEffects["calm"]);

        // 0.8 − 0.2 − 0.3 = 0.3, flipped with f = 0.1: 0.3 × 0.9 + 0.7 × 0.1
        Assert.Equal(0.34, SimLabOracle.SuccessProbability(s, "x", "t1"), 12);
        // with the alpha rule and the generic rule (9 tokens, under the 10 free ones): 0.8 − 0.3 + 0.01 = 0.51
        var skill = "- Use the alpha rule.\n- Stay calm.\n";
        Assert.Equal(9, (skill.Length + 3) / 4);
        Assert.Equal(0.51 * 0.9 + 0.49 * 0.1, SimLabOracle.SuccessProbability(s, skill, "t1"), 12);
        // 210 tokens: 200 beyond the free 10 cost 0.5 per 1,000 tokens = 0.1, on every task
        var longSkill = skill + new string('x', 210 * 4 - skill.Length);
        Assert.Equal(0.41 * 0.9 + 0.59 * 0.1, SimLabOracle.SuccessProbability(s, longSkill, "t1"), 12);
        Assert.Equal(0.8 + 0.01 - 0.1, SimLabOracle.SuccessProbability(s, longSkill, "t2"), 12);
    }

    [Fact]
    public void The_four_original_scenarios_keep_the_uniform_formula()
    {
        foreach (var name in new[] { "gsm8k", "gsm8k-noisy", "null-optimizer", "synthetic-clean" })
        {
            var s = ScenarioLoader.LoadBuiltin(name).WithSeed(4);
            var world = new SimWorld(s);
            var skills = new[] { s.InitialSkill, s.InitialSkill + "\n" + string.Join("\n", s.Procedures.Take(3).Select(p => p.Texts[0])) + "\n- " + s.Harmful[0].Phrase + ".\n" };
            foreach (var skill in skills)
            {
                foreach (var task in s.ResolvedTasks.Take(60))
                {
                    var p = Math.Clamp(s.Target.BaseSuccessRate - s.Target.MissingProcedurePenalty * world.Missing(skill, task).Count, 0, 1);
                    foreach (var h in world.Harms(skill, task))
                    {
                        p *= h.SuccessMultiplier;
                    }
                    var expected = p * (1 - task.Flakiness) + (1 - p) * task.Flakiness;
                    Assert.Equal(expected, world.SuccessProbability(skill, task)); // exactly: the benchmark numbers must not move
                    Assert.Null(task.BaseSuccess);
                    Assert.Equal(-1, task.Group);
                }
            }
        }
    }

    [Fact]
    public void Small_effect_worlds_draw_difficulty_and_effect_sizes_per_seed()
    {
        var s = ScenarioLoader.LoadBuiltin("small-effects");
        Assert.Equal(800, s.ResolvedTasks.Count);
        Assert.True(s.Procedures.Count >= 15);
        Assert.True(s.Harmful.Count >= 2);
        Assert.NotEmpty(s.GenericRules);

        // heterogeneous difficulty: Beta(4, 1.5), mean 0.727
        var bases = s.ResolvedTasks.Select(t => t.BaseSuccess!.Value).ToList();
        Assert.InRange(bases.Average(), 0.69, 0.76);
        Assert.True(bases.Min() < 0.3 && bases.Max() > 0.95, $"{bases.Min()} … {bases.Max()}");

        // log-normal effect sizes (median 0.1, capped at 0.5): mostly small, some large
        var penalties = s.ProcedurePenalties.Values.Order().ToList();
        Assert.All(penalties, p => Assert.InRange(p, 1e-6, 0.5));
        Assert.InRange(penalties[penalties.Count / 2], 0.04, 0.2);
        Assert.True(penalties[^1] > 3 * penalties[0]);
        // generic rules: tiny effects of either sign
        Assert.All(s.GenericEffects.Values, e => Assert.InRange(e, -0.02, 0.02));
        Assert.Contains(s.GenericEffects.Values, e => e > 0);
        Assert.Contains(s.GenericEffects.Values, e => e < 0);

        // another seed is another world; the same seed the same
        var other = s.WithSeed(2);
        Assert.NotEqual(s.ProcedurePenalties.Values, other.ProcedurePenalties.Values);
        Assert.NotEqual(bases, other.ResolvedTasks.Select(t => t.BaseSuccess!.Value));
        Assert.Equal(s.ProcedurePenalties.Values, s.WithSeed(1).ProcedurePenalties.Values);
        Assert.Equal(bases, s.WithSeed(1).ResolvedTasks.Select(t => t.BaseSuccess!.Value));
        // the procedures a task needs do not depend on the seed
        Assert.Equal(s.ResolvedTasks.Select(t => string.Join(",", t.Needs)), other.ResolvedTasks.Select(t => string.Join(",", t.Needs)));

        // flakiness is decided per group: every task of a group is flaky or none is
        Assert.All(s.ResolvedTasks.GroupBy(t => t.Group), g => Assert.Single(g.Select(t => t.Flakiness).Distinct()));
        Assert.True(s.ResolvedTasks.Select(t => t.Group).Distinct().Count() > 50);
    }

    [Fact]
    public void Every_new_world_is_built_in_and_its_procedure_texts_teach_exactly_their_own_procedure()
    {
        foreach (var name in new[] { "small-effects", "misdiagnosis", "null-correlated" })
        {
            var s = ScenarioLoader.LoadBuiltin(name);
            var world = new SimWorld(s);
            foreach (var p in s.Procedures)
            {
                Assert.All(p.Texts, text => Assert.Equal([p.Name], SimLabOracle.ProceduresIn(s, text)));
            }
            Assert.Empty(SimLabOracle.ProceduresIn(s, s.InitialSkill));
            foreach (var g in s.GenericRules)
            {
                Assert.All(g.Texts, text => Assert.Equal((EditKind.Generic, g.Name), world.Classify(text)));
            }
        }
        // null-correlated: no edit the optimizer can write changes any success probability
        var nul = ScenarioLoader.LoadBuiltin("null-correlated");
        Assert.Equal(0, nul.Optimizer.Useful);
        Assert.Null(nul.Target.LengthPenalty);
        var ids = nul.ResolvedTasks.Select(t => t.Id).ToList();
        var before = SimLabOracle.ExpectedScore(nul, nul.InitialSkill, ids);
        Assert.All(nul.UselessEdits, e => Assert.Equal(before, SimLabOracle.ExpectedScore(nul, nul.InitialSkill + "\n" + e + " " + string.Join(" ", nul.FillerSentences) + "\n", ids)));
    }

    /// <summary>A scenario of 40 tasks that always succeed before flakiness, all flaky at rate 0.5, in 2 groups of 20.</summary>
    private static Scenario Grouped(double correlation)
    {
        var yaml = new StringBuilder($"""
            name: grouped
            seed: 8
            target:
              base_success_rate: 1.0
              flaky_fraction: 1.0
              flaky_rate: 0.5
              flaky_groups: {"{"} size: 20, correlation: {correlation.ToString(CultureInfo.InvariantCulture)} {"}"}
              answer_format: "{"{"}reasoning{"}"}\n#### {"{"}answer{"}"}"
            procedures:
              - {"{"} name: p, phrases: ["pee rule"], texts: ["- The pee rule."] {"}"}
            optimizer: {"{"} useful: 1, useless: 0, harmful: 0 {"}"}
            tasks:

            """);
        for (var i = 0; i < 40; i++)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"  - {{ id: g{i:D2}, question: \"How many marbles are in bag number {i}?\", answer: \"{i + 100}\" }}");
        }
        return ScenarioLoader.Parse(yaml.ToString(), "grouped.yaml", null);
    }

    [Fact]
    public void Correlated_flakiness_moves_a_group_together_and_keeps_each_tasks_success_probability()
    {
        var together = Grouped(1.0);
        Assert.Equal(2, together.ResolvedTasks.Select(t => t.Group).Distinct().Count());
        var target = new TargetSimulator(new SimWorld(together));
        var successes = 0;
        for (var seed = 0; seed < 50; seed++)
        {
            foreach (var g in together.ResolvedTasks.GroupBy(t => t.Group))
            {
                // correlation 1: one shared draw per group, skill and sample decides every flip of the group
                var outcomes = g.Select(t => target.Solve("skill", t.Question, seed).Solved).ToList();
                Assert.Single(outcomes.Distinct());
                successes += outcomes.Count(o => o);
            }
            Assert.Equal(0.5, SimLabOracle.SuccessProbability(together, "skill", "g00"));
        }
        Assert.InRange(successes / (50.0 * 40), 0.3, 0.7); // the marginal stays 1 × (1 − 0.5) + 0 × 0.5 = 0.5

        var independent = new TargetSimulator(new SimWorld(Grouped(0.0)));
        var mixed = Enumerable.Range(0, 10).Count(seed => independent.Solve("skill", "How many marbles are in bag number 1?", seed).Solved
            != independent.Solve("skill", "How many marbles are in bag number 2?", seed).Solved);
        Assert.True(mixed > 0, "without correlation, tasks of one group flip on their own");
    }

    /// <summary>The edits the simulated optimizer proposes on the failures of <paramref name="taskIds"/>, through Core's real reflection prompt, for 12 versions of a skill.</summary>
    private static async Task<List<SkillEdit>> ProposalsAsync(Scenario scenario, IReadOnlyList<string> taskIds)
    {
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: Ct);
        using var client = SimLabHost.Client(server, scenario.Models.Optimizer);
        var model = new SkillOpt.Core.Optimization.OptimizerModel(new SkillOpt.Core.Optimization.StructuredCaller(client,
            new Microsoft.Extensions.AI.ChatOptions { ModelId = scenario.Models.Optimizer }, new SkillOpt.Core.Accounting.StageUsageTracker(), new SkillOpt.Core.Optimization.ReplyFailureCounter()), 4);
        using var target = SimLabHost.Client(server, scenario.Models.Target);
        var edits = new List<SkillEdit>();
        for (var version = 0; version < 12; version++)
        {
            var skill = $"# Tiny skill v{version}\n\n- End with `Final answer: <number>`.\n";
            var results = await new SimLabRolloutRunner(scenario, target).RunAsync(new RolloutRequest(skill, "h", [.. taskIds], 0, SkillOpt.Core.Accounting.ChatStage.Rollout), Ct);
            var output = await model.ReflectAsync(skill, results.Where(r => r.Outcome == TaskOutcome.Failed).ToList(), [], 8, 2, "", [], Ct);
            edits.AddRange(output.FailurePatches.SelectMany(p => p));
        }
        return edits;
    }

    [Fact]
    public async Task A_misdiagnosing_optimizer_names_procedures_the_failed_tasks_do_not_need()
    {
        static HashSet<string> Taught(Scenario s, List<SkillEdit> edits) => edits.SelectMany(e => SimLabOracle.ProceduresIn(s, e.Content!)).ToHashSet(StringComparer.Ordinal);
        // t1 and t2 need carry (and format, which the skill has): a correct diagnosis names carry only
        var tiny = SimLabHost.Tiny();
        Assert.Equal(["carry"], Taught(tiny, await ProposalsAsync(tiny, ["t1", "t2"])));
        var misdiagnosing = SimLabHost.Tiny();
        misdiagnosing.Optimizer.Misdiagnosis = 1.0;
        Assert.Contains("borrow", Taught(misdiagnosing, await ProposalsAsync(misdiagnosing, ["t1", "t2"])));
    }

    [Fact]
    public async Task A_useless_edit_writes_a_generic_rule_when_the_world_has_them()
    {
        var s = SimLabHost.Tiny("generic_rules:\n  - { name: calm, phrase: \"stay calm\", effect: 0.01 }\n");
        s.Optimizer.Useful = 0;
        s.Optimizer.Useless = 1;
        var edits = await ProposalsAsync(s, ["t1", "t2"]);
        Assert.NotEmpty(edits);
        Assert.All(edits, e => Assert.Contains("stay calm", e.Content, StringComparison.OrdinalIgnoreCase));
        // t1 needs carry, which this skill lacks (success 1 − 1 = 0): the generic rule lifts it by its effect
        var lacking = "# Tiny skill\n\n- End with `Final answer: <number>`.\n";
        Assert.Equal(0, SimLabOracle.ExpectedScore(s, lacking, ["t1"]));
        Assert.Equal(0.01, SimLabOracle.ExpectedScore(s, lacking + edits[0].Content + "\n", ["t1"]), 12);
    }

    [Fact]
    public void The_offline_scenario_example_of_the_docs_loads_and_knows_its_tasks()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "verifiers.md")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
        var doc = File.ReadAllText(Path.Combine(dir.FullName, "docs", "verifiers.md"));
        var section = doc[doc.IndexOf("## Trying the loop offline", StringComparison.Ordinal)..];
        var yaml = System.Text.RegularExpressions.Regex.Match(section, "```yaml\n(.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;
        var s = ScenarioLoader.Parse(yaml, "verifiers.md", null);
        var world = new SimWorld(s);
        Assert.Equal(3, s.ResolvedTasks.Count);
        Assert.All(s.ResolvedTasks, t => Assert.Same(t, world.FindTask("Please solve: " + t.Question)));
        var bare = SimLabOracle.ExpectedScore(s, "# Math\n", s.ResolvedTasks.Select(t => t.Id));
        var taught = SimLabOracle.ExpectedScore(s, "# Math\n" + string.Join("\n", s.Procedures.Select(p => p.Texts[0])), s.ResolvedTasks.Select(t => t.Id));
        Assert.True(taught > bare + 0.3, $"{bare} → {taught}");
    }

    [Fact]
    public async Task A_question_of_no_task_is_counted_and_announced_once()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        var announced = new List<string>();
        server.UnknownTaskAsked += (_, e) =>
        {
            lock (announced)
            {
                announced.Add(e.Scenario + ": " + e.Question);
            }
        };
        using var http = SimLabHost.Http(server);
        var (_, known) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody(SimLabHost.FullTinySkill, "What is 17 + 25?", 0));
        var (_, unknown) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody(SimLabHost.FullTinySkill, "How tall is the tower?", 0));
        await SimLabHost.PostAsync(http, SimLabHost.TargetBody(SimLabHost.FullTinySkill, "How tall is the tower?", 1));
        Assert.EndsWith("Final answer: 42", SimLabHost.Content(known), StringComparison.Ordinal);
        Assert.EndsWith("Final answer: 0", SimLabHost.Content(unknown), StringComparison.Ordinal); // answered as a failure, as before
        Assert.Equal(["tiny: How tall is the tower?"], announced);
        Assert.Equal(2, server.Statistics.UnknownTaskCalls);
        Assert.Equal(1, server.Statistics.UnknownTasksAsked);
        Assert.Equal(1, server.Statistics.KnownTasksAsked);
        Assert.Equal(3, server.Statistics.TargetCalls);
    }
}
