using Microsoft.Extensions.AI;

namespace SkillOpt.Providers.Tests.Infrastructure;

/// <summary>An in-memory client that answers every call with the same text and usage.</summary>
public sealed class CannedChatClient(string text, UsageDetails? usage = null, string? modelId = null) : IChatClient
{
    public ChatOptions? LastOptions { get; private set; }

    public int Calls { get; private set; }

    public Exception? Throw { get; set; }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        LastOptions = options;
        if (Throw is { } ex) throw ex;
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { Usage = usage, ModelId = modelId });
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
