using Microsoft.Extensions.AI;

namespace SkillOpt.Providers;

/// <summary>
/// Records the inner client's responses into a folder, one JSON file per request key (see <see cref="RecordingKey"/>),
/// written atomically and with the API key removed; in <see cref="RecordingMode.RecordMissing"/> it first answers from
/// an existing recording (marked as replayed, like <see cref="ReplayChatClient"/>).
/// </summary>
/// <remarks>A file holds <c>schema_version</c>, <c>key</c>, <c>provider</c>, <c>model</c>, <c>last_user_message</c> (first 200
/// characters) and the <c>response</c> (a <see cref="ChatResponse"/> in Microsoft.Extensions.AI's JSON form). Failed calls are
/// not recorded. Streaming is served by one non-streaming call returned as updates.</remarks>
internal sealed class RecordingChatClient : DelegatingChatClient
{
    private readonly RecordingStore _store;

    /// <summary>Wraps <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The live client whose responses are recorded.</param>
    /// <param name="directory">Folder of recordings (created when missing).</param>
    /// <param name="provider">Provider kind, part of the key.</param>
    /// <param name="model">Configured model id, part of the key.</param>
    /// <param name="mode"><see cref="RecordingMode.Record"/> or <see cref="RecordingMode.RecordMissing"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="mode"/> is neither of those, or a string argument is empty.</exception>
    public RecordingChatClient(IChatClient innerClient, string directory, string provider, string model,
        RecordingMode mode = RecordingMode.Record)
        : base(innerClient)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentException.ThrowIfNullOrEmpty(model);
        if (mode is not (RecordingMode.Record or RecordingMode.RecordMissing))
            throw new ArgumentException($"RecordingChatClient records; mode must be Record or RecordMissing, not {mode}.", nameof(mode));
        _store = new RecordingStore(directory);
        Provider = provider;
        Model = model;
        Mode = mode;
    }

    /// <summary>Full path of the recordings folder.</summary>
    public string Directory => _store.Directory;

    /// <summary>Provider kind, part of the key.</summary>
    public string Provider { get; }

    /// <summary>Configured model id, part of the key.</summary>
    public string Model { get; }

    /// <summary><see cref="RecordingMode.Record"/> or <see cref="RecordingMode.RecordMissing"/>.</summary>
    public RecordingMode Mode { get; }

    /// <summary>Secrets removed from every file written; set by <see cref="ChatClientFactory"/>.</summary>
    internal SecretRedactor Redactor
    {
        get => _store.Redactor;
        set => _store.Redactor = value;
    }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var key = RecordingKey.Compute(Provider, Model, list, options);
        if (Mode == RecordingMode.RecordMissing && _store.TryRead(key) is { } recorded)
            return ReplayChatClient.MarkReplayed(recorded);

        var response = await base.GetResponseAsync(list, options, cancellationToken).ConfigureAwait(false);
        _store.Write(key, Provider, Model, RecordingKey.LastUserMessageSnippet(list), response);
        return response;
    }

    /// <inheritdoc />
    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        SingleCallStreaming.StreamAsync(token => GetResponseAsync(messages, options, token), cancellationToken);
}
