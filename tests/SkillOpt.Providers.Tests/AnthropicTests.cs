using Microsoft.Extensions.Logging;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Providers.Tests.Infrastructure;
using static SkillOpt.Providers.Tests.Infrastructure.Pipelines;

namespace SkillOpt.Providers.Tests;

public sealed class AnthropicTests
{
    [Fact(Timeout = 20_000)]
    public async Task Request_puts_system_prompt_top_level_and_sends_tools_without_internal_keys()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.AnthropicText("Hello from Claude"));
        using var client = AnthropicPipeline(server, Clock.Fake(), o => o.MaxOutputTokens = 777);
        var options = new ChatOptions
        {
            Instructions = "Follow the skill.",
            Tools = [AIFunctionFactory.Create((int a, int b) => a + b, "add", "Adds two integers.")],
        }.WithStage(ChatStage.Rollout);

        await client.GetResponseAsync([new(ChatRole.System, "You are terse."), new(ChatRole.User, "What is 2+3?")], options, Ct);

        var request = server.Requests.Single();
        Assert.Equal("/v1/messages", request.Path);
        var body = request.Json;
        Assert.Equal("claude-test", body["model"]!.GetValue<string>());
        Assert.Equal(777, body["max_tokens"]!.GetValue<int>());
        var system = string.Join("\n", body["system"] is JsonArray blocks
            ? blocks.Select(b => b!["text"]!.GetValue<string>())
            : [body["system"]!.GetValue<string>()]);
        Assert.Contains("You are terse.", system);
        Assert.Contains("Follow the skill.", system);
        var messages = body["messages"]!.AsArray();
        var user = Assert.Single(messages)!;
        Assert.Equal("user", user["role"]!.GetValue<string>());
        Assert.DoesNotContain("You are terse.", user.ToJsonString());
        var tool = Assert.Single(body["tools"]!.AsArray())!;
        Assert.Equal("add", tool["name"]!.GetValue<string>());
        Assert.Equal("integer", tool["input_schema"]!["properties"]!["a"]!["type"]!.GetValue<string>());
        Assert.DoesNotContain("skillopt", request.Body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 20_000)]
    public async Task Response_text_and_usage_with_cache_reads_are_mapped()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.AnthropicText("Hello from Claude", input: 50, output: 7, cacheRead: 20));
        using var client = AnthropicPipeline(server, Clock.Fake(), o => o.Endpoint = server.BaseAddress + "v1/");

        var response = await client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);

        Assert.Equal("/v1/messages", server.Requests.Single().Path);
        Assert.Equal("Hello from Claude", response.Text);
        Assert.Equal("msg_test_1", response.ResponseId);
        Assert.Equal("claude-test-1", response.ModelId);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(70, response.Usage!.InputTokenCount); // 50 uncached + 20 read from the cache
        Assert.Equal(20, response.Usage.CachedInputTokenCount);
        Assert.Equal(7, response.Usage.OutputTokenCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Tool_use_round_trip()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.AnthropicToolUse("toolu_7", "add", new { a = 2, b = 3 }));
        server.EnqueueJson(200, Wire.AnthropicText("2 + 3 = 5"));
        using var client = AnthropicPipeline(server, Clock.Fake());
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create((int a, int b) => a + b, "add", "Adds.")] };

        List<ChatMessage> history = [new(ChatRole.User, "Add 2 and 3 with the tool.")];
        var first = await client.GetResponseAsync(history, options, Ct);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("toolu_7", call.CallId);
        Assert.Equal("add", call.Name);
        Assert.Equal("2", call.Arguments!["a"]!.ToString());

        history.AddMessages(first);
        history.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent("toolu_7", 5)]));
        var second = await client.GetResponseAsync(history, options, Ct);

        Assert.Equal("2 + 3 = 5", second.Text);
        var wire = server.Requests[1].Json["messages"]!.AsArray();
        var toolUse = wire.SelectMany(m => m!["content"]!.AsArray()).First(c => c!["type"]!.GetValue<string>() == "tool_use")!;
        Assert.Equal("toolu_7", toolUse["id"]!.GetValue<string>());
        var toolResult = wire.SelectMany(m => m!["content"]!.AsArray()).First(c => c!["type"]!.GetValue<string>() == "tool_result")!;
        Assert.Equal("toolu_7", toolResult["tool_use_id"]!.GetValue<string>());
        Assert.Contains("5", toolResult["content"]!.ToJsonString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Rate_limit_with_retry_after_is_honoured()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.EnqueueJson(429, Wire.AnthropicError("rate_limit_error", "Number of requests has exceeded your rate limit"), ("Retry-After", "13"));
        server.EnqueueJson(200, Wire.AnthropicText("after the wait"));
        var logs = new ListLoggerProvider();
        using var loggers = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(logs));
        using var client = AnthropicPipeline(server, time, pipeline: new ChatPipelineOptions { LoggerFactory = loggers });

        var response = await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct), TimeSpan.FromMilliseconds(100));

        Assert.Equal("after the wait", response.Text);
        Assert.Equal(2, server.RequestCount);
        Assert.Contains(logs.Lines, l => l.Contains("retrying in 13 s", StringComparison.Ordinal));
        Assert.True(server.Requests[1].ReceivedAt - server.Requests[0].ReceivedAt >= TimeSpan.FromSeconds(13));
    }

    [Fact(Timeout = 20_000)]
    public async Task Unauthorized_is_not_retried_and_names_provider_role_model_and_status()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(401, Wire.AnthropicError("authentication_error", "invalid x-api-key"));
        using var client = AnthropicPipeline(server, Clock.Fake(), role: "optimizer");

        var error = await Assert.ThrowsAsync<ProviderException>(() => client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Equal(1, server.RequestCount);
        Assert.Equal(401, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Equal(
            $"Provider 'anthropic' (role 'optimizer', model 'claude-test', endpoint {server.BaseAddress}): HTTP 401 (Unauthorized): invalid x-api-key; not retried. "
            + "Check the API key in the environment variable ANTHROPIC_API_KEY.",
            error.Message);
        Assert.DoesNotContain(AnthropicKey, error.ToString());
    }

    [Theory(Timeout = 20_000)]
    [InlineData("""{"status":"ok"}""")]
    [InlineData("""{"id":"msg_1","type":"message","role":"assistant","content":"oops"}""")]
    [InlineData("""[1,2,3]""")]
    [InlineData("""{"id":"msg_1","content":[{"type":"text","te""")]
    public async Task Malformed_or_unexpected_json_is_a_malformed_response(string body)
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, body);
        server.EnqueueJson(200, Wire.AnthropicText("must not be reached"));
        var time = Clock.Fake();
        using var client = AnthropicPipeline(server, time);

        var error = await Assert.ThrowsAsync<ProviderException>(() => time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct)));

        Assert.Equal(ProviderErrorKind.MalformedResponse, error.Kind);
        Assert.Equal(1, server.RequestCount);
    }
}
