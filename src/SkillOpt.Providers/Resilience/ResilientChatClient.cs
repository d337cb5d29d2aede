using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Polly;
using Polly.Retry;

namespace SkillOpt.Providers;

/// <summary>
/// Retries transient provider failures and opens a circuit when the provider looks down; the only retry layer of a
/// pipeline (the SDKs' own retries are switched off by <see cref="ChatClientFactory"/>).
/// </summary>
/// <remarks>
/// <para>Retried (up to <see cref="ResilienceOptions.MaxRetries"/> times, exponential backoff from
/// <see cref="ResilienceOptions.BaseDelay"/> with jitter, capped by <see cref="ResilienceOptions.MaxDelay"/>): HTTP 429,
/// 408, 409, 425 and 5xx, <see cref="TimeoutException"/> (from <see cref="TimeoutChatClient"/>) and dropped connections
/// (<see cref="HttpRequestException"/>, <see cref="IOException"/>). A <c>Retry-After</c> header (seconds or an HTTP
/// date) or <c>retry-after-ms</c> replaces the backoff, up to <see cref="ResilienceOptions.MaxRetryAfter"/>.</para>
/// <para>Not retried: other 4xx (400, 401, 403, 404, ...) and malformed response bodies. These, and transient failures
/// that outlast the retries, are thrown as <see cref="ProviderException"/> naming provider, role, model and status.</para>
/// <para>Circuit breaker: after <see cref="ResilienceOptions.CircuitBreakerThreshold"/> failed attempts in a row that
/// look like an outage (5xx, timeouts, connections — not 429, not 4xx), calls throw
/// <see cref="ProviderUnavailableException"/> without reaching the provider for
/// <see cref="ResilienceOptions.CircuitBreakDuration"/>; then one call probes the provider again.</para>
/// <para>Every delay waits on the <see cref="TimeProvider"/> given to the constructor (Polly's retry runs on it).
/// Exceptions that are not provider errors (argument errors, bugs) and cancellation by the caller pass through
/// unchanged. Streaming is served by one non-streaming call returned as updates.</para>
/// </remarks>
public sealed class ResilientChatClient : DelegatingChatClient
{
    private readonly ResilienceOptions _options;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _pipeline;
    private readonly Func<double> _jitter;
    private readonly object _breakerLock = new();
    private int _consecutiveFailures;
    private DateTimeOffset? _openedAt;
    private string _lastOutage = "";

    /// <summary>Wraps <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The client that talks to the provider (usually through <see cref="RateLimitingChatClient"/> and <see cref="TimeoutChatClient"/>).</param>
    /// <param name="context">Provider, role and model named in errors.</param>
    /// <param name="options">Retry and breaker settings; <see langword="null"/> uses the defaults.</param>
    /// <param name="timeProvider">Clock for backoff delays and the breaker; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerClient"/> or <paramref name="context"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count or delay in <paramref name="options"/> is negative.</exception>
    public ResilientChatClient(IChatClient innerClient, ProviderContext context, ResilienceOptions? options = null,
        TimeProvider? timeProvider = null)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(context);
        Context = context;
        _options = options?.Clone() ?? new ResilienceOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.MaxRetries, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(_options.CircuitBreakerThreshold, nameof(options));
        if (_options.BaseDelay < TimeSpan.Zero || _options.MaxDelay < TimeSpan.Zero || _options.MaxRetryAfter < TimeSpan.Zero
            || _options.CircuitBreakDuration < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), "Delays must not be negative.");
        _time = timeProvider ?? TimeProvider.System;
        _jitter = _options.JitterSource ?? Random.Shared.NextDouble;

        var builder = new ResiliencePipelineBuilder { TimeProvider = _time };
        if (_options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = _options.MaxRetries,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is AttemptFailedException),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    args.Outcome.Exception is AttemptFailedException failed ? NextDelay(failed.Failure, args.AttemptNumber) : null),
                UseJitter = false,
                BackoffType = DelayBackoffType.Exponential,
                Delay = _options.BaseDelay,
                MaxDelay = null,
            });
        }
        _pipeline = builder.Build();
    }

    /// <summary>Provider, role and model named in errors.</summary>
    public ProviderContext Context { get; }

    /// <summary>Failed attempts in a row that counted toward the circuit breaker.</summary>
    public int ConsecutiveFailures
    {
        get { lock (_breakerLock) return _consecutiveFailures; }
    }

    /// <summary>Whether the circuit is open now (calls fail fast with <see cref="ProviderUnavailableException"/>).</summary>
    public bool IsCircuitOpen
    {
        get { lock (_breakerLock) return IsOpenLocked(); }
    }

    /// <summary>Removes secrets from messages; set by <see cref="ChatClientFactory"/>.</summary>
    internal SecretRedactor Redactor { get; set; } = SecretRedactor.None;

    /// <inheritdoc />
    /// <exception cref="ProviderException">A non-retryable error, or transient errors that outlasted the retries.</exception>
    /// <exception cref="ProviderUnavailableException">The circuit breaker is open.</exception>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var call = new CallState(this, list, options);
        try
        {
            return await _pipeline.ExecuteAsync(static (state, token) => state.Client.AttemptAsync(state, token), call, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (AttemptFailedException failed)
        {
            throw CreateException(failed.Failure, call.Attempts, failed.InnerException, exhausted: true);
        }
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
            yield return update;
    }

    private async ValueTask<ChatResponse> AttemptAsync(CallState call, CancellationToken cancellationToken)
    {
        call.Attempts++;
        ThrowIfCircuitOpen();
        var capture = new HttpResponseCapture();
        HttpResponseCapture.Current.Value = capture;
        try
        {
            var response = await InnerClient.GetResponseAsync(call.Messages, call.Options, cancellationToken).ConfigureAwait(false);
            RecordSuccess();
            return response;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not ProviderException and not RecordingMissException)
        {
            var failure = ProviderErrorClassifier.Classify(ex, capture, _time.GetUtcNow());
            if (failure is null) throw;
            if (failure.CountsAsOutage && RecordOutage(failure, out var failures))
                throw CreateUnavailable(failures, failure, ex);
            if (!failure.IsTransient)
                throw CreateException(failure, call.Attempts, ex, exhausted: false);
            throw new AttemptFailedException(failure, ex);
        }
    }

    private TimeSpan NextDelay(ProviderFailure failure, int retryIndex)
    {
        if (failure.RetryAfter is { } retryAfter)
            return retryAfter <= _options.MaxRetryAfter ? retryAfter : _options.MaxRetryAfter;
        var exponential = _options.BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retryIndex, 30));
        var capped = Math.Min(exponential, _options.MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + 0.5 * Math.Clamp(_jitter(), 0, 1)));
    }

    private bool IsOpenLocked() =>
        _options.CircuitBreakerThreshold > 0 && _openedAt is { } opened && _time.GetUtcNow() - opened < _options.CircuitBreakDuration;

    private void ThrowIfCircuitOpen()
    {
        int failures;
        string last;
        lock (_breakerLock)
        {
            if (!IsOpenLocked()) return;
            failures = _consecutiveFailures;
            last = _lastOutage;
        }
        throw new ProviderUnavailableException(UnavailableMessage(failures, last), Context, failures, null);
    }

    private void RecordSuccess()
    {
        lock (_breakerLock)
        {
            _consecutiveFailures = 0;
            _openedAt = null;
        }
    }

    /// <summary>Counts an outage-like failure; returns <see langword="true"/> when it opens (or re-opens) the circuit.</summary>
    private bool RecordOutage(ProviderFailure failure, out int failures)
    {
        lock (_breakerLock)
        {
            failures = ++_consecutiveFailures;
            _lastOutage = Describe(failure);
            if (_options.CircuitBreakerThreshold == 0 || failures < _options.CircuitBreakerThreshold) return false;
            _openedAt = _time.GetUtcNow();
            return true;
        }
    }

    private ProviderUnavailableException CreateUnavailable(int failures, ProviderFailure failure, Exception cause) =>
        new(UnavailableMessage(failures, Describe(failure)), Context, failures, failure.StatusCode, SafeInner(cause));

    private string UnavailableMessage(int failures, string last) =>
        $"{Prefix()} is unavailable: {failures} consecutive failed attempts, the last one: {last}. "
        + $"The circuit breaker is open for {Seconds(_options.CircuitBreakDuration)} s; the run must stop with an error "
        + "instead of scoring tasks as failed. Check the provider's status and the endpoint, then resume.";

    private ProviderException CreateException(ProviderFailure failure, int attempts, Exception? cause, bool exhausted)
    {
        string message;
        if (exhausted)
        {
            message = $"{Prefix()}: the call failed after {attempts} attempt{(attempts == 1 ? "" : "s")}; the last error: {Describe(failure)}.";
        }
        else if (failure.Kind == ProviderErrorKind.MalformedResponse)
        {
            message = $"{Prefix()}: the response could not be read (malformed JSON or an unexpected shape); not retried: {Redactor.Redact(failure.Detail)}";
        }
        else
        {
            message = $"{Prefix()}: {Describe(failure)}; not retried.";
        }
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

    private sealed class CallState(ResilientChatClient client, IList<ChatMessage> messages, ChatOptions? options)
    {
        public ResilientChatClient Client { get; } = client;
        public IList<ChatMessage> Messages { get; } = messages;
        public ChatOptions? Options { get; } = options;
        public int Attempts { get; set; }
    }

    /// <summary>A transient failure of one attempt; Polly retries it, and it is translated once the retries run out.</summary>
    private sealed class AttemptFailedException(ProviderFailure failure, Exception inner)
        : Exception("A provider attempt failed: " + failure.Kind, inner)
    {
        public ProviderFailure Failure { get; } = failure;
    }
}
