namespace SkillOpt.Providers;

/// <summary>Retry and circuit-breaker settings of a <see cref="ResilientChatClient"/>.</summary>
public sealed class ResilienceOptions
{
    /// <summary>Most retries of one call after the first attempt (default 6; 0 disables retries).</summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>Backoff before the first retry when the provider gives no <c>Retry-After</c> (default 1 s); doubles on each retry.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the exponential backoff (default 60 s); jitter then takes it down to between 50% and 100%.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Upper bound on a delay asked for by <c>Retry-After</c> (default 10 minutes).</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Failed attempts in a row (5xx, timeouts, dropped connections; not 429 and not 4xx) after which the circuit opens
    /// and calls fail with <see cref="ProviderUnavailableException"/> (default 5; 0 disables the breaker).
    /// </summary>
    public int CircuitBreakerThreshold { get; set; } = 5;

    /// <summary>How long an open circuit rejects calls before one is let through to probe the provider (default 30 s).</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Source of jitter in [0, 1); <see langword="null"/> uses <see cref="Random.Shared"/>. Settable for deterministic tests.</summary>
    public Func<double>? JitterSource { get; set; }

    /// <summary>Returns a copy of these options.</summary>
    public ResilienceOptions Clone() => (ResilienceOptions)MemberwiseClone();
}
