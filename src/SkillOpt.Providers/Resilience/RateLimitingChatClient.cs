using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace SkillOpt.Providers;

/// <summary>
/// Limits the calls of one role: at most <see cref="MaxConcurrency"/> in flight at once, and at most
/// <see cref="RequestsPerMinute"/> started in any sliding 60-second window (measured on a <see cref="TimeProvider"/>).
/// Callers over the limits wait; they are never rejected.
/// </summary>
/// <remarks>Place it below <see cref="ResilientChatClient"/> so that every attempt, retries included, takes a permit.
/// Streaming is served by one non-streaming call returned as updates.</remarks>
public sealed class RateLimitingChatClient : DelegatingChatClient
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly SemaphoreSlim _slots;
    private readonly TimeProvider _time;
    private readonly Queue<DateTimeOffset> _starts = new();
    private readonly object _lock = new();

    /// <summary>Wraps <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The client to limit.</param>
    /// <param name="maxConcurrency">Most calls in flight at once (at least 1).</param>
    /// <param name="requestsPerMinute">Most calls started per sliding minute; <see langword="null"/> means no limit.</param>
    /// <param name="timeProvider">Clock of the per-minute window; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConcurrency"/> or <paramref name="requestsPerMinute"/> is below 1.</exception>
    public RateLimitingChatClient(IChatClient innerClient, int maxConcurrency, int? requestsPerMinute = null, TimeProvider? timeProvider = null)
        : base(innerClient)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        if (requestsPerMinute is < 1)
            throw new ArgumentOutOfRangeException(nameof(requestsPerMinute), requestsPerMinute, "requests_per_minute must be at least 1.");
        MaxConcurrency = maxConcurrency;
        RequestsPerMinute = requestsPerMinute;
        _slots = new SemaphoreSlim(maxConcurrency, maxConcurrency);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Most calls in flight at once.</summary>
    public int MaxConcurrency { get; }

    /// <summary>Most calls started per sliding minute, or <see langword="null"/> for no limit.</summary>
    public int? RequestsPerMinute { get; }

    /// <summary>Calls in flight now.</summary>
    public int InFlight => MaxConcurrency - _slots.CurrentCount;

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await WaitForRateAsync(cancellationToken).ConfigureAwait(false);
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
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

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _slots.Dispose();
        base.Dispose(disposing);
    }

    private async Task WaitForRateAsync(CancellationToken cancellationToken)
    {
        if (RequestsPerMinute is not { } limit) return;
        while (true)
        {
            TimeSpan wait;
            lock (_lock)
            {
                var now = _time.GetUtcNow();
                while (_starts.Count > 0 && now - _starts.Peek() >= Window) _starts.Dequeue();
                if (_starts.Count < limit)
                {
                    _starts.Enqueue(now);
                    return;
                }
                wait = _starts.Peek() + Window - now;
            }
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
