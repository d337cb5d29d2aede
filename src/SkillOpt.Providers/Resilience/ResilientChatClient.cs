using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace SkillOpt.Providers;

/// <summary>
/// Runs every call through one Polly.Core pipeline — retry, circuit breaker, rate limits, per-attempt timeout, outermost
/// first — and turns what fails into a <see cref="ProviderException"/> that names provider, role, model, endpoint and
/// status. The only retry layer of a pipeline (the SDKs' own retries are switched off by <see cref="ChatClientFactory"/>).
/// </summary>
/// <remarks>
/// <para>Retry (up to <see cref="ResilienceOptions.MaxRetries"/>): HTTP 429, 408, 409, 425 and 5xx, timed-out attempts
/// and dropped connections, with Polly's exponential backoff and jitter from <see cref="ResilienceOptions.BaseDelay"/>,
/// capped by <see cref="ResilienceOptions.MaxDelay"/>. A <c>Retry-After</c> header (seconds or an HTTP date) or
/// <c>retry-after-ms</c> replaces the backoff, up to <see cref="ResilienceOptions.MaxRetryAfter"/>. Not retried: other
/// 4xx (400, 401, 403, 404, ...) and malformed response bodies.</para>
/// <para>Circuit breaker: when <see cref="ResilienceOptions.CircuitBreakerThreshold"/> or more attempts within
/// <see cref="ResilienceOptions.CircuitSamplingDuration"/> all failed like an outage (5xx, timeouts, connections — not 429,
/// not 4xx), the circuit opens: calls throw <see cref="ProviderUnavailableException"/> without reaching the provider for
/// <see cref="ResilienceOptions.CircuitBreakDuration"/>; then one call at a time probes the provider while concurrent calls
/// are rejected, and a successful probe closes the circuit.</para>
/// <para>Rate limits: at most <see cref="ResilienceOptions.MaxConcurrency"/> attempts in flight and at most
/// <see cref="ResilienceOptions.RequestsPerMinute"/> started per sliding minute (System.Threading.RateLimiting through
/// Polly.RateLimiting); every attempt, retries included, takes a permit, and callers over a limit wait.</para>
/// <para>Backoff delays, timeouts and the breaker run on the <see cref="TimeProvider"/> given to the constructor; the
/// requests-per-minute window runs on the system clock (System.Threading.RateLimiting's limiters take no clock). Exceptions that
/// are not provider errors (argument errors, bugs, a missing recording) and cancellation by the caller pass through
/// unchanged. Streaming is served by one non-streaming call returned as updates.</para>
/// </remarks>
internal sealed class ResilientChatClient : DelegatingChatClient
{
    private readonly ResilienceOptions _options;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline<ChatResponse> _pipeline;
    private readonly RateLimiter[] _limiters;
    private readonly ILogger _logger;
    private ProviderFailure? _lastOutage;

    /// <summary>Wraps <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The client that talks to the provider.</param>
    /// <param name="context">Provider, role, model and endpoint named in errors.</param>
    /// <param name="options">Strategy settings; <see langword="null"/> uses the defaults.</param>
    /// <param name="timeProvider">Clock for backoff, timeouts and the breaker; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Receives a warning for each retry and each opening of the circuit; <see langword="null"/> logs nothing.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerClient"/> or <paramref name="context"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count or duration in <paramref name="options"/> is out of range
    /// (negative counts or delays, a breaker threshold of 1, a concurrency or requests-per-minute below 1, a non-positive timeout).</exception>
    public ResilientChatClient(IChatClient innerClient, ProviderContext context, ResilienceOptions? options = null,
        TimeProvider? timeProvider = null, ILogger? logger = null)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(context);
        Context = context;
        _options = options?.Clone() ?? new ResilienceOptions();
        Validate(_options);
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;

        var builder = new ResiliencePipelineBuilder<ChatResponse> { TimeProvider = _time };
        if (_options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<ChatResponse>
            {
                MaxRetryAttempts = _options.MaxRetries,
                ShouldHandle = static args => ValueTask.FromResult(FailureOf(args.Outcome.Exception) is { IsTransient: true }),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.BaseDelay,
                MaxDelay = _options.MaxDelay,
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(FailureOf(args.Outcome.Exception))),
                OnRetry = args =>
                {
                    if (FailureOf(args.Outcome.Exception) is { } failure)
                        _logger.LogWarning("{Provider}: attempt {Attempt} failed ({Failure}); retrying in {DelaySeconds} s.",
                            Context, args.AttemptNumber + 1, Describe(failure), Seconds(args.RetryDelay));
                    return default;
                },
            });
        }
        if (_options.CircuitBreakerThreshold > 0)
        {
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<ChatResponse>
            {
                FailureRatio = 1.0,
                MinimumThroughput = _options.CircuitBreakerThreshold,
                SamplingDuration = _options.CircuitSamplingDuration,
                BreakDuration = _options.CircuitBreakDuration,
                ShouldHandle = static args => ValueTask.FromResult(FailureOf(args.Outcome.Exception) is { CountsAsOutage: true }),
                OnOpened = args =>
                {
                    var failure = FailureOf(args.Outcome.Exception);
                    Volatile.Write(ref _lastOutage, failure);
                    _logger.LogError("{Provider}: the circuit breaker opened for {BreakSeconds} s after {Threshold} or more failed attempts in a row; the last: {Failure}.",
                        Context, Seconds(args.BreakDuration), _options.CircuitBreakerThreshold, failure is null ? "?" : Describe(failure));
                    return default;
                },
            });
        }

        var concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = _options.MaxConcurrency,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        if (_options.RequestsPerMinute is { } perMinute)
        {
            // The window slides on System.Threading.RateLimiting's own timer (the system clock): its replenishing limiters
            // take no TimeProvider.
            var window = new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
            {
                PermitLimit = perMinute,
                Window = _options.RequestsWindow,
                SegmentsPerWindow = 12,
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            });
            _limiters = [concurrency, window, RateLimiter.CreateChained(concurrency, window)];
        }
        else
        {
            _limiters = [concurrency];
        }
        builder.AddRateLimiter(_limiters[^1]);
        builder.AddTimeout(new TimeoutStrategyOptions { TimeoutGenerator = _ => ValueTask.FromResult(_options.Timeout) });
        _pipeline = builder.Build();
    }

    /// <summary>Provider, role, model and endpoint named in errors.</summary>
    public ProviderContext Context { get; }

    /// <summary>Removes secrets from messages; set by <see cref="ChatClientFactory"/>.</summary>
    internal SecretRedactor Redactor { get; set; } = SecretRedactor.None;

    /// <inheritdoc />
    /// <exception cref="ProviderException">A non-retryable error, or transient errors that outlasted the retries.</exception>
    /// <exception cref="ProviderUnavailableException">The circuit breaker is open, or a probe is already under way.</exception>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var call = new CallState(this, messages as IList<ChatMessage> ?? messages.ToList(), options);
        try
        {
            return await _pipeline.ExecuteAsync(static (state, token) => state.Client.AttemptAsync(state, token), call, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (FailureOf(ex) is { } failure && !cancellationToken.IsCancellationRequested)
        {
            throw CreateException(failure, call.Attempts, ex.InnerException, exhausted: true);
        }
        catch (BrokenCircuitException broken) when (!cancellationToken.IsCancellationRequested)
        {
            var last = Volatile.Read(ref _lastOutage);
            var cause = broken.InnerException is AttemptFailedException failed ? failed.InnerException : broken.InnerException;
            throw new ProviderUnavailableException(UnavailableMessage(last), Context, _options.CircuitBreakerThreshold, last?.StatusCode,
                SafeInner(cause));
        }
    }

    /// <inheritdoc />
    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        SingleCallStreaming.StreamAsync(token => GetResponseAsync(messages, options, token), cancellationToken);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var limiter in _limiters) limiter.Dispose();
        }
        base.Dispose(disposing);
    }

    private async ValueTask<ChatResponse> AttemptAsync(CallState call, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref call.Attempts);
        var capture = new HttpResponseCapture();
        HttpResponseCapture.Current.Value = capture;
        try
        {
            return await InnerClient.GetResponseAsync(call.Messages, call.Options, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // the caller's cancellation, or the timeout strategy's (Polly reports that one as a timeout)
        }
        catch (Exception ex) when (ex is not ProviderException and not RecordingMissException)
        {
            var failure = ProviderErrorClassifier.Classify(ex, capture, _time.GetUtcNow());
            if (failure is null) throw;
            if (!failure.IsTransient) throw CreateException(failure, call.Attempts, ex, exhausted: false);
            throw new AttemptFailedException(failure, ex);
        }
    }

    /// <summary>The classified failure behind an attempt's exception (a timed-out attempt is one too); otherwise <see langword="null"/>.</summary>
    private static ProviderFailure? FailureOf(Exception? exception) => exception switch
    {
        AttemptFailedException failed => failed.Failure,
        TimeoutRejectedException timeout => new ProviderFailure(ProviderErrorKind.Timeout, null, true, true, null,
            $"the call did not complete within {Seconds(timeout.Timeout)} s"),
        _ => null,
    };

    private TimeSpan? RetryAfter(ProviderFailure? failure) =>
        failure?.RetryAfter is { } retryAfter ? (retryAfter <= _options.MaxRetryAfter ? retryAfter : _options.MaxRetryAfter) : null;

    private string UnavailableMessage(ProviderFailure? last) =>
        $"{Prefix()} is unavailable: the circuit breaker opened after {_options.CircuitBreakerThreshold} or more failed attempts in a row"
        + (last is null ? "" : $", the last one: {Describe(last)}")
        + $". It rejects calls for {Seconds(_options.CircuitBreakDuration)} s, then lets one call at a time probe the provider; "
        + "the run must stop with an error instead of scoring tasks as failed. Check the provider's status and the endpoint, then resume.";

    private ProviderException CreateException(ProviderFailure failure, int attempts, Exception? cause, bool exhausted)
    {
        string message;
        if (exhausted)
            message = $"{Prefix()}: the call failed after {attempts} attempt{(attempts == 1 ? "" : "s")}; the last error: {Describe(failure)}.";
        else if (failure.Kind == ProviderErrorKind.MalformedResponse)
            message = $"{Prefix()}: the response could not be read (malformed JSON or an unexpected shape); not retried: {Redactor.Redact(failure.Detail)}";
        else
            message = $"{Prefix()}: {Describe(failure)}; not retried.";
        var hint = Hint(failure.StatusCode);
        if (hint.Length > 0) message += " " + hint;
        return new ProviderException(message, Context, failure.Kind, failure.StatusCode, failure.IsTransient, attempts, SafeInner(cause));
    }

    private string Describe(ProviderFailure failure)
    {
        var detail = Redactor.Redact(failure.Detail);
        return failure.Kind switch
        {
            ProviderErrorKind.HttpStatus or ProviderErrorKind.RateLimited when failure.StatusCode is { } status =>
                $"{ProviderException.DescribeStatus(status)}: {detail}",
            ProviderErrorKind.Timeout => $"timed out ({detail})",
            ProviderErrorKind.Connection => $"connection failed ({detail})",
            ProviderErrorKind.MalformedResponse => $"malformed response ({detail})",
            _ => detail,
        };
    }

    private string Hint(int? status) => status switch
    {
        401 => Context.ApiKeyEnv is { Length: > 0 } env
            ? $"Check the API key in the environment variable {env}."
            : "Check the API key (the role's api_key_env names the environment variable that holds it).",
        403 => "The key is valid but lacks access to this model or endpoint.",
        404 => "Check the model id (for Azure OpenAI: the deployment name) and the endpoint.",
        400 or 422 => "The provider rejected the request; check the model's supported options (temperature, tools, response format, max tokens).",
        413 => "The request is too large for the model.",
        429 => "The provider kept rate-limiting; lower concurrency or requests_per_minute for this role.",
        _ => "",
    };

    private string Prefix()
    {
        var text = Context.ToString();
        return char.ToUpperInvariant(text[0]) + text[1..];
    }

    private Exception? SafeInner(Exception? cause) => cause is not null && !Redactor.Leaks(cause) ? cause : null;

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static void Validate(ResilienceOptions o)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(o.MaxRetries, "options.MaxRetries");
        ArgumentOutOfRangeException.ThrowIfNegative(o.CircuitBreakerThreshold, "options.CircuitBreakerThreshold");
        if (o.CircuitBreakerThreshold == 1)
            throw new ArgumentOutOfRangeException("options.CircuitBreakerThreshold", 1, "The circuit breaker needs at least 2 attempts (or 0 to disable it).");
        ArgumentOutOfRangeException.ThrowIfLessThan(o.MaxConcurrency, 1, "options.MaxConcurrency");
        if (o.RequestsPerMinute is < 1)
            throw new ArgumentOutOfRangeException("options.RequestsPerMinute", o.RequestsPerMinute, "requests_per_minute must be at least 1.");
        if (o.BaseDelay < TimeSpan.Zero || o.MaxDelay < TimeSpan.Zero || o.MaxRetryAfter < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("options", "Delays must not be negative.");
        if (o.CircuitBreakerThreshold > 0 && (o.CircuitBreakDuration < TimeSpan.FromSeconds(0.5) || o.CircuitSamplingDuration < TimeSpan.FromSeconds(0.5)))
            throw new ArgumentOutOfRangeException("options", "The circuit breaker's break and sampling durations must be at least 0.5 s.");
        if (o.Timeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("options.Timeout", o.Timeout, "The timeout must be positive.");
    }

    private sealed class CallState(ResilientChatClient client, IList<ChatMessage> messages, ChatOptions? options)
    {
        public ResilientChatClient Client { get; } = client;
        public IList<ChatMessage> Messages { get; } = messages;
        public ChatOptions? Options { get; } = options;
        public int Attempts;
    }

    /// <summary>A transient failure of one attempt; Polly retries it, and it is translated once the retries run out.</summary>
    private sealed class AttemptFailedException(ProviderFailure failure, Exception inner)
        : Exception("A provider attempt failed: " + failure.Kind, inner)
    {
        public ProviderFailure Failure { get; } = failure;
    }
}
