using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Providers.Tests.Infrastructure;
using static SkillOpt.Providers.Tests.Infrastructure.Pipelines;

namespace SkillOpt.Providers.Tests;

public sealed class RecordingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "skillopt-recordings-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private ChatPipelineOptions Mode(RecordingMode mode, UsageLedger? ledger = null) =>
        new() { Recording = mode, RecordingDirectory = _folder, Ledger = ledger };

    private static List<ChatMessage> Conversation(string question) =>
        [new(ChatRole.System, "You solve math problems."), new(ChatRole.User, question)];

    [Fact(Timeout = 20_000)]
    public async Task Replay_returns_the_recorded_response_with_zero_requests()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("The answer is 42.", prompt: 300, completion: 20, cached: 256));
        var time = Clock.Fake();
        var options = new ChatOptions { Temperature = 0.2f, Tools = [AIFunctionFactory.Create((int a) => a, "id", "Identity.")] };

        using (var recorder = OpenAIPipeline(server, time, pipeline: Mode(RecordingMode.Record)))
        {
            var live = await recorder.GetResponseAsync(Conversation("What is 6 × 7?"), options.Clone().WithStage(ChatStage.Rollout), Ct);
            Assert.Equal("The answer is 42.", live.Text);
        }
        Assert.Equal(1, server.RequestCount);
        var file = Assert.Single(Directory.GetFiles(_folder));
        Assert.Matches("^[0-9a-f]{64}\\.json$", Path.GetFileName(file));
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories));

        // Replay: no key in the environment, and the server must not be called.
        var ledger = new UsageLedger();
        using var replay = Factory(time, new Dictionary<string, string>()).Create("target", OpenAIOptions(server), Mode(RecordingMode.Replay, ledger));
        var replayed = await replay.GetResponseAsync(Conversation("What is 6 × 7?"), options.Clone().WithStage(ChatStage.Validate), Ct);

        Assert.Equal("The answer is 42.", replayed.Text);
        Assert.Equal(300, replayed.Usage!.InputTokenCount);
        Assert.Equal(256, replayed.Usage.CachedInputTokenCount);
        Assert.Equal("chatcmpl-test-1", replayed.ResponseId);
        Assert.Equal(1, server.RequestCount);
        var entry = Assert.Single(ledger.Snapshot().Entries);
        Assert.Equal(1, entry.ReplayedCalls);
        Assert.Equal(0, entry.InputTokens);
    }

    [Fact(Timeout = 20_000)]
    public async Task Tool_calls_survive_recording_and_replay()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIToolCall("call_9", "add", """{"a":1,"b":2}"""));
        var time = Clock.Fake();
        using (var recorder = OpenAIPipeline(server, time, pipeline: Mode(RecordingMode.Record)))
            await recorder.GetResponseAsync(Ask("add 1 and 2"), cancellationToken: Ct);

        using var replay = OpenAIPipeline(server, time, pipeline: Mode(RecordingMode.Replay));
        var response = await replay.GetResponseAsync(Ask("add 1 and 2"), cancellationToken: Ct);

        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(("call_9", "add", "2"), (call.CallId, call.Name, call.Arguments!["b"]!.ToString()));
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
    }

    [Fact(Timeout = 20_000)]
    public async Task Miss_throws_with_key_model_and_the_start_of_the_last_user_message()
    {
        await using var server = await LoopbackServer.StartAsync();
        using var replay = OpenAIPipeline(server, Clock.Fake(), pipeline: Mode(RecordingMode.Replay));
        var question = "Q: " + new string('x', 300);

        var error = await Assert.ThrowsAsync<RecordingMissException>(
            () => replay.GetResponseAsync([new(ChatRole.User, "earlier"), new(ChatRole.Assistant, "ok"), new(ChatRole.User, question)], cancellationToken: Ct));

        Assert.Matches("^[0-9a-f]{64}$", error.Key);
        Assert.Equal("gpt-test", error.Model);
        Assert.Equal(question[..200], error.LastUserMessage);
        Assert.Contains(error.Key, error.Message);
        Assert.Contains("model 'gpt-test'", error.Message);
        Assert.Contains("\"" + question[..200] + "\"", error.Message);
        Assert.DoesNotContain(question[..201], error.Message);
        Assert.StartsWith($"No recorded response for request {error.Key} (provider 'openai', model 'gpt-test') in '", error.Message);
        Assert.Equal(0, server.RequestCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Record_missing_calls_the_provider_only_for_new_requests()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("first"));
        server.EnqueueJson(200, Wire.OpenAIText("second"));
        using var client = OpenAIPipeline(server, Clock.Fake(), pipeline: Mode(RecordingMode.RecordMissing));

        var a1 = await client.GetResponseAsync(Ask("a"), cancellationToken: Ct);
        var a2 = await client.GetResponseAsync(Ask("a"), new ChatOptions().WithStage(ChatStage.Test), Ct);
        var b = await client.GetResponseAsync(Ask("b"), cancellationToken: Ct);

        Assert.Equal(("first", "first", "second"), (a1.Text, a2.Text, b.Text));
        Assert.Equal(2, server.RequestCount);
        Assert.Equal(2, Directory.GetFiles(_folder).Length);
    }

    [Fact(Timeout = 20_000)]
    public void Key_depends_on_what_affects_the_output_but_not_on_the_stage()
    {
        List<ChatMessage> messages = [new(ChatRole.User, "hello")];
        string Key(ChatOptions? o, string model = "m", List<ChatMessage>? m = null) => RecordingKey.Compute("openai", model, m ?? messages, o);

        var baseKey = Key(new ChatOptions { Temperature = 0.5f });
        Assert.Equal(baseKey, Key(new ChatOptions { Temperature = 0.5f }.WithStage(ChatStage.Rollout)));
        Assert.Equal(baseKey, Key(new ChatOptions { Temperature = 0.5f }.WithStage(ChatStage.Test)));
        Assert.NotEqual(baseKey, Key(new ChatOptions { Temperature = 0.6f }));
        Assert.NotEqual(baseKey, Key(new ChatOptions { Temperature = 0.5f, MaxOutputTokens = 10 }));
        Assert.NotEqual(baseKey, Key(new ChatOptions { Temperature = 0.5f, Seed = 1 }));
        Assert.NotEqual(baseKey, Key(new ChatOptions { Temperature = 0.5f, ResponseFormat = ChatResponseFormat.Json }));
        Assert.NotEqual(baseKey, Key(new ChatOptions { Temperature = 0.5f, Reasoning = new() { Effort = ReasoningEffort.High } }));
        Assert.NotEqual(baseKey, Key(new ChatOptions { Temperature = 0.5f }, model: "other"));
        Assert.NotEqual(baseKey, Key(new ChatOptions { Temperature = 0.5f }, m: [new(ChatRole.User, "hello!")]));
        Assert.NotEqual(baseKey, Key(new ChatOptions { Temperature = 0.5f, Tools = [AIFunctionFactory.Create((int a) => a, "f")] }));
        Assert.NotEqual(
            Key(null, m: [new(ChatRole.Assistant, [new FunctionCallContent("c1", "f", new Dictionary<string, object?> { ["a"] = 1 })])]),
            Key(null, m: [new(ChatRole.Assistant, [new FunctionCallContent("c1", "f", new Dictionary<string, object?> { ["a"] = 2 })])]));
        Assert.NotEqual(
            Key(null, m: [new(ChatRole.Tool, [new FunctionResultContent("c1", 1)])]),
            Key(null, m: [new(ChatRole.Tool, [new FunctionResultContent("c1", 2)])]));
        Assert.Equal(
            Key(null, m: [new(ChatRole.Assistant, [new FunctionCallContent("c1", "f", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 })])]),
            Key(null, m: [new(ChatRole.Assistant, [new FunctionCallContent("c1", "f", new Dictionary<string, object?> { ["b"] = 2, ["a"] = 1 })])]));
    }

    [Fact(Timeout = 20_000)]
    public async Task The_api_key_appears_in_no_recording_and_no_error_message()
    {
        const string secret = "sk-live-SECRET-4f9c2a7e1b";
        await using var server = await LoopbackServer.StartAsync();
        // A misbehaving server that echoes the credential back, in a success body and in an error body.
        server.Enqueue((r, ctx) => LoopbackServer.Json(200, Wire.OpenAIText("You sent " + r.Header("Authorization")))(r, ctx));
        server.Enqueue((r, ctx) => LoopbackServer.Json(401, Wire.OpenAIError("Incorrect API key provided: " + r.Header("Authorization")))(r, ctx));
        var env = new Dictionary<string, string> { ["OPENAI_API_KEY"] = secret };
        var factory = new ChatClientFactory(n => env.GetValueOrDefault(n), Clock.Fake());
        var messages = new List<string>();

        using (var recorder = factory.Create("target", OpenAIOptions(server), Mode(RecordingMode.Record)))
        {
            await recorder.GetResponseAsync(Ask("first"), cancellationToken: Ct);
            var unauthorized = await Assert.ThrowsAsync<ProviderException>(() => recorder.GetResponseAsync(Ask("second"), cancellationToken: Ct));
            Assert.Equal(401, unauthorized.StatusCode);
            Assert.Contains("[REDACTED]", unauthorized.Message); // the echo happened and was scrubbed
            messages.Add(unauthorized.ToString());
            messages.Add(recorder.ToString()!);
        }
        Assert.Equal("Bearer " + secret, server.Requests[0].Header("Authorization")); // the key was really sent

        using (var replay = factory.Create("target", OpenAIOptions(server), Mode(RecordingMode.Replay)))
        {
            var miss = await Assert.ThrowsAsync<RecordingMissException>(() => replay.GetResponseAsync(Ask("never recorded"), cancellationToken: Ct));
            messages.Add(miss.ToString());
        }
        var missingKey = Assert.Throws<ProviderConfigurationException>(() =>
            new ChatClientFactory(_ => null).Create("target", OpenAIOptions(server)));
        messages.Add(missingKey.ToString());
        messages.Add(factory.ToString());
        messages.Add(new ProviderContext("openai", "target", "gpt-test", "OPENAI_API_KEY").ToString());

        var files = Directory.GetFiles(_folder, "*", SearchOption.AllDirectories);
        var recorded = Assert.Single(files);
        var text = await File.ReadAllTextAsync(recorded, Ct);
        Assert.Contains("You sent Bearer [REDACTED]", text);
        foreach (var f in files) Assert.DoesNotContain(secret, await File.ReadAllTextAsync(f, Ct));
        foreach (var m in messages) Assert.DoesNotContain(secret, m);
        Assert.DoesNotContain("SECRET", string.Concat(messages));
    }

    [Fact(Timeout = 20_000)]
    public async Task Recording_files_are_complete_json_with_their_metadata()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("hi"));
        using (var recorder = OpenAIPipeline(server, Clock.Fake(), pipeline: Mode(RecordingMode.Record)))
            await recorder.GetResponseAsync(Ask("say hi"), cancellationToken: Ct);

        var path = Assert.Single(Directory.GetFiles(_folder));
        var json = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(path, Ct))!;

        Assert.Equal(1, json["schema_version"]!.GetValue<int>());
        Assert.Equal(Path.GetFileNameWithoutExtension(path), json["key"]!.GetValue<string>());
        Assert.Equal("openai", json["provider"]!.GetValue<string>());
        Assert.Equal("gpt-test", json["model"]!.GetValue<string>());
        Assert.Equal("say hi", json["last_user_message"]!.GetValue<string>());
        Assert.NotNull(json["response"]!["messages"]);
        Assert.False((await File.ReadAllBytesAsync(path, Ct)).AsSpan().StartsWith(new byte[] { 0xEF, 0xBB, 0xBF }));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_recording_made_through_the_official_client_keeps_the_version_1_shape()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("hi there", prompt: 181, completion: 79, cached: 0, reasoning: 0, id: "chatcmpl-sim-1", model: "simlab-target"));
        using (var recorder = OpenAIPipeline(server, Clock.Fake(), pipeline: Mode(RecordingMode.Record)))
            await recorder.GetResponseAsync(Ask("say hi"), cancellationToken: Ct);

        var text = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(_folder)), Ct);
        Assert.Equal("""
            {
              "schema_version": 1,
              "key": "d519be8f00126fe0741ba170fa4947f2567040424024e312d32f77ec83d2103b",
              "provider": "openai",
              "model": "gpt-test",
              "last_user_message": "say hi",
              "response": {
                "messages": [
                  {
                    "role": "assistant",
                    "contents": [
                      {
                        "$type": "text",
                        "text": "hi there"
                      }
                    ],
                    "messageId": "chatcmpl-sim-1"
                  }
                ],
                "responseId": "chatcmpl-sim-1",
                "modelId": "simlab-target",
                "createdAt": "2026-01-01T00:00:00\u002B00:00",
                "finishReason": "stop",
                "usage": {
                  "inputTokenCount": 181,
                  "outputTokenCount": 79,
                  "totalTokenCount": 260,
                  "cachedInputTokenCount": 0,
                  "reasoningTokenCount": 0
                }
              }
            }

            """, text);
    }

    [Fact(Timeout = 60_000)]
    public void The_samples_approved_recordings_still_load_and_write_back_byte_for_byte()
    {
        var folders = new[] { "samples/MathSkills/skills/math/SKILL.recording", "tests/SkillOpt.SampleVerifiers/skills/simmath/SKILL.recording" }
            .Select(RepositoryPath).ToList();
        var files = folders.SelectMany(f => Directory.GetFiles(f, "*.json")).ToList();
        Assert.True(files.Count >= 10, $"expected the approved recordings, found {files.Count}");
        var store = new RecordingStore(_folder);
        foreach (var file in files)
        {
            var original = File.ReadAllText(file);
            var json = System.Text.Json.Nodes.JsonNode.Parse(original)!;
            var key = Path.GetFileNameWithoutExtension(file);
            Assert.Equal(key, json["key"]!.GetValue<string>());
            var response = new RecordingStore(Path.GetDirectoryName(file)!).TryRead(key);
            Assert.NotNull(response);
            Assert.False(string.IsNullOrEmpty(response.Text), file);

            store.Write(key, json["provider"]!.GetValue<string>(), json["model"]!.GetValue<string>(), json["last_user_message"]!.GetValue<string>(), response);
            Assert.Equal(original, File.ReadAllText(store.PathFor(key)));
        }
    }

    private static string RepositoryPath(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SkillOpt.Testing.sln"))) return Path.Combine(dir.FullName, relative);
        throw new DirectoryNotFoundException("The repository root was not found above the test's output folder.");
    }
}
