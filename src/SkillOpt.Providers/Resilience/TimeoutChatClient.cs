using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace SkillOpt.Providers;

/// <summary>
/// Bounds each call to the inner client by a timeout measured on a <see cref="TimeProvider"/>, and reports an expired
/// timeout as <see cref="TimeoutException"/> (which <see cref="ResilientChatClient"/> retries) rather than as a
/// cancellation. Cancellation by the caller still surfaces as <see cref="OperationCanceledException"/>.
/// </summary>
/// <remarks>Place it below <see cref="ResilientChatClient"/> so that each attempt gets its own timeout.
/// Streaming is served by one non-streaming call returned as updates.</remarks>
public sealed class TimeoutChatClient : DelegatingChatClient
{
    private readonly TimeProvider _time;

    /// <summary>Wraps <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The client to bound.</param>
    /// <param name="timeout">Longest time one call may take; <see cref="Timeout.InfiniteTimeSpan"/> disables the bound.</param>
    /// <param name="timeProvider">Clock that measures the timeout; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is zero or negative (other than infinite).</exception>
    public TimeoutChatClient(IChatClient innerClient, TimeSpan timeout, TimeProvider? timeProvider = null)
        : base(innerClient)
    {
        if (timeout <= TimeSpan.Zero && timeout != System.Threading.Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive.");
        Timeout = timeout;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Longest time one call may take.</summary>
    public TimeSpan Timeout { get; }

    /// <inheritdoc />
    /// <exception cref="TimeoutException">The call took longer than <see cref="Timeout"/>.</exception>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        if (Timeout == System.Threading.Timeout.InfiniteTimeSpan)
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);

        using var timeout = new CancellationTokenSource(Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await base.GetResponseAsync(messages, options, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                                   && ex is not TimeoutException)
        {
            throw new TimeoutException(
                $"the call did not complete within {Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s", ex);
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
}
