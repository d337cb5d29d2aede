using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using AI = Microsoft.Extensions.AI;
using OA = OpenAI.Chat;

namespace SkillOpt.Providers;

/// <summary>
/// An <see cref="IChatClient"/> over the official OpenAI SDK's <see cref="ChatClient"/> (the chat-completions API):
/// works with OpenAI, any OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp) and the Azure OpenAI v1
/// endpoint, depending on how the SDK client was configured.
/// </summary>
/// <remarks>
/// <para>Request mapping: <see cref="ChatOptions.Instructions"/> and <see cref="ChatRole.System"/> messages become
/// system messages (instructions first); user, assistant and tool messages map one to one;
/// <see cref="FunctionCallContent"/> becomes an assistant tool call and <see cref="FunctionResultContent"/> a tool
/// message; <see cref="AIFunctionDeclaration"/> tools become function tools (name, description, JSON schema);
/// temperature, max output tokens, seed, top-p, stop sequences, penalties, tool mode, reasoning effort
/// (<see cref="ChatOptions.Reasoning"/>, or the string in <see cref="ChatOptions.AdditionalProperties"/> under
/// <see cref="ReasoningEffortPropertyKey"/>, which wins) and the response format
/// (<see cref="AI.ChatResponseFormat.Json"/> → <c>json_object</c>; a schema → strict <c>json_schema</c> named by
/// <see cref="ChatResponseFormatJson.SchemaName"/>, <c>response</c> when unnamed).</para>
/// <para>No other <see cref="ChatOptions.AdditionalProperties"/> entry is sent, so <c>skillopt.*</c> keys never reach the wire.
/// The model is fixed by the SDK client; <see cref="ChatOptions.ModelId"/> is ignored.</para>
/// <para>Streaming is served by one non-streaming call whose response is returned as updates.</para>
/// <para>Errors are the SDK's: <see cref="System.ClientModel.ClientResultException"/> for HTTP errors (status and
/// headers in <c>GetRawResponse()</c>), the JSON reader's exceptions for malformed bodies, and
/// <see cref="InvalidDataException"/> for well-formed JSON of an unexpected shape. Wrap this client in
/// <see cref="ResilientChatClient"/> to classify, retry and translate them into <see cref="ProviderException"/>.</para>
/// </remarks>
public sealed class OpenAIChatClient : IChatClient
{
    /// <summary>
    /// <see cref="ChatOptions.AdditionalProperties"/> key whose string value (for example <c>minimal</c>) is sent as
    /// <c>reasoning_effort</c>, for levels that <see cref="ReasoningEffort"/> cannot express.
    /// </summary>
    public const string ReasoningEffortPropertyKey = "reasoning_effort";

    private readonly ChatClient _client;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Wraps <paramref name="client"/>.</summary>
    /// <param name="client">The SDK chat client, already bound to a model, endpoint and credential.</param>
    /// <param name="providerName">Provider name reported in <see cref="ChatClientMetadata"/> (default <c>openai</c>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is <see langword="null"/>.</exception>
    public OpenAIChatClient(ChatClient client, string providerName = "openai")
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _metadata = new ChatClientMetadata(providerName, client.Endpoint, client.Model);
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AI.ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var request = ToOpenAIMessages(messages, options);
        var completionOptions = ToOpenAIOptions(options);
        try
        {
            var result = await _client.CompleteChatAsync(request, completionOptions, cancellationToken).ConfigureAwait(false);
            return FromCompletion(result.Value);
        }
        catch (Exception ex) when (IsShapeError(ex))
        {
            // The SDK reads a 2xx body of the wrong shape (no choices, an array, ...) with these exceptions.
            throw new InvalidDataException($"The chat-completions response has an unexpected shape: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AI.ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
            yield return update;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType == typeof(ChatClient)) return _client;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    /// <summary>Converts messages (and <see cref="ChatOptions.Instructions"/>) to the SDK's message list.</summary>
    internal static List<OA.ChatMessage> ToOpenAIMessages(IEnumerable<AI.ChatMessage> messages, ChatOptions? options)
    {
        var list = new List<OA.ChatMessage>();
        if (!string.IsNullOrEmpty(options?.Instructions))
            list.Add(new SystemChatMessage(options.Instructions));

        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System)
            {
                list.Add(new SystemChatMessage(message.Text));
            }
            else if (message.Role == ChatRole.User)
            {
                var parts = new List<ChatMessageContentPart>();
                foreach (var content in message.Contents)
                {
                    switch (content)
                    {
                        case TextContent text:
                            parts.Add(ChatMessageContentPart.CreateTextPart(text.Text));
                            break;
                        case DataContent data when data.HasTopLevelMediaType("image"):
                            parts.Add(ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(data.Data), data.MediaType));
                            break;
                        case UriContent uri when uri.HasTopLevelMediaType("image"):
                            parts.Add(ChatMessageContentPart.CreateImagePart(uri.Uri));
                            break;
                    }
                }
                if (parts.Count == 0) parts.Add(ChatMessageContentPart.CreateTextPart(message.Text));
                var user = new UserChatMessage(parts);
                if (!string.IsNullOrEmpty(message.AuthorName)) user.ParticipantName = message.AuthorName;
                list.Add(user);
            }
            else if (message.Role == ChatRole.Assistant)
            {
                var calls = message.Contents.OfType<FunctionCallContent>()
                    .Select(c => ChatToolCall.CreateFunctionToolCall(c.CallId, c.Name,
                        BinaryData.FromString(JsonSerializer.Serialize(c.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions))))
                    .ToList();
                var text = string.Concat(message.Contents.OfType<TextContent>().Select(t => t.Text));
                AssistantChatMessage assistant;
                if (calls.Count > 0)
                {
                    assistant = new AssistantChatMessage(calls);
                    if (text.Length > 0) assistant.Content.Add(ChatMessageContentPart.CreateTextPart(text));
                }
                else
                {
                    assistant = new AssistantChatMessage(text);
                }
                if (!string.IsNullOrEmpty(message.AuthorName)) assistant.ParticipantName = message.AuthorName;
                list.Add(assistant);
            }
            else if (message.Role == ChatRole.Tool)
            {
                foreach (var result in message.Contents.OfType<FunctionResultContent>())
                    list.Add(new ToolChatMessage(result.CallId, SerializeResult(result.Result)));
            }
            else
            {
                throw new NotSupportedException($"Chat role '{message.Role}' is not supported by the OpenAI chat-completions adapter.");
            }
        }
        return list;
    }

    /// <summary>Converts <paramref name="options"/> to the SDK's request options (only settings that are set).</summary>
    internal static ChatCompletionOptions ToOpenAIOptions(ChatOptions? options)
    {
        var result = new ChatCompletionOptions();
        if (options is null) return result;

        result.Temperature = options.Temperature;
        result.TopP = options.TopP;
        result.MaxOutputTokenCount = options.MaxOutputTokens;
        result.FrequencyPenalty = options.FrequencyPenalty;
        result.PresencePenalty = options.PresencePenalty;
        result.Seed = options.Seed;
        if (options.StopSequences is { Count: > 0 } stops)
            foreach (var stop in stops) result.StopSequences.Add(stop);

        if (options.AdditionalProperties?.TryGetValue(ReasoningEffortPropertyKey, out var effortValue) == true
            && effortValue?.ToString() is { Length: > 0 } effort)
        {
            result.ReasoningEffortLevel = new ChatReasoningEffortLevel(effort);
        }
        else if (options.Reasoning?.Effort is { } level)
        {
            result.ReasoningEffortLevel = level switch
            {
                ReasoningEffort.None => ChatReasoningEffortLevel.None,
                ReasoningEffort.Low => ChatReasoningEffortLevel.Low,
                ReasoningEffort.Medium => ChatReasoningEffortLevel.Medium,
                ReasoningEffort.High => ChatReasoningEffortLevel.High,
                ReasoningEffort.ExtraHigh => ChatReasoningEffortLevel.ExtraHigh,
                _ => null,
            };
        }

        switch (options.ResponseFormat)
        {
            case ChatResponseFormatText:
                result.ResponseFormat = OA.ChatResponseFormat.CreateTextFormat();
                break;
            case ChatResponseFormatJson { Schema: { } schema } json:
                result.ResponseFormat = OA.ChatResponseFormat.CreateJsonSchemaFormat(
                    string.IsNullOrWhiteSpace(json.SchemaName) ? "response" : json.SchemaName,
                    BinaryData.FromString(schema.GetRawText()), json.SchemaDescription, jsonSchemaIsStrict: true);
                break;
            case ChatResponseFormatJson:
                result.ResponseFormat = OA.ChatResponseFormat.CreateJsonObjectFormat();
                break;
        }

        if (options.Tools is { Count: > 0 } tools)
        {
            foreach (var tool in tools)
            {
                if (tool is AIFunctionDeclaration function)
                {
                    result.Tools.Add(ChatTool.CreateFunctionTool(function.Name,
                        string.IsNullOrEmpty(function.Description) ? null : function.Description,
                        BinaryData.FromString(function.JsonSchema.GetRawText())));
                }
            }
            if (result.Tools.Count > 0)
            {
                result.AllowParallelToolCalls = options.AllowMultipleToolCalls;
                result.ToolChoice = options.ToolMode switch
                {
                    NoneChatToolMode => ChatToolChoice.CreateNoneChoice(),
                    RequiredChatToolMode { RequiredFunctionName: { } name } => ChatToolChoice.CreateFunctionChoice(name),
                    RequiredChatToolMode => ChatToolChoice.CreateRequiredChoice(),
                    AutoChatToolMode => ChatToolChoice.CreateAutoChoice(),
                    _ => null,
                };
            }
        }
        return result;
    }

    /// <summary>Converts an SDK completion to a <see cref="ChatResponse"/>.</summary>
    internal static ChatResponse FromCompletion(ChatCompletion completion)
    {
        var message = new AI.ChatMessage { Role = ChatRole.Assistant, RawRepresentation = completion, MessageId = completion.Id };
        foreach (var part in completion.Content)
        {
            if (part.Kind == ChatMessageContentPartKind.Text)
                message.Contents.Add(new TextContent(part.Text) { RawRepresentation = part });
            else if (part.Kind == ChatMessageContentPartKind.Refusal)
                message.Contents.Add(new TextContent(part.Refusal) { RawRepresentation = part });
        }
        if (!string.IsNullOrEmpty(completion.Refusal) && message.Contents.Count == 0)
            message.Contents.Add(new TextContent(completion.Refusal));

        foreach (var call in completion.ToolCalls)
        {
            if (call.Kind != ChatToolCallKind.Function) continue;
            var content = FunctionCallContent.CreateFromParsedArguments(call.FunctionArguments.ToString(), call.Id, call.FunctionName,
                static json => JsonSerializer.Deserialize<Dictionary<string, object?>>(json, AIJsonUtilities.DefaultOptions));
            content.RawRepresentation = call;
            message.Contents.Add(content);
        }

        var response = new ChatResponse(message)
        {
            ResponseId = completion.Id,
            ModelId = completion.Model,
            CreatedAt = completion.CreatedAt,
            FinishReason = MapFinishReason(completion.FinishReason),
            RawRepresentation = completion,
        };

        if (completion.Usage is { } usage)
        {
            response.Usage = new UsageDetails
            {
                InputTokenCount = usage.InputTokenCount,
                OutputTokenCount = usage.OutputTokenCount,
                TotalTokenCount = usage.TotalTokenCount,
                CachedInputTokenCount = usage.InputTokenDetails is { } input ? input.CachedTokenCount : null,
                ReasoningTokenCount = usage.OutputTokenDetails is { } output ? output.ReasoningTokenCount : null,
            };
        }
        return response;
    }

    private static AI.ChatFinishReason? MapFinishReason(OA.ChatFinishReason reason) => reason switch
    {
        OA.ChatFinishReason.Stop => AI.ChatFinishReason.Stop,
        OA.ChatFinishReason.Length => AI.ChatFinishReason.Length,
        OA.ChatFinishReason.ContentFilter => AI.ChatFinishReason.ContentFilter,
        OA.ChatFinishReason.ToolCalls or OA.ChatFinishReason.FunctionCall => AI.ChatFinishReason.ToolCalls,
        _ => null,
    };

    private static bool IsShapeError(Exception ex) =>
        ex is ArgumentException or KeyNotFoundException or IndexOutOfRangeException or NullReferenceException or FormatException
            or InvalidCastException
        || (ex is InvalidOperationException && ex is not ObjectDisposedException);

    private static string SerializeResult(object? result) => result switch
    {
        null => "",
        string s => s,
        JsonElement e when e.ValueKind == JsonValueKind.String => e.GetString() ?? "",
        JsonElement e => e.GetRawText(),
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions),
    };
}
