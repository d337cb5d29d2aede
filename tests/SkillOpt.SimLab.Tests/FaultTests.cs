using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace SkillOpt.SimLab.Tests;

public class FaultTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Scenario WithFaults(Action<FaultOptions> set)
    {
        var s = SimLabHost.Tiny();
        s.Faults.MaxConsecutive = 1;
        set(s.Faults);
        return s;
    }

    [Fact]
    public async Task Rate_limit_is_a_429_with_Retry_After_and_the_retry_succeeds()
    {
        await using var server = await SimLabServer.StartAsync(WithFaults(f => { f.RateLimit = 1; f.RetryAfterSeconds = 3; }), cancellationToken: Ct);
        using var http = SimLabHost.Http(server);
        var body = SimLabHost.TargetBody(SimLabHost.FullTinySkill, "What is 2 + 3?", 0);
        var (first, error) = await SimLabHost.PostAsync(http, body);
        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), first.Headers.RetryAfter!.Delta);
        Assert.Equal("rate_limit_exceeded", JsonNode.Parse(error)!["error"]!["code"]!.GetValue<string>());
        var (second, ok) = await SimLabHost.PostAsync(http, body);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.EndsWith("Final answer: 5", SimLabHost.Content(ok), StringComparison.Ordinal);
        Assert.Equal(1, server.Statistics.RateLimited);
        Assert.Equal(1, server.Statistics.TargetCalls);
    }

    [Fact]
    public async Task Server_errors_malformed_bodies_and_truncated_replies_are_injected()
    {
        var body = SimLabHost.TargetBody(SimLabHost.FullTinySkill, "What is 2 + 3?", 0);
        await using (var server = await SimLabServer.StartAsync(WithFaults(f => f.ServerError = 1), cancellationToken: Ct))
        {
            using var http = SimLabHost.Http(server);
            Assert.Equal(HttpStatusCode.InternalServerError, (await SimLabHost.PostAsync(http, body)).Response.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await SimLabHost.PostAsync(http, body)).Response.StatusCode);
        }
        await using (var server = await SimLabServer.StartAsync(WithFaults(f => f.MalformedBody = 1), cancellationToken: Ct))
        {
            using var http = SimLabHost.Http(server);
            var (response, text) = await SimLabHost.PostAsync(http, body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(text));
            Assert.NotNull(JsonNode.Parse((await SimLabHost.PostAsync(http, body)).Body));
        }
        await using (var server = await SimLabServer.StartAsync(WithFaults(f => f.Truncated = 1), cancellationToken: Ct))
        {
            using var http = SimLabHost.Http(server);
            var cut = JsonNode.Parse((await SimLabHost.PostAsync(http, body)).Body)!["choices"]![0]!;
            Assert.Equal("length", cut["finish_reason"]!.GetValue<string>());
            Assert.DoesNotContain("Final answer: 5", cut["message"]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_timeout_hangs_longer_than_the_client_waits_and_the_retry_is_answered()
    {
        await using var server = await SimLabServer.StartAsync(WithFaults(f => { f.Timeout = 1; f.HangSeconds = 600; }), cancellationToken: Ct);
        using var impatient = SimLabHost.Http(server, TimeSpan.FromMinutes(10));
        var body = SimLabHost.TargetBody(SimLabHost.FullTinySkill, "What is 2 + 3?", 0);
        var first = SimLabHost.PostAsync(impatient, body);
        // the client gives up only once the server has taken the attempt and hangs on it (on a loaded machine a fixed
        // client timeout could run out before the server even saw the request, and the retry would then be the first attempt)
        for (var waited = 0; server.Statistics.Timeouts == 0 && waited < 120_000; waited += 50)
        {
            await Task.Delay(50, Ct);
        }
        Assert.Equal(1, server.Statistics.Timeouts);
        Assert.False(first.IsCompleted);
        impatient.CancelPendingRequests();
        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => first);
        // the retry, with the default timeout
        using var http = SimLabHost.Http(server);
        var (response, _) = await SimLabHost.PostAsync(http, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, server.Statistics.Timeouts);
    }

    [Fact]
    public async Task Faults_are_deterministic_per_request_attempt()
    {
        async Task<List<HttpStatusCode>> Statuses()
        {
            var s = SimLabHost.Tiny();
            s.Faults.RateLimit = 0.5;
            s.Faults.MaxConsecutive = 3;
            await using var server = await SimLabServer.StartAsync(s, cancellationToken: Ct);
            using var http = SimLabHost.Http(server);
            var list = new List<HttpStatusCode>();
            for (var seed = 0; seed < 8; seed++)
            {
                for (var attempt = 0; attempt < 4; attempt++)
                {
                    list.Add((await SimLabHost.PostAsync(http, SimLabHost.TargetBody(SimLabHost.FullTinySkill, "What is 2 + 3?", seed))).Response.StatusCode);
                }
            }
            return list;
        }
        var a = await Statuses();
        Assert.Equal(a, await Statuses());
        Assert.Contains(HttpStatusCode.TooManyRequests, a);
        Assert.Equal(8, a.Chunk(4).Count(c => c[3] == HttpStatusCode.OK)); // the fourth attempt is never faulted
    }

    [Fact]
    public async Task The_provider_pipeline_retries_through_injected_faults()
    {
        var s = SimLabHost.Tiny();
        s.Faults.RateLimit = 0.25;
        s.Faults.ServerError = 0.15;
        s.Faults.RetryAfterSeconds = 0;
        s.Faults.MaxConsecutive = 2;
        s.Latency.Target = new LatencyDistribution { MedianMs = 2, P95Ms = 10 };
        await using var server = await SimLabServer.StartAsync(s, cancellationToken: Ct);
        using var client = SimLabHost.Client(server, "simlab-target");
        for (var seed = 0; seed < 30; seed++)
        {
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.System, SimLabHost.FullTinySkill), new ChatMessage(ChatRole.User, "What is 38 + 47?")],
                new ChatOptions { Seed = seed }, Ct);
            Assert.EndsWith("Final answer: 85", response.Text, StringComparison.Ordinal);
        }
        Assert.Equal(30, server.Statistics.TargetCalls);
        Assert.True(server.Statistics.RateLimited > 0 && server.Statistics.ServerErrors > 0);
    }
}
