using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using SkillOpt.Providers.Tests.Infrastructure;
using static SkillOpt.Providers.Tests.Infrastructure.Pipelines;

namespace SkillOpt.Providers.Tests;

public sealed class ResilienceTests
{
    [Theory(Timeout = 20_000)]
    [InlineData("Retry-After", "7", 7000)]
    [InlineData("Retry-After", "0.5", 500)]
    [InlineData("retry-after-ms", "2500", 2500)]
    public async Task Rate_limit_waits_exactly_the_retry_after_delay(string header, string value, int expectedMs)
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(429, Wire.OpenAIError("Rate limit reached for requests", "requests"), (header, value));
        server.EnqueueJson(200, Wire.OpenAIText("after the wait"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time);
        var expected = TimeSpan.FromMilliseconds(expectedMs);

        var call = client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);
        await time.WaitForPendingTimerAsync(d => d == expected);
        time.Advance(expected - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50, Ct);
        Assert.Equal(1, server.RequestCount); // not retried before the delay is over
        time.Advance(TimeSpan.FromMilliseconds(1));
        var response = await call;

        Assert.Equal("after the wait", response.Text);
        Assert.Equal(2, server.RequestCount);
        Assert.Contains(expected, time.RequestedDelays);
    }

    [Fact(Timeout = 20_000)]
    public async Task Retry_after_as_http_date_is_measured_on_the_injected_clock()
    {
        await using var server = await LoopbackServer.StartAsync();
        var time = new FakeTimeProvider();
        var date = (time.GetUtcNow() + TimeSpan.FromSeconds(42)).ToString("r");
        server.EnqueueJson(429, Wire.OpenAIError("slow down"), ("Retry-After", date));
        server.EnqueueJson(200, Wire.OpenAIText("ok"));
        using var client = OpenAIPipeline(server, time);

        var call = client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);
        await time.WaitForPendingTimerAsync(d => d == TimeSpan.FromSeconds(42));
        time.Advance(TimeSpan.FromSeconds(42));

        Assert.Equal("ok", (await call).Text);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Server_error_is_retried_with_exponential_backoff_then_succeeds()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(500, Wire.OpenAIError("The server had an error", "server_error"));
        server.EnqueueJson(503, Wire.OpenAIError("Overloaded", "server_error"));
        server.EnqueueJson(200, Wire.OpenAIText("recovered"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time, pipeline: new ChatPipelineOptions
        {
            Resilience = new ResilienceOptions { BaseDelay = TimeSpan.FromSeconds(2), JitterSource = () => 1.0 },
        });

        var response = await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Equal("recovered", response.Text);
        Assert.Equal(3, server.RequestCount);
        var backoffs = time.RequestedDelays.Where(d => d < TimeSpan.FromSeconds(600)).ToList();
        Assert.Equal([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)], backoffs);
    }

    [Fact(Timeout = 20_000)]
    public async Task Backoff_jitter_stays_between_half_and_full_delay()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(502, Wire.OpenAIError("bad gateway"));
        server.EnqueueJson(200, Wire.OpenAIText("ok"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time, pipeline: new ChatPipelineOptions
        {
            Resilience = new ResilienceOptions { BaseDelay = TimeSpan.FromSeconds(10), JitterSource = () => 0.0 },
        });

        await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Contains(TimeSpan.FromSeconds(5), time.RequestedDelays);
    }

    [Theory(Timeout = 20_000)]
    [InlineData(400, "Invalid value for 'temperature'",
        "Provider 'openai' (role 'target', model 'gpt-test'): HTTP 400 (BadRequest): Invalid value for 'temperature'; not retried. The provider rejected the request; check the model's supported options (temperature, tools, response format, max tokens).")]
    [InlineData(401, "Incorrect API key provided",
        "Provider 'openai' (role 'target', model 'gpt-test'): HTTP 401 (Unauthorized): Incorrect API key provided; not retried. Check the API key in the environment variable OPENAI_API_KEY.")]
    [InlineData(403, "Project does not have access",
        "Provider 'openai' (role 'target', model 'gpt-test'): HTTP 403 (Forbidden): Project does not have access; not retried. The key is valid but lacks access to this model or endpoint.")]
    [InlineData(404, "The model `gpt-test` does not exist",
        "Provider 'openai' (role 'target', model 'gpt-test'): HTTP 404 (NotFound): The model `gpt-test` does not exist; not retried. Check the model id (for Azure OpenAI: the deployment name) and the endpoint.")]
    public async Task Client_errors_are_not_retried_and_say_what_to_fix(int status, string serverMessage, string expected)
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(status, Wire.OpenAIError(serverMessage));
        server.EnqueueJson(200, Wire.OpenAIText("must not be reached"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time);

        var error = await Assert.ThrowsAsync<ProviderException>(() => time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct)));

        Assert.Equal(expected, error.Message);
        Assert.Equal(status, error.StatusCode);
        Assert.Equal(ProviderErrorKind.HttpStatus, error.Kind);
        Assert.False(error.IsTransient);
        Assert.Equal(1, error.Attempts);
        Assert.Equal(("openai", "target", "gpt-test"), (error.Provider, error.Role, error.Model));
        Assert.Equal(1, server.RequestCount);
        Assert.DoesNotContain(OpenAIKey, error.ToString());
    }

    [Fact(Timeout = 20_000)]
    public async Task Malformed_json_body_is_a_clear_error_and_not_retried()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, """{"id":"chatcmpl-1","choices":[{"message": {"content": "trunc""");
        server.EnqueueJson(200, Wire.OpenAIText("must not be reached"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time);

        var error = await Assert.ThrowsAsync<ProviderException>(() => time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct)));

        Assert.Equal(ProviderErrorKind.MalformedResponse, error.Kind);
        Assert.StartsWith(
            "Provider 'openai' (role 'target', model 'gpt-test'): the response could not be read (malformed JSON or an unexpected shape); not retried: ",
            error.Message);
        Assert.Equal(1, server.RequestCount);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("""{"status":"ok"}""")]
    [InlineData("""{"id":"chatcmpl-1","choices":[]}""")]
    [InlineData("""[1,2,3]""")]
    public async Task Json_of_an_unexpected_shape_is_a_malformed_response(string body)
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, body);
        server.EnqueueJson(200, Wire.OpenAIText("must not be reached"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time);

        var error = await Assert.ThrowsAsync<ProviderException>(() => time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct)));

        Assert.Equal(ProviderErrorKind.MalformedResponse, error.Kind);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Timeout_is_retried_on_the_injected_clock()
    {
        await using var server = await LoopbackServer.StartAsync();
        var firstAborted = new TaskCompletionSource();
        server.Enqueue(async (_, ctx) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted); }
            catch (OperationCanceledException) { firstAborted.TrySetResult(); }
        });
        server.EnqueueJson(200, Wire.OpenAIText("second try"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time, o => o.TimeoutSeconds = 20);

        var call = client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);
        await server.WaitForRequestsAsync(1);
        await time.WaitForPendingTimerAsync(d => d == TimeSpan.FromSeconds(20));
        time.Advance(TimeSpan.FromSeconds(20));
        var response = await time.DriveAsync(call, maxStep: TimeSpan.FromSeconds(10));

        Assert.Equal("second try", response.Text);
        Assert.Equal(2, server.RequestCount);
        await firstAborted.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct); // the timed-out request was really cancelled
    }

    [Fact(Timeout = 20_000)]
    public async Task Timeouts_that_outlast_the_retries_end_in_a_timeout_provider_error()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Fallback = async (_, ctx) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted); } catch (OperationCanceledException) { }
        };
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time, o => { o.TimeoutSeconds = 5; o.MaxRetries = 1; });

        var call = client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);
        var error = await Assert.ThrowsAsync<ProviderException>(() => time.DriveAsync(call, maxStep: TimeSpan.FromSeconds(5)));

        Assert.Equal(ProviderErrorKind.Timeout, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Equal(2, error.Attempts);
        Assert.Equal(
            "Provider 'openai' (role 'target', model 'gpt-test'): the call failed after 2 attempts; the last error: timed out (the call did not complete within 5 s).",
            error.Message);
    }

    [Fact(Timeout = 20_000)]
    public async Task Dropped_connection_is_retried()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Enqueue((_, ctx) =>
        {
            ctx.Abort();
            return Task.CompletedTask;
        });
        server.EnqueueJson(200, Wire.OpenAIText("reconnected"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time);

        var response = await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Equal("reconnected", response.Text);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Circuit_opens_after_consecutive_failures_fails_fast_then_probes_after_the_break()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Fallback = LoopbackServer.Json(500, Wire.OpenAIError("The server had an error", "server_error"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time, o => o.MaxRetries = 10, pipeline: new ChatPipelineOptions
        {
            Resilience = new ResilienceOptions { CircuitBreakerThreshold = 3, CircuitBreakDuration = TimeSpan.FromSeconds(30) },
        });

        var error = await Assert.ThrowsAsync<ProviderUnavailableException>(
            () => time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct), maxStep: TimeSpan.FromSeconds(20)));

        Assert.Equal(3, server.RequestCount);
        Assert.Equal(3, error.ConsecutiveFailures);
        Assert.Equal(ProviderErrorKind.CircuitOpen, error.Kind);
        Assert.Equal(
            "Provider 'openai' (role 'target', model 'gpt-test') is unavailable: 3 consecutive failed attempts, the last one: "
            + "HTTP 500 (InternalServerError): The server had an error. The circuit breaker is open for 30 s; the run must stop with "
            + "an error instead of scoring tasks as failed. Check the provider's status and the endpoint, then resume.",
            error.Message);

        // While open: no request reaches the provider.
        await Assert.ThrowsAsync<ProviderUnavailableException>(() => client.GetResponseAsync(Ask("again"), cancellationToken: Ct));
        Assert.Equal(3, server.RequestCount);

        // After the break, one call probes; the provider is back.
        server.EnqueueJson(200, Wire.OpenAIText("back up"));
        time.Advance(TimeSpan.FromSeconds(30));
        var response = await client.GetResponseAsync(Ask("probe"), cancellationToken: Ct);
        Assert.Equal("back up", response.Text);
        Assert.Equal(4, server.RequestCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Rate_limits_do_not_open_the_circuit_and_end_as_a_rate_limited_error()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Fallback = LoopbackServer.Json(429, Wire.OpenAIError("Rate limit reached"), ("Retry-After", "1"));
        var time = new FakeTimeProvider();
        using var client = OpenAIPipeline(server, time, o => o.MaxRetries = 4, pipeline: new ChatPipelineOptions
        {
            Resilience = new ResilienceOptions { CircuitBreakerThreshold = 2 },
        });

        var error = await Assert.ThrowsAsync<ProviderException>(() => time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct)));

        Assert.IsNotType<ProviderUnavailableException>(error);
        Assert.Equal(ProviderErrorKind.RateLimited, error.Kind);
        Assert.Equal(429, error.StatusCode);
        Assert.Equal(5, server.RequestCount);
        Assert.Equal(5, error.Attempts);
        Assert.Equal(
            "Provider 'openai' (role 'target', model 'gpt-test'): the call failed after 5 attempts; the last error: HTTP 429 (TooManyRequests): "
            + "Rate limit reached. The provider kept rate-limiting; lower concurrency or requests_per_minute for this role.",
            error.Message);
    }

    [Fact(Timeout = 20_000)]
    public async Task Caller_cancellation_is_not_a_provider_error()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Fallback = async (_, ctx) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted); } catch (OperationCanceledException) { }
        };
        using var client = OpenAIPipeline(server, new FakeTimeProvider());
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var call = client.GetResponseAsync(Ask("hi"), cancellationToken: cts.Token);
        await server.WaitForRequestsAsync(1);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Concurrency_limit_caps_calls_in_flight()
    {
        var inner = new GateChatClient();
        using var client = new RateLimitingChatClient(inner, maxConcurrency: 2, timeProvider: new FakeTimeProvider());

        var calls = Enumerable.Range(0, 5).Select(i => client.GetResponseAsync(Ask($"q{i}"), cancellationToken: Ct)).ToList();
        await inner.WaitForStartedAsync(2);
        await Task.Delay(50, Ct);
        Assert.Equal(2, inner.Started);
        Assert.Equal(2, client.InFlight);

        inner.ReleaseAll();
        await Task.WhenAll(calls);
        Assert.Equal(5, inner.Started);
        Assert.Equal(2, inner.MaxInFlight);
    }

    [Fact(Timeout = 20_000)]
    public async Task Requests_per_minute_limit_waits_for_the_window_on_the_injected_clock()
    {
        var inner = new GateChatClient { Open = true };
        var time = new FakeTimeProvider();
        using var client = new RateLimitingChatClient(inner, maxConcurrency: 8, requestsPerMinute: 2, timeProvider: time);

        await client.GetResponseAsync(Ask("1"), cancellationToken: Ct);
        time.Advance(TimeSpan.FromSeconds(10));
        await client.GetResponseAsync(Ask("2"), cancellationToken: Ct);
        var third = client.GetResponseAsync(Ask("3"), cancellationToken: Ct);

        var wait = await time.WaitForPendingTimerAsync(_ => true);
        Assert.Equal(TimeSpan.FromSeconds(50), wait); // until the first call leaves the 60 s window
        Assert.False(third.IsCompleted);
        Assert.Equal(2, inner.Started);
        time.Advance(TimeSpan.FromSeconds(50));
        await third;
        Assert.Equal(3, inner.Started);
    }

    /// <summary>A fake inner client whose calls wait until released.</summary>
    private sealed class GateChatClient : IChatClient
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started, _inFlight, _maxInFlight;

        public bool Open { get; init; }
        public int Started => Volatile.Read(ref _started);
        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public void ReleaseAll() => _gate.TrySetResult();

        public async Task WaitForStartedAsync(int count)
        {
            while (Started < count) await Task.Delay(5, Ct);
        }

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _started);
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while ((seen = Volatile.Read(ref _maxInFlight)) < now && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen) { }
            try
            {
                if (!Open) await _gate.Task.WaitAsync(cancellationToken);
                return new ChatResponse(new ChatMessage(ChatRole.Assistant, "done"));
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
