using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Providers.Tests.Infrastructure;
using static SkillOpt.Providers.Tests.Infrastructure.Pipelines;

namespace SkillOpt.Providers.Tests;

public sealed class OpenAITests
{
    private static readonly JsonElement EditListSchema = JsonDocument.Parse("""
        {"type":"object","properties":{"edits":{"type":"array","items":{"type":"string"}}},"required":["edits"],"additionalProperties":false}
        """).RootElement.Clone();

    internal static string TextOf(JsonNode? content) => content switch
    {
        JsonValue v => v.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(p => p!["text"]?.GetValue<string>() ?? "")),
        _ => "",
    };

    [Fact(Timeout = 20_000)]
    public async Task Request_puts_instructions_and_system_messages_first_and_maps_options_tools_and_schema()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("""{"edits":["add a step"]}"""));
        var time = Clock.Fake();
        using var client = OpenAIPipeline(server, time);

        var add = AIFunctionFactory.Create((int a, int b) => a + b, "add", "Adds two integers.");
        var options = new ChatOptions
        {
            Instructions = "Follow the skill.",
            Temperature = 0.25f,
            MaxOutputTokens = 256,
            Seed = 7,
            TopP = 0.5f,
            StopSequences = ["END"],
            Tools = [add],
            ResponseFormat = ChatResponseFormat.ForJsonSchema(EditListSchema, "edit_list", "Edits to apply."),
            Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High },
        }.WithStage(ChatStage.Reflect);
        options.AdditionalProperties!["skillopt.trace"] = "internal";

        List<ChatMessage> messages = [new(ChatRole.System, "You are terse."), new(ChatRole.User, "Propose edits.")];
        var response = await client.GetResponseAsync(messages, options, Ct);

        Assert.Equal("""{"edits":["add a step"]}""", response.Text);
        var request = Assert.Single(server.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal("Bearer " + OpenAIKey, request.Header("Authorization"));
        var body = request.Json;
        Assert.Equal("gpt-test", body["model"]!.GetValue<string>());
        var wireMessages = body["messages"]!.AsArray();
        Assert.Equal(3, wireMessages.Count);
        Assert.Equal("system", wireMessages[0]!["role"]!.GetValue<string>());
        Assert.Equal("Follow the skill.", TextOf(wireMessages[0]!["content"]));
        Assert.Equal("system", wireMessages[1]!["role"]!.GetValue<string>());
        Assert.Equal("You are terse.", TextOf(wireMessages[1]!["content"]));
        Assert.Equal("user", wireMessages[2]!["role"]!.GetValue<string>());
        Assert.Equal("Propose edits.", TextOf(wireMessages[2]!["content"]));

        Assert.Equal(0.25, body["temperature"]!.GetValue<double>(), 3);
        Assert.Equal(0.5, body["top_p"]!.GetValue<double>(), 3);
        Assert.Equal(256, (body["max_completion_tokens"] ?? body["max_tokens"])!.GetValue<int>());
        Assert.Equal(7, body["seed"]!.GetValue<long>());
        Assert.Equal("END", body["stop"]!.AsArray().Single()!.GetValue<string>());
        Assert.Equal("high", body["reasoning_effort"]!.GetValue<string>());

        var tool = Assert.Single(body["tools"]!.AsArray())!;
        Assert.Equal("function", tool["type"]!.GetValue<string>());
        Assert.Equal("add", tool["function"]!["name"]!.GetValue<string>());
        Assert.Equal("Adds two integers.", tool["function"]!["description"]!.GetValue<string>());
        Assert.Equal("integer", tool["function"]!["parameters"]!["properties"]!["a"]!["type"]!.GetValue<string>());

        var format = body["response_format"]!;
        Assert.Equal("json_schema", format["type"]!.GetValue<string>());
        Assert.Equal("edit_list", format["json_schema"]!["name"]!.GetValue<string>());
        Assert.True(format["json_schema"]!["strict"]!.GetValue<bool>());
        Assert.Equal("array", format["json_schema"]!["schema"]!["properties"]!["edits"]!["type"]!.GetValue<string>());

        Assert.DoesNotContain("skillopt", request.Body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 20_000)]
    public async Task Json_mode_without_schema_is_json_object()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("{}"));
        using var client = OpenAIPipeline(server, Clock.Fake());

        await client.GetResponseAsync(Ask("json please"), new ChatOptions { ResponseFormat = ChatResponseFormat.Json }, Ct);

        Assert.Equal("json_object", server.Requests.Single().Json["response_format"]!["type"]!.GetValue<string>());
    }

    [Fact(Timeout = 20_000)]
    public async Task Response_text_usage_finish_reason_and_ids_are_mapped()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("The answer is 5.", prompt: 1200, completion: 40, cached: 1024, reasoning: 16,
            id: "chatcmpl-abc", model: "gpt-test-2026-01-01", finish: "length"));
        using var client = OpenAIPipeline(server, Clock.Fake());

        var response = await client.GetResponseAsync(Ask("2+3?"), cancellationToken: Ct);

        Assert.Equal("The answer is 5.", response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal("chatcmpl-abc", response.ResponseId);
        Assert.Equal("gpt-test-2026-01-01", response.ModelId);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.NotNull(response.Usage);
        Assert.Equal(1200, response.Usage.InputTokenCount);
        Assert.Equal(40, response.Usage.OutputTokenCount);
        Assert.Equal(1240, response.Usage.TotalTokenCount);
        Assert.Equal(1024, response.Usage.CachedInputTokenCount);
        Assert.Equal(16, response.Usage.ReasoningTokenCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Usage_details_absent_from_the_wire_stay_unset()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("ok", prompt: 10, completion: 2));
        using var client = OpenAIPipeline(server, Clock.Fake());

        var response = await client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);

        Assert.Equal(10, response.Usage!.InputTokenCount);
        Assert.Null(response.Usage.CachedInputTokenCount);
        Assert.Null(response.Usage.ReasoningTokenCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Tool_call_round_trip_maps_calls_and_results_both_ways()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIToolCall("call_42", "add", """{"a":2,"b":3}"""));
        server.EnqueueJson(200, Wire.OpenAIText("2 + 3 = 5"));
        using var client = OpenAIPipeline(server, Clock.Fake());
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create((int a, int b) => a + b, "add", "Adds.")] };

        List<ChatMessage> history = [new(ChatRole.User, "What is 2 + 3? Use the tool.")];
        var first = await client.GetResponseAsync(history, options, Ct);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("call_42", call.CallId);
        Assert.Equal("add", call.Name);
        Assert.Equal(2, ((JsonElement)call.Arguments!["a"]!).GetInt32());
        Assert.Equal(3, ((JsonElement)call.Arguments!["b"]!).GetInt32());

        history.AddMessages(first);
        history.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent("call_42", 5)]));
        var second = await client.GetResponseAsync(history, options, Ct);

        Assert.Equal("2 + 3 = 5", second.Text);
        var wire = server.Requests[1].Json["messages"]!.AsArray();
        Assert.Equal(3, wire.Count);
        Assert.Equal("assistant", wire[1]!["role"]!.GetValue<string>());
        var wireCall = Assert.Single(wire[1]!["tool_calls"]!.AsArray())!;
        Assert.Equal("call_42", wireCall["id"]!.GetValue<string>());
        Assert.Equal("add", wireCall["function"]!["name"]!.GetValue<string>());
        var arguments = JsonNode.Parse(wireCall["function"]!["arguments"]!.GetValue<string>())!;
        Assert.Equal(2, arguments["a"]!.GetValue<int>());
        Assert.Equal("tool", wire[2]!["role"]!.GetValue<string>());
        Assert.Equal("call_42", wire[2]!["tool_call_id"]!.GetValue<string>());
        Assert.Equal("5", TextOf(wire[2]!["content"]));
    }

    [Fact(Timeout = 20_000)]
    public async Task Streaming_returns_the_same_text_as_one_call()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("streamed answer"));
        using var client = OpenAIPipeline(server, Clock.Fake());

        var text = "";
        await foreach (var update in client.GetStreamingResponseAsync(Ask("hi"), cancellationToken: Ct))
            text += update.Text;

        Assert.Equal("streamed answer", text);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Role_defaults_from_configuration_fill_unset_options_only()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("a"));
        server.EnqueueJson(200, Wire.OpenAIText("b"));
        using var client = OpenAIPipeline(server, Clock.Fake(), o =>
        {
            o.Temperature = 0.7f;
            o.MaxOutputTokens = 300;
            o.Seed = 11;
            o.ReasoningEffort = "minimal";
        });

        await client.GetResponseAsync(Ask("one"), cancellationToken: Ct);
        await client.GetResponseAsync(Ask("two"), new ChatOptions { Temperature = 0.1f, Reasoning = new() { Effort = ReasoningEffort.Low } }, Ct);

        var first = server.Requests[0].Json;
        Assert.Equal(0.7, first["temperature"]!.GetValue<double>(), 3);
        Assert.Equal(300, (first["max_completion_tokens"] ?? first["max_tokens"])!.GetValue<int>());
        Assert.Equal(11, first["seed"]!.GetValue<long>());
        Assert.Equal("minimal", first["reasoning_effort"]!.GetValue<string>());
        var second = server.Requests[1].Json;
        Assert.Equal(0.1, second["temperature"]!.GetValue<double>(), 3);
        Assert.Equal("low", second["reasoning_effort"]!.GetValue<string>());
    }

    [Fact(Timeout = 20_000)]
    public async Task Azure_uses_the_v1_path_and_the_api_key_header()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("from azure"));
        var env = new Dictionary<string, string> { ["AZURE_OPENAI_API_KEY"] = "azure-test-key-0123456789" };
        using var client = Factory(Clock.Fake(), env).Create("target", new()
        {
            Provider = "azure-openai",
            Model = "my-gpt-deployment",
            Endpoint = server.BaseAddress.ToString(),
        });

        var response = await client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);

        Assert.Equal("from azure", response.Text);
        var request = server.Requests.Single();
        Assert.Equal("/openai/v1/chat/completions", request.Path);
        Assert.Equal("azure-test-key-0123456789", request.Header("api-key"));
        Assert.Null(request.Header("Authorization"));
        Assert.Equal("my-gpt-deployment", request.Json["model"]!.GetValue<string>());
    }

    [Fact(Timeout = 20_000)]
    public async Task Azure_sends_an_entra_token_as_bearer()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("ok"));
        const string jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl";
        var env = new Dictionary<string, string> { ["AZURE_TOKEN"] = jwt };
        using var client = Factory(Clock.Fake(), env).Create("target", new()
        {
            Provider = "azure-openai",
            Model = "dep",
            Endpoint = server.BaseAddress + "openai/v1",
            ApiKeyEnv = "AZURE_TOKEN",
        });

        await client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);

        var request = server.Requests.Single();
        Assert.Equal("/openai/v1/chat/completions", request.Path);
        Assert.Equal("Bearer " + jwt, request.Header("Authorization"));
        Assert.Null(request.Header("api-key"));
    }

    [Fact(Timeout = 20_000)]
    public async Task Openai_compatible_server_without_key_gets_no_authorization_header()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("llama says hi"));
        using var client = Factory(Clock.Fake(), new Dictionary<string, string>()).Create("target", new()
        {
            Provider = "openai-compatible",
            Model = "llama3.2",
            Endpoint = server.BaseAddress + "v1",
        });

        var response = await client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);

        Assert.Equal("llama says hi", response.Text);
        Assert.Null(server.Requests.Single().Header("Authorization"));
    }

    [Fact(Timeout = 20_000)]
    public async Task Simlab_provider_speaks_the_openai_wire_protocol_without_a_key_and_keeps_its_name()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("simulated"));
        using var client = Factory(Clock.Fake(), new Dictionary<string, string>()).Create("target", new()
        {
            Provider = "simlab",
            Model = "simlab-target",
            Endpoint = server.BaseAddress + "v1/",
        });

        var response = await client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);

        Assert.Equal("simulated", response.Text);
        var request = server.Requests.Single();
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Null(request.Header("Authorization"));
        Assert.Equal("simlab", client.GetService<ChatClientMetadata>()!.ProviderName);
    }
}
