using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SkillOpt.SimLab;

/// <summary>A tool call in a request or a reply.</summary>
internal sealed record WireToolCall(string Id, string Name, string Arguments);

/// <summary>One message of a chat-completions request (text parts joined).</summary>
internal sealed record WireMessage(string Role, string Text, IReadOnlyList<WireToolCall> ToolCalls, string? ToolCallId);

/// <summary>A function tool offered by the request.</summary>
internal sealed record WireTool(string Name, JsonElement? Parameters);

/// <summary>The parts of an OpenAI chat-completions request that SimLab reads.</summary>
internal sealed class ChatRequest
{
    public required string Model { get; init; }
    public required IReadOnlyList<WireMessage> Messages { get; init; }
    public string? ResponseFormatType { get; init; }
    public string? SchemaName { get; init; }
    public long? Seed { get; init; }
    public IReadOnlyList<WireTool> Tools { get; init; } = [];
    public string? ToolChoice { get; init; }
    public int? MaxTokens { get; init; }
    public bool Stream { get; init; }
    public bool StreamUsage { get; init; }

    /// <summary>Hex SHA-256 of everything that determines the reply (model, messages, format, seed, tools).</summary>
    public required string Key { get; init; }

    /// <summary>Parses a request body; returns null and an error message when it is not a usable request.</summary>
    public static (ChatRequest? Request, string? Error) Parse(string body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return (null, $"The request body is not valid JSON: {ex.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, "The request body must be a JSON object.");
            }
            if (!root.TryGetProperty("model", out var modelEl) || modelEl.ValueKind != JsonValueKind.String)
            {
                return (null, "you must provide a model parameter");
            }
            if (!root.TryGetProperty("messages", out var msgs) || msgs.ValueKind != JsonValueKind.Array || msgs.GetArrayLength() == 0)
            {
                return (null, "'messages' must be a non-empty array");
            }
            var messages = new List<WireMessage>();
            foreach (var m in msgs.EnumerateArray())
            {
                var role = m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "user";
                var text = m.TryGetProperty("content", out var c) ? ContentText(c) : "";
                var calls = new List<WireToolCall>();
                if (m.TryGetProperty("tool_calls", out var tc) && tc.ValueKind == JsonValueKind.Array)
                {
                    foreach (var call in tc.EnumerateArray())
                    {
                        var fn = call.TryGetProperty("function", out var f) ? f : default;
                        calls.Add(new WireToolCall(Str(call, "id") ?? "", fn.ValueKind == JsonValueKind.Object ? Str(fn, "name") ?? "" : "",
                            fn.ValueKind == JsonValueKind.Object ? Str(fn, "arguments") ?? "" : ""));
                    }
                }
                messages.Add(new WireMessage(role, text, calls, Str(m, "tool_call_id")));
            }
            string? formatType = null, schemaName = null;
            if (root.TryGetProperty("response_format", out var rf) && rf.ValueKind == JsonValueKind.Object)
            {
                formatType = Str(rf, "type");
                if (rf.TryGetProperty("json_schema", out var js) && js.ValueKind == JsonValueKind.Object)
                {
                    schemaName = Str(js, "name");
                }
            }
            long? seed = root.TryGetProperty("seed", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var sv) ? sv : null;
            var tools = new List<WireTool>();
            if (root.TryGetProperty("tools", out var ts) && ts.ValueKind == JsonValueKind.Array)
            {
                foreach (var t in ts.EnumerateArray())
                {
                    if (t.TryGetProperty("function", out var fn) && fn.ValueKind == JsonValueKind.Object)
                    {
                        tools.Add(new WireTool(Str(fn, "name") ?? "", fn.TryGetProperty("parameters", out var p) ? p.Clone() : null));
                    }
                }
            }
            string? toolChoice = root.TryGetProperty("tool_choice", out var tcEl) ? tcEl.ValueKind == JsonValueKind.String ? tcEl.GetString() : "function" : null;
            int? maxTokens = null;
            foreach (var name in new[] { "max_completion_tokens", "max_tokens" })
            {
                if (root.TryGetProperty(name, out var mt) && mt.ValueKind == JsonValueKind.Number && mt.TryGetInt32(out var v))
                {
                    maxTokens = v;
                    break;
                }
            }
            var stream = root.TryGetProperty("stream", out var st) && st.ValueKind == JsonValueKind.True;
            var streamUsage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
                && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;

            var model = modelEl.GetString()!;
            var key = new StringBuilder().Append(model).Append('\u0001').Append(schemaName ?? formatType ?? "").Append('\u0001')
                .Append(seed?.ToString(CultureInfo.InvariantCulture) ?? "-").Append('\u0001');
            foreach (var t in tools)
            {
                key.Append(t.Name).Append(',');
            }
            foreach (var m in messages)
            {
                key.Append('\u0002').Append(m.Role).Append('\u0003').Append(m.Text).Append('\u0003').Append(m.ToolCallId);
                foreach (var call in m.ToolCalls)
                {
                    key.Append('\u0004').Append(call.Name).Append('\u0005').Append(call.Arguments);
                }
            }
            return (new ChatRequest
            {
                Model = model,
                Messages = messages,
                ResponseFormatType = formatType,
                SchemaName = schemaName,
                Seed = seed,
                Tools = tools,
                ToolChoice = toolChoice,
                MaxTokens = maxTokens,
                Stream = stream,
                StreamUsage = streamUsage,
                Key = SimRandom.Hash(key.ToString()),
            }, null);
        }
    }

    /// <summary>Approximate prompt tokens of the whole request.</summary>
    public int PromptTokens() => Messages.Sum(m => 4 + QuestionText.Tokens(m.Text) + m.ToolCalls.Sum(c => QuestionText.Tokens(c.Name + c.Arguments)))
        + Tools.Sum(t => 8 + QuestionText.Tokens(t.Parameters?.GetRawText()));

    /// <summary>
    /// Simulated prompt caching: the leading system message counts as cached when it is at least 1,024 tokens,
    /// rounded down to 128-token blocks (the way hosted providers cache long shared prefixes).
    /// </summary>
    public int CachedTokens()
    {
        var first = Messages.Count > 0 && Messages[0].Role is "system" or "developer" ? QuestionText.Tokens(Messages[0].Text) : 0;
        return first >= 1024 ? first / 128 * 128 : 0;
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string ContentText(JsonElement c) => c.ValueKind switch
    {
        JsonValueKind.String => c.GetString() ?? "",
        JsonValueKind.Array => string.Concat(c.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            .Select(p => p.GetProperty("text").GetString())),
        _ => "",
    };
}

/// <summary>What a simulated model answers (before fault injection).</summary>
internal sealed record SimReply(string? Content, IReadOnlyList<WireToolCall> ToolCalls, string FinishReason)
{
    public static SimReply Text(string content) => new(content, [], "stop");

    /// <summary>For a target reply: the task the request asked (null when it matched none, or for an optimizer reply).</summary>
    public SimTask? AskedTask { get; init; }

    /// <summary>For a target reply: the question the request asked when it matched no task of the scenario (null otherwise).</summary>
    public string? UnknownQuestion { get; init; }
}

/// <summary>Writes OpenAI wire bodies.</summary>
internal static class WireWriter
{
    /// <summary>The <c>system_fingerprint</c> of every SimLab reply.</summary>
    public const string Fingerprint = "skillopt-simlab";

    /// <summary>A fixed <c>created</c> timestamp (2025-01-01): replies never depend on the clock.</summary>
    public const long Created = 1735689600;

    public static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Completion(ChatRequest request, SimReply reply, int promptTokens, int cachedTokens, int completionTokens)
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = reply.Content, ["refusal"] = null };
        if (reply.ToolCalls.Count > 0)
        {
            message["tool_calls"] = ToolCalls(reply.ToolCalls);
        }
        var body = new JsonObject
        {
            ["id"] = "chatcmpl-sim-" + request.Key[..24],
            ["object"] = "chat.completion",
            ["created"] = Created,
            ["model"] = request.Model,
            ["system_fingerprint"] = Fingerprint,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["logprobs"] = null, ["finish_reason"] = reply.FinishReason }),
            ["usage"] = Usage(promptTokens, cachedTokens, completionTokens),
        };
        return body.ToJsonString(Json);
    }

    /// <summary>Server-sent events for a streamed reply: one content chunk, one finish chunk, optional usage, [DONE].</summary>
    public static string StreamChunks(ChatRequest request, SimReply reply, int promptTokens, int cachedTokens, int completionTokens)
    {
        var id = "chatcmpl-sim-" + request.Key[..24];
        JsonObject Chunk(JsonObject delta, string? finish) => new()
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["created"] = Created,
            ["model"] = request.Model,
            ["system_fingerprint"] = Fingerprint,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
        };
        var sb = new StringBuilder();
        var delta = new JsonObject { ["role"] = "assistant", ["content"] = reply.Content ?? "" };
        if (reply.ToolCalls.Count > 0)
        {
            var calls = ToolCalls(reply.ToolCalls);
            for (var i = 0; i < calls.Count; i++)
            {
                calls[i]!["index"] = i;
            }
            delta["tool_calls"] = calls;
        }
        sb.Append("data: ").Append(Chunk(delta, null).ToJsonString(Json)).Append("\n\n");
        sb.Append("data: ").Append(Chunk(new JsonObject(), reply.FinishReason).ToJsonString(Json)).Append("\n\n");
        if (request.StreamUsage)
        {
            var usage = new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion.chunk",
                ["created"] = Created,
                ["model"] = request.Model,
                ["system_fingerprint"] = Fingerprint,
                ["choices"] = new JsonArray(),
                ["usage"] = Usage(promptTokens, cachedTokens, completionTokens),
            };
            sb.Append("data: ").Append(usage.ToJsonString(Json)).Append("\n\n");
        }
        sb.Append("data: [DONE]\n\n");
        return sb.ToString();
    }

    public static string Error(string message, string type, string? param, string? code) => new JsonObject
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
    }.ToJsonString(Json);

    private static JsonArray ToolCalls(IReadOnlyList<WireToolCall> calls)
    {
        var arr = new JsonArray();
        foreach (var c in calls)
        {
            arr.Add(new JsonObject { ["id"] = c.Id, ["type"] = "function", ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments } });
        }
        return arr;
    }

    private static JsonObject Usage(int prompt, int cached, int completion) => new()
    {
        ["prompt_tokens"] = prompt,
        ["completion_tokens"] = completion,
        ["total_tokens"] = prompt + completion,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = cached, ["audio_tokens"] = 0 },
        ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0, ["audio_tokens"] = 0, ["accepted_prediction_tokens"] = 0, ["rejected_prediction_tokens"] = 0 },
    };
}
