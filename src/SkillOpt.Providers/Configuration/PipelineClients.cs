using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Providers;

/// <summary>Fills the role's configured defaults (temperature, max output tokens, seed, reasoning effort) into requests that leave them unset.</summary>
internal sealed class RoleDefaultsChatClient : DelegatingChatClient
{
    private readonly float? _temperature;
    private readonly int? _maxOutputTokens;
    private readonly long? _seed;
    private readonly ReasoningEffort? _effort;
    private readonly string? _effortOverride;

    public RoleDefaultsChatClient(IChatClient innerClient, ModelRoleOptions role, ReasoningEffort? effort, string? effortOverride)
        : base(innerClient)
    {
        _temperature = role.Temperature;
        _maxOutputTokens = role.MaxOutputTokens;
        _seed = role.Seed;
        _effort = effort;
        _effortOverride = effortOverride;
    }

    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        base.GetResponseAsync(messages, Apply(options), cancellationToken);

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetStreamingResponseAsync(messages, Apply(options), cancellationToken);

    private ChatOptions? Apply(ChatOptions? options)
    {
        var needsTemperature = _temperature is not null && options?.Temperature is null;
        var needsMax = _maxOutputTokens is not null && options?.MaxOutputTokens is null;
        var needsSeed = _seed is not null && options?.Seed is null;
        var callerSetEffort = options?.Reasoning?.Effort is not null
                              || options?.AdditionalProperties?.ContainsKey(OpenAIChatClient.ReasoningEffortPropertyKey) == true;
        var needsEffort = (_effort is not null || _effortOverride is not null) && !callerSetEffort;
        if (!needsTemperature && !needsMax && !needsSeed && !needsEffort) return options;

        var result = options?.Clone() ?? new ChatOptions();
        if (needsTemperature) result.Temperature = _temperature;
        if (needsMax) result.MaxOutputTokens = _maxOutputTokens;
        if (needsSeed) result.Seed = _seed;
        if (needsEffort)
        {
            if (_effort is { } effort)
            {
                var reasoning = result.Reasoning is { } r ? new ReasoningOptions { Output = r.Output } : new ReasoningOptions();
                reasoning.Effort = effort;
                result.Reasoning = reasoning;
            }
            if (_effortOverride is { } raw)
            {
                result.AdditionalProperties = result.AdditionalProperties is { } props ? new AdditionalPropertiesDictionary(props) : [];
                result.AdditionalProperties[OpenAIChatClient.ReasoningEffortPropertyKey] = raw;
            }
        }
        return result;
    }
}

/// <summary>Removes <c>skillopt.*</c> entries of <see cref="ChatOptions.AdditionalProperties"/> before a provider adapter sees them.</summary>
internal sealed class InternalPropertiesFilterChatClient(IChatClient innerClient) : DelegatingChatClient(innerClient)
{
    public const string Prefix = "skillopt.";

    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        base.GetResponseAsync(messages, Strip(options), cancellationToken);

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetStreamingResponseAsync(messages, Strip(options), cancellationToken);

    internal static ChatOptions? Strip(ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { Count: > 0 } props
            || !props.Keys.Any(k => k.StartsWith(Prefix, StringComparison.Ordinal)))
            return options;
        var result = options.Clone();
        var kept = new AdditionalPropertiesDictionary();
        foreach (var (key, value) in props)
            if (!key.StartsWith(Prefix, StringComparison.Ordinal)) kept[key] = value;
        result.AdditionalProperties = kept.Count > 0 ? kept : null;
        return result;
    }
}

/// <summary>Disposes resources the pipeline owns (the provider's HttpClient) together with the client.</summary>
internal sealed class OwningChatClient(IChatClient innerClient, params IDisposable[] owned) : DelegatingChatClient(innerClient)
{
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var d in owned) d.Dispose();
        base.Dispose(disposing);
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
