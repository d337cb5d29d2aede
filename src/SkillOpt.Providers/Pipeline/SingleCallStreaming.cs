using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace SkillOpt.Providers;

/// <summary>
/// Serves a streaming request with one non-streaming call whose response is returned as updates: the one way every
/// client of this library streams, so that retries, recording and accounting always see whole responses.
/// </summary>
internal static class SingleCallStreaming
{
    /// <summary>Runs <paramref name="call"/> once and yields its response as <see cref="ChatResponseUpdate"/>s.</summary>
    /// <param name="call">The non-streaming call (given the cancellation token).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public static async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(Func<CancellationToken, Task<ChatResponse>> call,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var response = await call(cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
            yield return update;
    }
}
