using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Providers.Tests.Infrastructure;
using static SkillOpt.Providers.Tests.Infrastructure.Pipelines;

namespace SkillOpt.Providers.Tests;

public sealed class UsageAccountingTests
{
    private static readonly Dictionary<string, ModelPrice> Prices = new()
    {
        ["gpt-test"] = new ModelPrice { InputPerMillion = 2.0, CachedInputPerMillion = 0.5, OutputPerMillion = 8.0 },
        ["cheap"] = new ModelPrice { InputPerMillion = 1.0, OutputPerMillion = 1.0 },
    };

    [Fact(Timeout = 20_000)]
    public async Task Calls_are_recorded_per_role_and_stage_with_tokens_wall_time_and_cost()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("a", prompt: 1000, completion: 500, cached: 400, reasoning: 100));
        server.EnqueueJson(200, Wire.OpenAIText("b", prompt: 100, completion: 10));
        var time = Clock.Fake();
        var ledger = new UsageLedger();
        using var client = OpenAIPipeline(server, time, pipeline: new ChatPipelineOptions { Ledger = ledger, Pricing = Prices });

        await client.GetResponseAsync(Ask("one"), new ChatOptions().WithStage(ChatStage.Reflect), Ct);
        await client.GetResponseAsync(Ask("two"), new ChatOptions().WithStage(ChatStage.Validate), Ct);

        var snapshot = ledger.Snapshot();
        Assert.Equal(2, snapshot.Entries.Count);
        var reflect = snapshot.Entries.Single(e => e.Stage == "reflect");
        Assert.Equal("target", reflect.Role);
        Assert.Equal(1, reflect.Calls);
        Assert.Equal(1000, reflect.InputTokens);
        Assert.Equal(400, reflect.CachedInputTokens);
        Assert.Equal(500, reflect.OutputTokens);
        Assert.Equal(100, reflect.ReasoningTokens);
        // 600 uncached × $2/M + 400 cached × $0.5/M + 500 output × $8/M ("gpt-test" prices "gpt-test-2026-01-01")
        Assert.Equal(0.0054, reflect.CostUsd, 10);
        var validate = snapshot.Entries.Single(e => e.Stage == "validate");
        Assert.Equal(0.00028, validate.CostUsd, 10);
        Assert.Equal(1100, snapshot.Total.InputTokens);
        Assert.Equal(2, snapshot.Total.Calls);
    }

    [Fact(Timeout = 20_000)]
    public async Task Wall_time_is_measured_on_the_injected_clock_and_failures_are_counted()
    {
        var time = Clock.Fake();
        var ledger = new UsageLedger();
        var inner = new SlowClient(time, TimeSpan.FromSeconds(3));
        using var client = new UsageAccountingChatClient(inner, ledger, "optimizer", "cheap", Prices, time);

        await client.GetResponseAsync(Ask("x"), new ChatOptions().WithStage(ChatStage.Merge), Ct);
        inner.Fail = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync(Ask("y"), new ChatOptions().WithStage(ChatStage.Merge), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync(Ask("z"), cancellationToken: Ct));

        var merge = ledger.Snapshot().Entries.Single(e => e.Stage == "merge");
        Assert.Equal(2, merge.Calls);
        Assert.Equal(1, merge.FailedCalls);
        Assert.Equal(6.0, merge.WallSeconds, 6);
        Assert.Equal(10, merge.InputTokens);
        Assert.Single(ledger.Snapshot().Entries, e => e.Stage == UsageLedger.UnstagedStage);
    }

    [Fact(Timeout = 20_000)]
    public void Snapshot_json_is_snake_case_and_round_trips()
    {
        var ledger = new UsageLedger();
        ledger.Record("target", "rollout", new UsageDetails { InputTokenCount = 10, CachedInputTokenCount = 4, OutputTokenCount = 3, ReasoningTokenCount = 1 },
            TimeSpan.FromSeconds(1.5), 0.25);
        ledger.Record("target", "rollout", null, TimeSpan.FromSeconds(0.5), null, UsageCallOutcome.Replayed);

        var json = ledger.Snapshot().ToJson();
        var node = JsonNode.Parse(json)!;
        var entry = node["entries"]![0]!;

        Assert.Equal(1, node["schema_version"]!.GetValue<int>());
        Assert.Equal("rollout", entry["stage"]!.GetValue<string>());
        Assert.Equal(10, entry["input_tokens"]!.GetValue<long>());
        Assert.Equal(4, entry["cached_input_tokens"]!.GetValue<long>());
        Assert.Equal(1, entry["reasoning_tokens"]!.GetValue<long>());
        Assert.Equal(1, entry["replayed_calls"]!.GetValue<long>());
        Assert.Equal(2.0, entry["wall_seconds"]!.GetValue<double>(), 6);
        Assert.Equal(0.25, entry["cost_usd"]!.GetValue<double>(), 6);
        Assert.Equal(2, node["total"]!["calls"]!.GetValue<long>());

        var merged = new UsageLedger();
        merged.Add(UsageSnapshot.FromJson(json));
        merged.Add(UsageSnapshot.FromJson(json));
        Assert.Equal(20, merged.Snapshot().Total.InputTokens);
        Assert.Equal(0.5, merged.Snapshot().Total.CostUsd, 6);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("gpt-test", "gpt-test")]
    [InlineData("gpt-test-2026-01-01", "gpt-test")]
    [InlineData("GPT-TEST", "gpt-test")]
    [InlineData("gpt-tester", null)]
    [InlineData("cheap", "cheap")]
    public void Price_lookup_matches_exact_then_dated_ids(string model, string? expectedKey) =>
        Assert.Same(expectedKey is null ? null : Prices[expectedKey], ModelPricing.Find(Prices, model));

    private sealed class SlowClient(FakeTimeProvider time, TimeSpan duration) : IChatClient
    {
        public bool Fail { get; set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            time.Advance(duration);
            if (Fail) throw new InvalidOperationException("boom");
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok"))
            {
                Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 2 },
            });
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
