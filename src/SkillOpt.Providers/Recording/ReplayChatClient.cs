using Microsoft.Extensions.AI;

namespace SkillOpt.Providers;

/// <summary>
/// Answers every request from a folder written by <see cref="RecordingChatClient"/>, with zero network calls; a request
/// without a recording throws <see cref="RecordingMissException"/>.
/// </summary>
/// <remarks>Replayed responses carry <see cref="ReplayedPropertyKey"/> = <see langword="true"/> in
/// <see cref="ChatResponse.AdditionalProperties"/>, so <see cref="UsageAccountingChatClient"/> counts them as replays.</remarks>
internal sealed class ReplayChatClient : IChatClient
{
    /// <summary><see cref="ChatResponse.AdditionalProperties"/> key set to <see langword="true"/> on replayed responses.</summary>
    public const string ReplayedPropertyKey = "skillopt.replayed";

    private readonly RecordingStore _store;

    /// <summary>Creates a client that answers from <paramref name="directory"/>.</summary>
    /// <param name="directory">Folder of recordings.</param>
    /// <param name="provider">Provider kind, part of the key (must match the recording run).</param>
    /// <param name="model">Configured model id, part of the key (must match the recording run).</param>
    /// <exception cref="ArgumentException">An argument is empty.</exception>
    public ReplayChatClient(string directory, string provider, string model)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentException.ThrowIfNullOrEmpty(model);
        _store = new RecordingStore(directory);
        Provider = provider;
        Model = model;
    }

    /// <summary>Full path of the recordings folder.</summary>
    public string Directory => _store.Directory;

    /// <summary>Provider kind, part of the key.</summary>
    public string Provider { get; }

    /// <summary>Configured model id, part of the key.</summary>
    public string Model { get; }

    /// <inheritdoc />
    /// <exception cref="RecordingMissException">No recording matches the request.</exception>
    /// <exception cref="InvalidDataException">The matching file is not a recording.</exception>
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        cancellationToken.ThrowIfCancellationRequested();
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var key = RecordingKey.Compute(Provider, Model, list, options);
        if (_store.TryRead(key) is { } recorded)
            return Task.FromResult(MarkReplayed(recorded));

        var snippet = RecordingKey.LastUserMessageSnippet(list);
        var model = string.IsNullOrEmpty(options?.ModelId) ? Model : options.ModelId;
        throw new RecordingMissException(
            $"No recorded response for request {key} (provider '{Provider}', model '{model}') in '{Directory}'. "
            + $"Last user message (first 200 characters): \"{snippet}\". The prompt, tools or options changed since the recording "
            + "was made, or it was never recorded: record it against a live provider with recording mode RecordMissing (or Record).",
            key, model, snippet);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        SingleCallStreaming.StreamAsync(token => GetResponseAsync(messages, options, token), cancellationToken);

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return new ChatClientMetadata(Provider, null, Model);
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    internal static ChatResponse MarkReplayed(ChatResponse response)
    {
        (response.AdditionalProperties ??= new AdditionalPropertiesDictionary())[ReplayedPropertyKey] = true;
        return response;
    }
}
