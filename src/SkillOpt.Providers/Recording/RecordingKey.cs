using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace SkillOpt.Providers;

/// <summary>
/// Computes the key under which a request's response is recorded: the SHA-256 (64 lower-case hex characters) of a
/// canonical JSON form of everything that affects the output.
/// </summary>
/// <remarks>
/// Included: provider; model (<see cref="ChatOptions.ModelId"/> when set, else the configured one); every message (role,
/// author, text, tool calls with ids, names and arguments, tool results, reasoning text, data by SHA-256, URIs);
/// <see cref="ChatOptions.Instructions"/>; tools (name, description, JSON schema, in order); temperature, max output
/// tokens, top-p, top-k, penalties, seed, stop sequences, response format (kind, schema name, description, schema),
/// reasoning options, tool mode and multiple-tool-calls flag; and <see cref="ChatOptions.AdditionalProperties"/> entries
/// except those whose key starts with <c>skillopt.</c> (so the stage tag does not change the key). JSON objects are
/// written with sorted property names. Never included: API keys, endpoints, headers.
/// </remarks>
internal static class RecordingKey
{
    /// <summary>Computes the key of a request.</summary>
    /// <param name="provider">Provider kind, for example <c>openai</c>.</param>
    /// <param name="model">Configured model id.</param>
    /// <param name="messages">The request's messages.</param>
    /// <param name="options">The request's options.</param>
    /// <returns>64 lower-case hex characters.</returns>
    public static string Compute(string provider, string model, IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var canonical = CanonicalRequest(provider, model, messages, options);
        return Convert.ToHexStringLower(SHA256.HashData(canonical));
    }

    /// <summary>Returns the canonical UTF-8 JSON that <see cref="Compute"/> hashes.</summary>
    public static byte[] CanonicalRequest(string provider, string model, IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(messages);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("v", 1);
            w.WriteString("provider", provider);
            w.WriteString("model", string.IsNullOrEmpty(options?.ModelId) ? model : options.ModelId);
            if (!string.IsNullOrEmpty(options?.Instructions)) w.WriteString("instructions", options.Instructions);
            w.WriteStartArray("messages");
            foreach (var message in messages) WriteMessage(w, message);
            w.WriteEndArray();
            if (options is not null) WriteOptions(w, options);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>Returns the first 200 characters of the last user message's text (an empty string when there is none).</summary>
    public static string LastUserMessageSnippet(IEnumerable<ChatMessage> messages)
    {
        var text = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        return text.Length <= 200 ? text : text[..200];
    }

    private static void WriteMessage(Utf8JsonWriter w, ChatMessage message)
    {
        w.WriteStartObject();
        w.WriteString("role", message.Role.Value);
        if (!string.IsNullOrEmpty(message.AuthorName)) w.WriteString("name", message.AuthorName);
        w.WriteStartArray("contents");
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case TextContent text:
                    w.WriteStartObject();
                    w.WriteString("text", text.Text);
                    w.WriteEndObject();
                    break;
                case TextReasoningContent reasoning:
                    w.WriteStartObject();
                    w.WriteString("reasoning", reasoning.Text);
                    w.WriteEndObject();
                    break;
                case FunctionCallContent call:
                    w.WriteStartObject();
                    w.WriteString("call_id", call.CallId);
                    w.WriteString("name", call.Name);
                    w.WritePropertyName("arguments");
                    WriteCanonical(w, JsonSerializer.SerializeToElement(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions));
                    w.WriteEndObject();
                    break;
                case FunctionResultContent result:
                    w.WriteStartObject();
                    w.WriteString("result_id", result.CallId);
                    w.WritePropertyName("result");
                    WriteValue(w, result.Result);
                    if (result.Exception is { } error) w.WriteString("error", error.Message);
                    w.WriteEndObject();
                    break;
                case DataContent data:
                    w.WriteStartObject();
                    w.WriteString("media_type", data.MediaType);
                    w.WriteString("data_sha256", Convert.ToHexStringLower(SHA256.HashData(data.Data.Span)));
                    w.WriteEndObject();
                    break;
                case UriContent uri:
                    w.WriteStartObject();
                    w.WriteString("media_type", uri.MediaType);
                    w.WriteString("uri", uri.Uri.ToString());
                    w.WriteEndObject();
                    break;
                case UsageContent:
                    break;
                default:
                    w.WriteStartObject();
                    w.WriteString("type", content.GetType().FullName);
                    w.WritePropertyName("value");
                    WriteValue(w, content);
                    w.WriteEndObject();
                    break;
            }
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteOptions(Utf8JsonWriter w, ChatOptions o)
    {
        if (o.Temperature is { } temperature) w.WriteNumber("temperature", temperature);
        if (o.MaxOutputTokens is { } max) w.WriteNumber("max_output_tokens", max);
        if (o.TopP is { } topP) w.WriteNumber("top_p", topP);
        if (o.TopK is { } topK) w.WriteNumber("top_k", topK);
        if (o.FrequencyPenalty is { } fp) w.WriteNumber("frequency_penalty", fp);
        if (o.PresencePenalty is { } pp) w.WriteNumber("presence_penalty", pp);
        if (o.Seed is { } seed) w.WriteNumber("seed", seed);
        if (o.StopSequences is { Count: > 0 } stops)
        {
            w.WriteStartArray("stop");
            foreach (var s in stops) w.WriteStringValue(s);
            w.WriteEndArray();
        }
        switch (o.ResponseFormat)
        {
            case ChatResponseFormatText:
                w.WriteString("response_format", "text");
                break;
            case ChatResponseFormatJson json:
                w.WriteStartObject("response_format");
                w.WriteString("type", "json");
                if (json.SchemaName is not null) w.WriteString("name", json.SchemaName);
                if (json.SchemaDescription is not null) w.WriteString("description", json.SchemaDescription);
                if (json.Schema is { } schema)
                {
                    w.WritePropertyName("schema");
                    WriteCanonical(w, schema);
                }
                w.WriteEndObject();
                break;
        }
        if (o.Reasoning is { } reasoning)
        {
            w.WriteStartObject("reasoning");
            if (reasoning.Effort is { } effort) w.WriteString("effort", effort.ToString());
            if (reasoning.Output is { } output) w.WriteString("output", output.ToString());
            w.WriteEndObject();
        }
        switch (o.ToolMode)
        {
            case NoneChatToolMode:
                w.WriteString("tool_mode", "none");
                break;
            case RequiredChatToolMode required:
                w.WriteString("tool_mode", "required:" + required.RequiredFunctionName);
                break;
            case AutoChatToolMode:
                w.WriteString("tool_mode", "auto");
                break;
        }
        if (o.AllowMultipleToolCalls is { } multiple) w.WriteBoolean("allow_multiple_tool_calls", multiple);
        if (o.Tools is { Count: > 0 } tools)
        {
            w.WriteStartArray("tools");
            foreach (var tool in tools)
            {
                w.WriteStartObject();
                w.WriteString("name", tool.Name);
                if (!string.IsNullOrEmpty(tool.Description)) w.WriteString("description", tool.Description);
                if (tool is AIFunctionDeclaration function)
                {
                    w.WritePropertyName("schema");
                    WriteCanonical(w, function.JsonSchema);
                }
                else
                {
                    w.WriteString("type", tool.GetType().FullName);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (o.AdditionalProperties is { Count: > 0 } extra)
        {
            var keys = extra.Keys.Where(k => !k.StartsWith("skillopt.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            if (keys.Count > 0)
            {
                w.WriteStartObject("additional_properties");
                foreach (var key in keys)
                {
                    w.WritePropertyName(key);
                    WriteValue(w, extra[key]);
                }
                w.WriteEndObject();
            }
        }
    }

    private static void WriteValue(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null:
                w.WriteNullValue();
                break;
            case string s:
                w.WriteStringValue(s);
                break;
            case JsonElement element:
                WriteCanonical(w, element);
                break;
            default:
                JsonElement serialized;
                try
                {
                    serialized = JsonSerializer.SerializeToElement(value, value.GetType(), AIJsonUtilities.DefaultOptions);
                }
                catch (NotSupportedException)
                {
                    w.WriteStringValue(value.ToString());
                    return;
                }
                WriteCanonical(w, serialized);
                break;
        }
    }

    /// <summary>Writes <paramref name="element"/> with object properties sorted by name (ordinal) at every depth.</summary>
    private static void WriteCanonical(Utf8JsonWriter w, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    w.WritePropertyName(property.Name);
                    WriteCanonical(w, property.Value);
                }
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var item in element.EnumerateArray()) WriteCanonical(w, item);
                w.WriteEndArray();
                break;
            case JsonValueKind.Undefined:
                w.WriteNullValue();
                break;
            default:
                element.WriteTo(w);
                break;
        }
    }
}
