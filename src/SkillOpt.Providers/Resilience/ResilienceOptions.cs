namespace SkillOpt.Providers;

/// <summary>
/// Settings of the Polly.Core strategies a <see cref="ResilientChatClient"/> runs each call through: retry, circuit
/// breaker, rate limits and the per-attempt timeout. <see cref="ChatClientFactory"/> fills <see cref="MaxRetries"/>,
/// <see cref="Timeout"/>, <see cref="MaxConcurrency"/> and <see cref="RequestsPerMinute"/> from the role's settings.
/// </summary>
internal sealed class ResilienceOptions
{
    /// <summary>Most retries of one call after the first attempt (default 6; 0 disables retries).</summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>
    /// Backoff before the first retry when the provider gives no <c>Retry-After</c> (default 1 s). Later retries back off
    /// exponentially from it with Polly's jitter, so parallel callers do not retry in step.
    /// </summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of one backoff delay (default 60 s).</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Upper bound on a delay asked for by <c>Retry-After</c> or <c>retry-after-ms</c> (default 10 minutes).</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Attempts that must all have failed like an outage (5xx, timeouts, dropped connections; not 429 and not other 4xx)
    /// within <see cref="CircuitSamplingDuration"/>, with no success among them, before the circuit opens and calls fail
    /// with <see cref="ProviderUnavailableException"/> (default 5; 0 disables the breaker).
    /// </summary>
    public int CircuitBreakerThreshold { get; set; } = 5;

    /// <summary>Window over which the circuit breaker counts attempts (default 10 minutes; at least 0.5 s).</summary>
    public TimeSpan CircuitSamplingDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long an open circuit rejects calls (default 30 s); then one call at a time probes the provider (the others are
    /// rejected while the probe runs), and a successful probe closes the circuit.
    /// </summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest time one attempt may take (default 120 s); a timed-out attempt is retried.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Most attempts in flight at once (default 8); callers over the limit wait, they are never rejected.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Most attempts started in any sliding minute; <see langword="null"/> (default) means no limit. Callers over it wait.</summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>The window of <see cref="RequestsPerMinute"/> (one minute; shorter in tests, which run it on the system clock).</summary>
    internal TimeSpan RequestsWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Returns a copy of these options.</summary>
    public ResilienceOptions Clone() => (ResilienceOptions)MemberwiseClone();
}
