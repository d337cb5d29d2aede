// Longer than 400 lines: one fixture of loopback-server cases for retry, Retry-After, breaker, timeout and rate limits.
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using SkillOpt.Providers.Tests.Infrastructure;
using static SkillOpt.Providers.Tests.Infrastructure.Pipelines;

namespace SkillOpt.Providers.Tests;

/// <summary>The Polly.Core pipeline of <see cref="ResilientChatClient"/> over loopback HTTP, on a fake clock.</summary>
public sealed class ResilienceTests
{
    private static string Endpoint(LoopbackServer server) => new Uri(server.BaseAddress, "v1").ToString();

    /// <summary>An OpenAI pipeline whose breaker opens after <paramref name="threshold"/> failures and breaks for 30 s.</summary>
    private static IChatClient BreakerPipeline(LoopbackServer server, FakeTimeProvider time, int threshold, int retries) =>
        OpenAIPipeline(server, time, o => o.MaxRetries = retries, pipeline: new ChatPipelineOptions
        {
            Resilience = new ResilienceOptions { CircuitBreakerThreshold = threshold, CircuitBreakDuration = TimeSpan.FromSeconds(30) },
        });

    private static string Prefix(LoopbackServer server) => $"Provider 'openai' (role 'target', model 'gpt-test', endpoint {Endpoint(server)})";

    [Theory(Timeout = 60_000)]
    [InlineData("Retry-After", "7", "7")]
    [InlineData("Retry-After", "0.5", "0.5")]
    [InlineData("retry-after-ms", "2500", "2.5")]
    public async Task Rate_limit_waits_the_retry_after_delay_on_the_injected_clock(string header, string value, string seconds)
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.EnqueueJson(429, Wire.OpenAIError("Rate limit reached for requests", "requests"), (header, value));
        server.EnqueueJson(200, Wire.OpenAIText("after the wait"));
        var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        using var client = OpenAIPipeline(server, time, pipeline: new ChatPipelineOptions { LoggerFactory = loggers });

        var response = await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct), TimeSpan.FromMilliseconds(50));

        Assert.Equal("after the wait", response.Text);
        Assert.Equal(2, server.RequestCount);
        // The delay the retry took is the provider's, not the backoff; and it passed on the injected clock.
        Assert.Contains(logs.Lines, l => l.Contains($"retrying in {seconds} s", StringComparison.Ordinal));
        Assert.True(server.Requests[1].ReceivedAt - server.Requests[0].ReceivedAt >= TimeSpan.FromSeconds(double.Parse(seconds, CultureInfo.InvariantCulture)));
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_after_as_http_date_is_measured_on_the_injected_clock()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        var date = (time.GetUtcNow() + TimeSpan.FromSeconds(42)).ToString("r");
        server.EnqueueJson(429, Wire.OpenAIError("slow down"), ("Retry-After", date));
        server.EnqueueJson(200, Wire.OpenAIText("ok"));
        var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        using var client = OpenAIPipeline(server, time, pipeline: new ChatPipelineOptions { LoggerFactory = loggers });

        var response = await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Equal("ok", response.Text);
        // The date is 42 s after the fake clock's "now" when the 429 arrived (the clock may have moved a little before it did).
        var logged = Assert.Single(logs.Lines, l => l.Contains("retrying in ", StringComparison.Ordinal));
        var delay = double.Parse(logged[(logged.IndexOf("retrying in ", StringComparison.Ordinal) + 12)..].Split(' ')[0], CultureInfo.InvariantCulture);
        Assert.InRange(delay, 30, 42);
        Assert.True(server.Requests[1].ReceivedAt - server.Requests[0].ReceivedAt >= TimeSpan.FromSeconds(delay));
    }

    [Fact(Timeout = 60_000)]
    public async Task Server_errors_are_retried_with_jittered_exponential_backoff_then_succeed()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.EnqueueJson(500, Wire.OpenAIError("The server had an error", "server_error"));
        server.EnqueueJson(503, Wire.OpenAIError("Overloaded", "server_error"));
        server.EnqueueJson(502, Wire.OpenAIError("Bad gateway", "server_error"));
        server.EnqueueJson(200, Wire.OpenAIText("recovered"));
        var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        using var client = OpenAIPipeline(server, time, o => o.MaxRetries = 5, pipeline: new ChatPipelineOptions
        {
            Resilience = new ResilienceOptions { BaseDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(20) },
            LoggerFactory = loggers,
        });

        var response = await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Equal("recovered", response.Text);
        Assert.Equal(4, server.RequestCount);
        var delays = logs.Lines.Where(l => l.Contains("retrying in ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l.IndexOf("retrying in ", StringComparison.Ordinal) + 12)..].Split(' ')[0], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(3, delays.Count);
        Assert.All(delays, d => Assert.InRange(d, 0.001, 20)); // jittered exponential backoff, capped by MaxDelay
        var gaps = server.Requests.Zip(server.Requests.Skip(1), (a, b) => (b.ReceivedAt - a.ReceivedAt).TotalSeconds).ToList();
        for (var i = 0; i < 3; i++)
            Assert.True(gaps[i] >= delays[i], $"retry {i + 1} came {gaps[i]} s after the failure, before its {delays[i]} s backoff");
    }

    [Theory(Timeout = 60_000)]
    [InlineData(400, "Invalid value for 'temperature'",
        "{0}: HTTP 400 (BadRequest): Invalid value for 'temperature'; not retried. The provider rejected the request; check the model's supported options (temperature, tools, response format, max tokens).")]
    [InlineData(401, "Incorrect API key provided",
        "{0}: HTTP 401 (Unauthorized): Incorrect API key provided; not retried. Check the API key in the environment variable OPENAI_API_KEY.")]
    [InlineData(403, "Project does not have access",
        "{0}: HTTP 403 (Forbidden): Project does not have access; not retried. The key is valid but lacks access to this model or endpoint.")]
    [InlineData(404, "The model `gpt-test` does not exist",
        "{0}: HTTP 404 (NotFound): The model `gpt-test` does not exist; not retried. Check the model id (for Azure OpenAI: the deployment name) and the endpoint.")]
    public async Task Client_errors_are_not_retried_and_say_what_to_fix(int status, string serverMessage, string expected)
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(status, Wire.OpenAIError(serverMessage));
        server.EnqueueJson(200, Wire.OpenAIText("must not be reached"));
        using var client = OpenAIPipeline(server, Clock.Fake());

        var error = await Assert.ThrowsAsync<ProviderException>(() => client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Equal(string.Format(expected, Prefix(server)), error.Message);
        Assert.Equal(status, error.StatusCode);
        Assert.Equal(ProviderErrorKind.HttpStatus, error.Kind);
        Assert.False(error.IsTransient);
        Assert.Equal(1, error.Attempts);
        Assert.Equal(("openai", "target", "gpt-test"), (error.Provider, error.Role, error.Model));
        Assert.Equal(1, server.RequestCount);
        Assert.DoesNotContain(OpenAIKey, error.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Malformed_json_body_is_a_clear_error_and_not_retried()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, """{"id":"chatcmpl-1","choices":[{"message": {"content": "trunc""");
        server.EnqueueJson(200, Wire.OpenAIText("must not be reached"));
        using var client = OpenAIPipeline(server, Clock.Fake());

        var error = await Assert.ThrowsAsync<ProviderException>(() => client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Equal(ProviderErrorKind.MalformedResponse, error.Kind);
        Assert.StartsWith(
            $"{Prefix(server)}: the response could not be read (malformed JSON or an unexpected shape); not retried: ",
            error.Message);
        Assert.Equal(1, server.RequestCount);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("""{"status":"ok"}""")]
    [InlineData("""{"id":"chatcmpl-1","choices":[]}""")]
    [InlineData("""[1,2,3]""")]
    public async Task Json_of_an_unexpected_shape_is_a_malformed_response(string body)
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, body);
        server.EnqueueJson(200, Wire.OpenAIText("must not be reached"));
        using var client = OpenAIPipeline(server, Clock.Fake());

        var error = await Assert.ThrowsAsync<ProviderException>(() => client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Equal(ProviderErrorKind.MalformedResponse, error.Kind);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task Timeout_cuts_a_stalled_response_and_the_retry_succeeds()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        var firstAborted = new TaskCompletionSource();
        server.Enqueue(async (_, ctx) =>
        {
            // Headers sent, body never finished: a stalled response.
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{\"id\":\"chatcmpl-stall\",", ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            try { await Task.Delay(Timeout.InfiniteTimeSpan, ctx.RequestAborted); }
            catch (OperationCanceledException) { firstAborted.TrySetResult(); }
        });
        server.EnqueueJson(200, Wire.OpenAIText("second try"));
        using var client = OpenAIPipeline(server, time, o => o.TimeoutSeconds = 20);

        var response = await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct), TimeSpan.FromSeconds(1));

        Assert.Equal("second try", response.Text);
        Assert.Equal(2, server.RequestCount);
        Assert.True(server.Requests[1].ReceivedAt - server.Requests[0].ReceivedAt >= TimeSpan.FromSeconds(20)); // cut by the timeout, not earlier
        await firstAborted.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct); // the timed-out request was really cancelled
    }

    [Fact(Timeout = 60_000)]
    public async Task Timeouts_that_outlast_the_retries_end_in_a_timeout_provider_error()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.Fallback = async (_, ctx) =>
        {
            try { await Task.Delay(Timeout.InfiniteTimeSpan, ctx.RequestAborted); } catch (OperationCanceledException) { }
        };
        using var client = OpenAIPipeline(server, time, o => { o.TimeoutSeconds = 5; o.MaxRetries = 1; });

        var error = await Assert.ThrowsAsync<ProviderException>(
            () => time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct), TimeSpan.FromSeconds(1)));

        Assert.Equal(ProviderErrorKind.Timeout, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Equal(2, error.Attempts);
        Assert.Equal(
            $"{Prefix(server)}: the call failed after 2 attempts; the last error: timed out (the call did not complete within 5 s).",
            error.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task Dropped_connection_is_retried()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.Enqueue((_, ctx) =>
        {
            ctx.Abort();
            return Task.CompletedTask;
        });
        server.EnqueueJson(200, Wire.OpenAIText("reconnected"));
        using var client = OpenAIPipeline(server, time);

        var response = await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.Equal("reconnected", response.Text);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task Circuit_opens_after_failures_in_a_row_fails_fast_then_a_probe_closes_it()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.Fallback = LoopbackServer.Json(500, Wire.OpenAIError("The server had an error", "server_error"));
        using var client = BreakerPipeline(server, time, threshold: 3, retries: 10);

        var error = await Assert.ThrowsAsync<ProviderUnavailableException>(
            () => time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct)));

        Assert.Equal(3, server.RequestCount);
        Assert.Equal(3, error.ConsecutiveFailures);
        Assert.Equal(ProviderErrorKind.CircuitOpen, error.Kind);
        Assert.Equal(500, error.StatusCode);
        Assert.Equal(
            $"{Prefix(server)} is unavailable: the circuit breaker opened after 3 or more failed attempts in a row, the last one: "
            + "HTTP 500 (InternalServerError): The server had an error. It rejects calls for 30 s, then lets one call at a time probe "
            + "the provider; the run must stop with an error instead of scoring tasks as failed. Check the provider's status and the "
            + "endpoint, then resume.",
            error.Message);
        Assert.DoesNotContain(OpenAIKey, error.ToString());

        // While open: no request reaches the provider.
        await Assert.ThrowsAsync<ProviderUnavailableException>(() => client.GetResponseAsync(Ask("again"), cancellationToken: Ct));
        Assert.Equal(3, server.RequestCount);

        // After the break, one call probes; the provider is back, and the circuit closes.
        server.EnqueueJson(200, Wire.OpenAIText("back up"));
        server.EnqueueJson(200, Wire.OpenAIText("still up"));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("back up", (await client.GetResponseAsync(Ask("probe"), cancellationToken: Ct)).Text);
        Assert.Equal("still up", (await client.GetResponseAsync(Ask("next"), cancellationToken: Ct)).Text);
        Assert.Equal(5, server.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task After_a_break_one_probe_at_a_time_goes_through_under_concurrency()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.Fallback = LoopbackServer.Json(503, Wire.OpenAIError("Overloaded", "server_error"));
        using var client = BreakerPipeline(server, time, threshold: 2, retries: 0);
        for (var i = 0; i < 2; i++)
            await Assert.ThrowsAsync<ProviderException>(() => client.GetResponseAsync(Ask($"fail {i}"), cancellationToken: Ct));
        await Assert.ThrowsAsync<ProviderUnavailableException>(() => client.GetResponseAsync(Ask("open"), cancellationToken: Ct));
        Assert.Equal(2, server.RequestCount);

        // The provider is back but slow: the probe is held until released.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Fallback = async (request, ctx) =>
        {
            await release.Task.WaitAsync(ctx.RequestAborted);
            await LoopbackServer.Json(200, Wire.OpenAIText("probe ok"))(request, ctx);
        };
        time.Advance(TimeSpan.FromSeconds(30));
        var calls = Enumerable.Range(0, 8).Select(i => client.GetResponseAsync(Ask($"concurrent {i}"), cancellationToken: Ct)).ToList();
        await server.WaitForRequestsAsync(3);
        var rejected = calls.Where(c => c.IsCompleted).ToList();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (rejected.Count < 7 && waited.Elapsed < TimeSpan.FromSeconds(30)) // rejections are immediate; the bound is for a stuck run
        {
            await Task.Delay(10, Ct);
            rejected = calls.Where(c => c.IsCompleted).ToList();
        }

        Assert.Equal(7, rejected.Count);
        foreach (var call in rejected)
            Assert.IsType<ProviderUnavailableException>(await Record.ExceptionAsync(() => call));
        Assert.Equal(3, server.RequestCount); // exactly one probe reached the provider
        release.SetResult();
        var probe = Assert.Single(calls, c => !rejected.Contains(c));
        Assert.Equal("probe ok", (await probe).Text);
        Assert.Equal("probe ok", (await client.GetResponseAsync(Ask("closed again"), cancellationToken: Ct)).Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Rate_limits_do_not_open_the_circuit_and_end_as_a_rate_limited_error()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.Fallback = LoopbackServer.Json(429, Wire.OpenAIError("Rate limit reached"), ("Retry-After", "1"));
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
            $"{Prefix(server)}: the call failed after 5 attempts; the last error: HTTP 429 (TooManyRequests): "
            + "Rate limit reached. The provider kept rate-limiting; lower concurrency or requests_per_minute for this role.",
            error.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task Errors_name_the_endpoint_but_never_its_credentials()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(404, Wire.OpenAIError("no such route"));
        var endpoint = new UriBuilder(new Uri(server.BaseAddress, "v1")) { UserName = "user", Password = "url-secret-123", Query = "key=q-secret-456" };
        using var client = Factory(Clock.Fake(), new Dictionary<string, string>()).Create("target",
            new() { Provider = "openai-compatible", Model = "llama", Endpoint = endpoint.Uri.ToString() });

        var error = await Assert.ThrowsAsync<ProviderException>(() => client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        Assert.StartsWith($"Provider 'openai-compatible' (role 'target', model 'llama', endpoint {Endpoint(server)}): HTTP 404", error.Message);
        Assert.DoesNotContain("url-secret-123", error.ToString());
        Assert.DoesNotContain("q-secret-456", error.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Caller_cancellation_is_not_a_provider_error()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Fallback = async (_, ctx) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted); } catch (OperationCanceledException) { }
        };
        using var client = OpenAIPipeline(server, Clock.Fake());
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var call = client.GetResponseAsync(Ask("hi"), cancellationToken: cts.Token);
        await server.WaitForRequestsAsync(1);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task Concurrency_limit_caps_calls_in_flight()
    {
        var inner = new GateChatClient();
        using var client = new ResilientChatClient(inner, Context, new ResilienceOptions { MaxConcurrency = 2 }, Clock.Fake());

        var calls = Enumerable.Range(0, 5).Select(i => client.GetResponseAsync(Ask($"q{i}"), cancellationToken: Ct)).ToList();
        await inner.WaitForStartedAsync(2);
        await Task.Delay(50, Ct);
        Assert.Equal(2, inner.Started);

        inner.ReleaseAll();
        await Task.WhenAll(calls);
        Assert.Equal(5, inner.Started);
        Assert.Equal(2, inner.MaxInFlight);
    }

    [Fact(Timeout = 60_000)]
    public async Task Requests_per_minute_limit_holds_calls_until_the_window_slides()
    {
        // System.Threading.RateLimiting's window runs on the system clock: a one-second window stands in for the minute.
        // Only lower bounds on real time are asserted (a slow machine makes the waits longer, never shorter).
        var inner = new GateChatClient { Open = true };
        var window = TimeSpan.FromSeconds(1);
        using var client = new ResilientChatClient(inner, Context,
            new ResilienceOptions { RequestsPerMinute = 2, RequestsWindow = window }, Clock.Fake());

        var started = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => client.GetResponseAsync(Ask($"q{i}"), cancellationToken: Ct)));

        Assert.Equal(6, inner.Started);
        // Six calls at two per window: the last two start only after the window slid twice past the first ones.
        Assert.True(started.Elapsed >= 2 * window - window / 12, $"six calls at 2 per {window.TotalSeconds} s took only {started.Elapsed}");
    }

    private static readonly ProviderContext Context = new("openai", "target", "gpt-test");

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
