using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using AI = Microsoft.Extensions.AI;
using OA = OpenAI.Chat;

namespace SkillOpt.Providers;

/// <summary>
/// The innermost step of every pipeline, right above the provider's own <see cref="IChatClient"/>: removes the
/// <c>skillopt.*</c> entries of <see cref="ChatOptions.AdditionalProperties"/> (they never reach a provider), reports the
/// configured provider name, endpoint and model as <see cref="ChatClientMetadata"/> (so SimLab stays <c>simlab</c> in
/// telemetry and errors), and, for OpenAI-style providers, adds what the official client does not send by itself through
/// <see cref="ChatOptions.RawRepresentationFactory"/>: a JSON-schema response format as strict <c>json_schema</c> (named
/// <c>response</c> when unnamed) and a reasoning effort given as a string (<c>minimal</c>).
/// </summary>
/// <remarks>It also disposes what the pipeline owns below it (the provider's <see cref="HttpClient"/>).</remarks>
internal sealed class ProviderAdapterChatClient : DelegatingChatClient
{
    public const string InternalPrefix = "skillopt.";

    private readonly ChatClientMetadata _metadata;
    private readonly bool _openAIStyle;
    private readonly IDisposable[] _owned;

    public ProviderAdapterChatClient(IChatClient innerClient, string provider, Uri? endpoint, string model, bool openAIStyle,
        params IDisposable[] owned)
        : base(innerClient)
    {
        _metadata = new ChatClientMetadata(provider, endpoint, model);
        _openAIStyle = openAIStyle;
        _owned = owned;
    }

    public override Task<ChatResponse> GetResponseAsync(IEnumerable<AI.ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        base.GetResponseAsync(messages, Adapt(options), cancellationToken);

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AI.ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetStreamingResponseAsync(messages, Adapt(options), cancellationToken);

    public override object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(ChatClientMetadata) ? _metadata : base.GetService(serviceType, serviceKey);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var d in _owned) d.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Returns the options to send: a copy without internal keys and, for OpenAI, with the raw request options.</summary>
    internal ChatOptions? Adapt(ChatOptions? options)
    {
        if (options is null) return null;
        var props = options.AdditionalProperties;
        var hasInternal = props?.Keys.Any(k => k.StartsWith(InternalPrefix, StringComparison.Ordinal)) == true;
        var effort = props?.TryGetValue(RoleDefaults.ReasoningEffortPropertyKey, out var e) == true ? e?.ToString() : null;
        var needsRaw = _openAIStyle && (options.ResponseFormat is ChatResponseFormatJson { Schema: not null } || effort is not null);
        if (!hasInternal && !needsRaw && effort is null) return options;

        var result = options.Clone();
        if (props is not null)
        {
            var kept = new AdditionalPropertiesDictionary();
            foreach (var (key, value) in props)
                if (!key.StartsWith(InternalPrefix, StringComparison.Ordinal) && key != RoleDefaults.ReasoningEffortPropertyKey)
                    kept[key] = value;
            result.AdditionalProperties = kept.Count > 0 ? kept : null;
        }
        if (needsRaw)
        {
            var callerFactory = options.RawRepresentationFactory;
            result.RawRepresentationFactory = client => OpenAIRequest(callerFactory?.Invoke(client) as ChatCompletionOptions, options, effort);
        }
        return result;
    }

    private static ChatCompletionOptions OpenAIRequest(ChatCompletionOptions? raw, ChatOptions options, string? effort)
    {
        raw ??= new ChatCompletionOptions();
        if (raw.ResponseFormat is null && options.ResponseFormat is ChatResponseFormatJson { Schema: { } schema } json)
            raw.ResponseFormat = OA.ChatResponseFormat.CreateJsonSchemaFormat(
                string.IsNullOrWhiteSpace(json.SchemaName) ? "response" : json.SchemaName,
                BinaryData.FromString(schema.GetRawText()), json.SchemaDescription, jsonSchemaIsStrict: true);
        if (raw.ReasoningEffortLevel is null && effort is { Length: > 0 })
            raw.ReasoningEffortLevel = new ChatReasoningEffortLevel(effort);
        return raw;
    }
}

/// <summary>Sends no credential (OpenAI-compatible servers without authentication, such as a local Ollama).</summary>
internal sealed class NoAuthenticationPolicy : AuthenticationPolicy
{
    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex) =>
        ProcessNext(message, pipeline, currentIndex);

    public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex) =>
        ProcessNextAsync(message, pipeline, currentIndex);
}
