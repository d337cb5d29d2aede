using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.SimLab.Tests;

/// <summary>The simulated optimizer answers SkillOpt.Core's real prompts (built by OptimizerModel) in each stage's schema.</summary>
public class OptimizerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (OptimizerModel Model, ReplyFailureCounter Failures, IChatClient Client) Optimizer(SimLabServer server)
    {
        var client = SimLabHost.Client(server, server.Scenario.Models.Optimizer);
        var failures = new ReplyFailureCounter();
        return (new OptimizerModel(new StructuredCaller(client, new ChatOptions { ModelId = server.Scenario.Models.Optimizer }, new StageUsageTracker(), failures), 4), failures, client);
    }

    private static async Task<IReadOnlyList<RolloutResult>> RolloutAsync(SimLabServer server, string skill, IEnumerable<string> ids)
    {
        using var target = SimLabHost.Client(server, server.Scenario.Models.Target);
        return await new SimLabRolloutRunner(server.Scenario, target).RunAsync(new RolloutRequest(skill, "h", ids.ToList(), 0, ChatStage.Rollout), Ct);
    }

    [Fact]
    public async Task Reflection_on_failures_names_the_missing_procedures_in_the_reflection_schema()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        var (model, failures, client) = Optimizer(server);
        using var _ = client;
        var skill = "# Tiny skill\n\n- End with `Final answer: <number>`.\n";
        var results = await RolloutAsync(server, skill, ["t1", "t2", "t3", "t5"]);
        var failed = results.Where(r => r.Outcome == TaskOutcome.Failed).ToList();
        Assert.Equal(["t1", "t2", "t3"], failed.Select(r => r.TaskId));

        var output = await model.ReflectAsync(skill, failed, [], 8, 4, "", [], Ct);
        var reply = Assert.Single(output.Replies);
        Assert.NotNull(reply.Value);
        Assert.False(reply.Repaired);
        var patch = Assert.Single(output.FailurePatches);
        Assert.InRange(patch.Count, 1, 2);
        var taught = patch.SelectMany(e => SimLabOracle.ProceduresIn(server.Scenario, e.Content!)).ToHashSet();
        Assert.Subset(new HashSet<string> { "carry", "borrow" }, taught);
        Assert.All(patch, e => Assert.Equal(EditOperation.Append, e.Operation));
        Assert.Contains("carry", reply.Value.Analysis, StringComparison.Ordinal);
        Assert.Empty(failures.Snapshot());

        // the raw reply deserialises into Core's reply class with the wire's snake_case names
        var raw = JsonSerializer.Deserialize<ReflectionReply>(reply.RawReplies[0], new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!;
        Assert.Equal(patch.Count, raw.Edits.Count);
        Assert.All(JsonNode.Parse(reply.RawReplies[0])!["edits"]!.AsArray(), e => Assert.Equal(["op", "target", "content", "rationale"], e!.AsObject().Select(p => p.Key)));
    }

    [Fact]
    public async Task Reflection_respects_at_most_n_edits_and_the_same_prompt_gives_the_same_reply()
    {
        var scenario = ScenarioLoader.LoadBuiltin("gsm8k");
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: Ct);
        var (model, _, client) = Optimizer(server);
        using var _ = client;
        var results = await RolloutAsync(server, "Answer.", scenario.ResolvedTasks.Take(16).Select(t => t.Id));
        var failed = results.Where(r => r.Outcome == TaskOutcome.Failed).ToList();
        Assert.NotEmpty(failed);
        var a = await model.ReflectAsync("Answer.", failed, [], 8, 2, "", [], Ct);
        var b = await model.ReflectAsync("Answer.", failed, [], 8, 2, "", [], Ct);
        Assert.All(a.Replies, r => Assert.True(r.Value!.Edits.Count <= 2));
        Assert.Equal(a.Replies.Select(r => r.RawReplies[0]), b.Replies.Select(r => r.RawReplies[0]));
    }

    [Fact]
    public async Task Another_optimizer_draw_gives_other_replies_to_the_same_prompts_and_the_same_draw_the_same_ones()
    {
        async Task<List<string>> RepliesAsync(int draw)
        {
            var scenario = ScenarioLoader.LoadBuiltin("gsm8k");
            scenario.Optimizer.Draw = draw;
            await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: Ct);
            var (model, _, client) = Optimizer(server);
            using var _ = client;
            var results = await RolloutAsync(server, "Answer.", scenario.ResolvedTasks.Take(40).Select(t => t.Id));
            var failed = results.Where(r => r.Outcome == TaskOutcome.Failed).ToList();
            Assert.NotEmpty(failed);
            var replies = new List<string>();
            foreach (var chunk in failed.Chunk(4))
            {
                var output = await model.ReflectAsync("Answer.", chunk, [], 8, 3, "", [], Ct);
                replies.AddRange(output.Replies.Select(r => r.RawReplies[0]));
            }
            return replies;
        }

        var first = await RepliesAsync(0);
        Assert.Equal(first, await RepliesAsync(0));
        var second = await RepliesAsync(1);
        Assert.Equal(first.Count, second.Count);
        Assert.NotEqual(first, second);
        Assert.Equal(second, await RepliesAsync(1));
        var negative = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(SimLabHost.TinyYaml.Replace("  ranking_noise: 0.0", "  ranking_noise: 0.0\n  draw: -1", StringComparison.Ordinal), "t.yaml", null));
        Assert.Contains("optimizer.draw", negative.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Null_optimizer_edits_have_no_effect_on_any_task()
    {
        var scenario = ScenarioLoader.LoadBuiltin("null-optimizer");
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: Ct);
        var (model, _, client) = Optimizer(server);
        using var _ = client;
        var ids = scenario.ResolvedTasks.Take(24).Select(t => t.Id).ToList();
        var results = await RolloutAsync(server, scenario.InitialSkill, ids);
        var output = await model.ReflectAsync(scenario.InitialSkill, results.Where(r => r.Outcome == TaskOutcome.Failed).ToList(),
            results.Where(r => r.Outcome == TaskOutcome.Passed).ToList(), 8, 4, "", [], Ct);
        var edits = output.FailurePatches.Concat(output.SuccessPatches).SelectMany(p => p).ToList();
        Assert.NotEmpty(edits);
        var skill = scenario.InitialSkill + string.Join("\n", edits.Select(e => e.Content)) + "\n";
        Assert.Empty(SimLabOracle.ProceduresIn(scenario, skill).Except(SimLabOracle.ProceduresIn(scenario, scenario.InitialSkill)));
        Assert.Empty(SimLabOracle.HarmfulRulesIn(scenario, skill));
        Assert.Equal(SimLabOracle.ExpectedScore(scenario, scenario.InitialSkill, ids), SimLabOracle.ExpectedScore(scenario, skill, ids));
    }

    [Fact]
    public async Task Merge_unions_and_dedupes_with_failures_first_and_at_most_the_stated_max()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        var (model, _, client) = Optimizer(server);
        using var _ = client;
        var carry = new SkillEdit(EditOperation.Append, null, "- When adding, carry the tens.", "f");
        var carryAgain = new SkillEdit(EditOperation.Append, null, "- Always carry the tens when a column sums past nine.", "f2");
        var borrow = new SkillEdit(EditOperation.Append, null, "- When subtracting, borrow from the next digit.", "f");
        var calm = new SkillEdit(EditOperation.Append, null, "- Stay calm.", "s");
        var merged = await model.MergeAsync("# Tiny skill\n", [[carry, borrow], [carryAgain, carry]], [[calm, borrow]], 8, 8, "", Ct);
        Assert.Equal(2, merged.Replies.Count); // the two failure patches, then failures + successes
        Assert.All(merged.Replies, r => Assert.NotNull(r.Value));
        Assert.Equal(["- When adding, carry the tens.", "- When subtracting, borrow from the next digit.", "- Stay calm."], merged.Edits.Select(e => e.Content));

        var capped = await model.MergeAsync("# Tiny skill\n", [[carry, borrow], [calm]], [], 8, 2, "", Ct);
        Assert.Equal(2, capped.Edits.Count);
        Assert.Equal(carry.Content, capped.Edits[0].Content);
    }

    [Fact]
    public async Task Ranking_prefers_edits_that_teach_a_missing_procedure()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        var (model, _, client) = Optimizer(server);
        using var _ = client;
        SkillEdit E(string c) => new(EditOperation.Append, null, c, "r");
        var edits = new[] { E("- Stay calm."), E("- When adding, carry the tens."), E("- Be friendly."), E("- Guess quickly when unsure."), E("- When subtracting, borrow from the next digit.") };
        var (selected, reply) = await model.RankAsync("# Tiny skill\n", edits, 2, Ct);
        Assert.NotNull(reply.Value);
        Assert.Equal(2, reply.Value.Selected.Count);
        Assert.Equal(["- When adding, carry the tens.", "- When subtracting, borrow from the next digit."], selected.Select(e => e.Content).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Slow_update_and_meta_skill_replies_validate()
    {
        await using var server = await SimLabServer.StartAsync(ScenarioLoader.LoadBuiltin("gsm8k"), cancellationToken: Ct);
        var (model, failures, client) = Optimizer(server);
        using var _ = client;
        var slow = await model.SlowUpdateAsync("# A\n", "# B\n", "- t1: improved\n- t2: regressed\n- t3: improved\n", 3, 40, Ct);
        Assert.NotNull(slow.Value);
        Assert.Contains("2 sampled problems improved and 1 regressed", slow.Value.Guidance, StringComparison.Ordinal);
        Assert.True(slow.Value.Guidance.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Length <= 40);
        Assert.Empty(SimLabOracle.ProceduresIn(server.Scenario, slow.Value.Guidance));
        var meta = await model.MetaSkillAsync(2, "- step 1: accept (candidate 0.6 vs current 0.5)\n- step 2: reject\n", 30, Ct);
        Assert.NotNull(meta.Value);
        Assert.StartsWith("1 candidates were accepted and 1 rejected", meta.Value.Advice, StringComparison.Ordinal);
        Assert.Empty(failures.Snapshot());
        Assert.Equal(new Dictionary<string, long> { ["skillopt_meta_skill"] = 1, ["skillopt_slow_update"] = 1 }, server.Statistics.OptimizerCallsBySchema);
    }

    [Fact]
    public async Task An_invalid_first_reply_is_repaired_by_the_re_ask()
    {
        var scenario = SimLabHost.Tiny("");
        scenario.Optimizer.InvalidReplyRate = 1.0;
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: Ct);
        var (model, failures, client) = Optimizer(server);
        using var _ = client;
        var meta = await model.MetaSkillAsync(2, "- step 1: reject\n", 30, Ct);
        Assert.NotNull(meta.Value);
        Assert.True(meta.Repaired);
        Assert.Equal(2, meta.RawReplies.Count);
        Assert.Equal(1, failures.Snapshot()[ChatStage.Meta].Repaired);
    }

    [Fact]
    public async Task A_leaky_optimizer_copies_the_expected_answer_from_the_verifier_message()
    {
        var scenario = SimLabHost.Tiny("");
        scenario.Optimizer.LeakRate = 1.0;
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: Ct);
        var (model, _, client) = Optimizer(server);
        using var _ = client;
        var results = await RolloutAsync(server, "x", ["t1"]);
        var output = await model.ReflectAsync("x", results, [], 8, 1, "", [], Ct);
        Assert.Contains("the expected answer is 42", Assert.Single(Assert.Single(output.FailurePatches)).Content, StringComparison.Ordinal);
    }
}
