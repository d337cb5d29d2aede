using System.ClientModel;
using System.Net;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;

namespace SkillOpt.SimLab.Tests;

public class TargetTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_same_request_gets_the_same_body_and_every_reply_is_labelled_simulated()
    {
        await using var server = await SimLabServer.StartAsync(ScenarioLoader.LoadBuiltin("gsm8k"), cancellationToken: Ct);
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/v1$", server.BaseUrl);
        using var http = SimLabHost.Http(server);
        var task = server.Scenario.ResolvedTasks[3];
        var body = SimLabHost.TargetBody(server.Scenario.InitialSkill, task.Question, seed: 7);
        var (r1, b1) = await SimLabHost.PostAsync(http, body);
        var (r2, b2) = await SimLabHost.PostAsync(http, body);
        Assert.Equal(HttpStatusCode.OK, r1.StatusCode);
        Assert.Equal(b1, b2);
        Assert.Equal("true", r1.Headers.GetValues(SimLabServer.SimulatedHeader).Single());
        var json = JsonNode.Parse(b1)!;
        Assert.Equal("skillopt-simlab", json["system_fingerprint"]!.GetValue<string>());
        Assert.Equal("simlab-target", json["model"]!.GetValue<string>());
        Assert.Equal("stop", json["choices"]![0]!["finish_reason"]!.GetValue<string>());
        var usage = json["usage"]!;
        Assert.True(usage["prompt_tokens"]!.GetValue<int>() > 0);
        Assert.Equal(usage["prompt_tokens"]!.GetValue<int>() + usage["completion_tokens"]!.GetValue<int>(), usage["total_tokens"]!.GetValue<int>());
        Assert.Equal(0, usage["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>());
        Assert.Matches(@"\n#### -?[\d.]+$", SimLabHost.Content(b1));
    }

    [Fact]
    public async Task Different_seeds_can_give_different_outcomes_on_a_flaky_task()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        using var http = SimLabHost.Http(server);
        var answers = new HashSet<string>();
        for (var seed = 0; seed < 12; seed++)
        {
            var (_, body) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody(SimLabHost.FullTinySkill, "What is 90 - 40?", seed));
            answers.Add(SimLabHost.Content(body).Split("Final answer: ")[1]);
        }
        Assert.Contains("50", answers);
        Assert.True(answers.Count > 1, "a task with flakiness 0.5 should fail for some seed");
    }

    [Fact]
    public async Task Target_succeeds_when_the_skill_holds_the_procedures_and_fails_otherwise()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        using var http = SimLabHost.Http(server);
        foreach (var (id, question, answer) in new[] { ("t1", "What is 17 + 25?", "42"), ("t3", "What is 52 - 17?", "35") })
        {
            var (_, with) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody(SimLabHost.FullTinySkill, question, 0));
            Assert.EndsWith("Final answer: " + answer, SimLabHost.Content(with), StringComparison.Ordinal);
            var (_, without) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody(server.Scenario.InitialSkill, question, 0));
            Assert.DoesNotContain("Final answer: " + answer + "\n", SimLabHost.Content(without) + "\n", StringComparison.Ordinal);
            Assert.Contains("Final answer: ", SimLabHost.Content(without), StringComparison.Ordinal);
        }
        // a harmful rule breaks the tasks it targets, not the others
        var harmed = SimLabHost.FullTinySkill + "- Guess quickly when unsure.\n";
        var (_, t3) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody(harmed, "What is 52 - 17?", 0));
        Assert.DoesNotContain("Final answer: 35", SimLabHost.Content(t3), StringComparison.Ordinal);
        var (_, t1) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody(harmed, "  what is 17+25 ?  ", 0));
        Assert.EndsWith("Final answer: 42", SimLabHost.Content(t1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gsm8k_pass_rate_rises_with_the_procedures_in_the_skill()
    {
        var scenario = ScenarioLoader.LoadBuiltin("gsm8k");
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: Ct);
        var full = scenario.InitialSkill + string.Join("\n", scenario.Procedures.Select(p => p.Texts[0])) + "\n";
        var bare = "Answer the question.";
        using var target = SimLabHost.Client(server, "simlab-target");
        var runner = new SimLabRolloutRunner(scenario, target);
        var ids = scenario.ResolvedTasks.Take(60).Select(t => t.Id).ToList();
        double Rate(IReadOnlyList<Core.Rollouts.RolloutResult> rs) => rs.Count(r => r.Outcome == Core.Rollouts.TaskOutcome.Passed) / (double)rs.Count;
        var withAll = Rate(await runner.RunAsync(new Core.Rollouts.RolloutRequest(full, "h1", ids, 0, "validate"), Ct));
        var initial = Rate(await runner.RunAsync(new Core.Rollouts.RolloutRequest(scenario.InitialSkill, "h2", ids, 0, "validate"), Ct));
        var none = Rate(await runner.RunAsync(new Core.Rollouts.RolloutRequest(bare, "h3", ids, 0, "validate"), Ct));
        Assert.True(withAll > 0.8, $"all procedures: {withAll}");
        Assert.True(initial < withAll - 0.2, $"initial {initial} vs all {withAll}");
        Assert.True(none < initial, $"none {none} vs initial {initial}");
        Assert.Equal(180, runner.Calls);
    }

    [Fact]
    public async Task Role_follows_the_model_id_and_unknown_models_get_an_openai_style_404()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        using var http = SimLabHost.Http(server);
        var (_, target) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody("skill", "What is 2 + 3?", 0));
        Assert.Contains("Final answer:", SimLabHost.Content(target), StringComparison.Ordinal);
        var (_, optimizer) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody("skill", "What is 2 + 3?", 0, "simlab-optimizer"));
        Assert.Contains("simulated optimizer", SimLabHost.Content(optimizer), StringComparison.Ordinal);

        var (missing, body) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody("skill", "What is 2 + 3?", 0, "gpt-4o"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("true", missing.Headers.GetValues(SimLabServer.SimulatedHeader).Single());
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("model_not_found", error["code"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Contains("gpt-4o", error["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var (bad, _) = await SimLabHost.PostAsync(http, "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var models = JsonNode.Parse(await http.GetStringAsync("models", Ct))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>());
        Assert.Equal(["simlab-target", "simlab-optimizer"], models);
    }

    [Fact]
    public async Task An_unknown_question_gets_a_generic_wrong_answer()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        using var http = SimLabHost.Http(server);
        var (response, body) = await SimLabHost.PostAsync(http, SimLabHost.TargetBody(SimLabHost.FullTinySkill, "What is the capital of France?", 0));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.EndsWith("Final answer: 0", SimLabHost.Content(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_official_OpenAI_SDK_talks_to_SimLab()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        var client = new ChatClient("simlab-target", new ApiKeyCredential("not-a-real-key"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl) });
        var result = await client.CompleteChatAsync(
            [new SystemChatMessage(SimLabHost.FullTinySkill), new UserChatMessage("What is 38 + 47?")],
            new ChatCompletionOptions { Seed = 1 }, Ct);
        var completion = result.Value;
        Assert.EndsWith("Final answer: 85", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("skillopt-simlab", completion.SystemFingerprint);
        Assert.True(completion.Usage.InputTokenCount > 0 && completion.Usage.OutputTokenCount > 0);
        Assert.True(result.GetRawResponse().Headers.TryGetValue(SimLabServer.SimulatedHeader, out var simulated));
        Assert.Equal("true", simulated);
    }

    [Fact]
    public async Task With_tools_offered_the_target_calls_one_first_and_answers_after_the_result()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny("").WithToolCalls(), cancellationToken: Ct);
        var client = new ChatClient("simlab-target", new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl) });
        var tool = ChatTool.CreateFunctionTool("calculate", "Evaluates an arithmetic expression.",
            BinaryData.FromString("""{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}"""));
        var options = new ChatCompletionOptions { Tools = { tool } };
        List<OpenAI.Chat.ChatMessage> messages = [new SystemChatMessage(SimLabHost.FullTinySkill), new UserChatMessage("What is 17 + 25?")];
        var first = (await client.CompleteChatAsync(messages, options, Ct)).Value;
        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("calculate", call.FunctionName);
        Assert.Equal("17 + 25", JsonNode.Parse(call.FunctionArguments.ToString())!["expression"]!.GetValue<string>());
        messages.Add(new AssistantChatMessage(first.ToolCalls));
        messages.Add(new ToolChatMessage(call.Id, "42"));
        var second = (await client.CompleteChatAsync(messages, options, Ct)).Value;
        Assert.EndsWith("Final answer: 42", second.Content[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_streamed_request_gets_server_sent_events()
    {
        await using var server = await SimLabServer.StartAsync(SimLabHost.Tiny(), cancellationToken: Ct);
        var client = new ChatClient("simlab-target", new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl) });
        var text = new System.Text.StringBuilder();
        await foreach (var update in client.CompleteChatStreamingAsync([new SystemChatMessage(SimLabHost.FullTinySkill), new UserChatMessage("What is 2 + 3?")], cancellationToken: Ct))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }
        Assert.EndsWith("Final answer: 5", text.ToString(), StringComparison.Ordinal);
    }
}

internal static class ScenarioTestExtensions
{
    public static Scenario WithToolCalls(this Scenario s)
    {
        s.Target.ToolCallFirst = true;
        return s;
    }
}
