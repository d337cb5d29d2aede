using System.Text.Json;

namespace SkillOpt.Providers.Tests.Infrastructure;

/// <summary>Response bodies in the providers' wire formats.</summary>
public static class Wire
{
    public static string OpenAIText(string text, int prompt = 120, int completion = 30, int? cached = null, int? reasoning = null,
        string id = "chatcmpl-test-1", string model = "gpt-test-2026-01-01", string finish = "stop")
    {
        var usage = new Dictionary<string, object>
        {
            ["prompt_tokens"] = prompt,
            ["completion_tokens"] = completion,
            ["total_tokens"] = prompt + completion,
        };
        if (cached is { } c) usage["prompt_tokens_details"] = new { cached_tokens = c };
        if (reasoning is { } r) usage["completion_tokens_details"] = new { reasoning_tokens = r };
        return JsonSerializer.Serialize(new
        {
            id,
            @object = "chat.completion",
            created = 1767225600,
            model,
            choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = finish } },
            usage,
        });
    }

    public static string OpenAIToolCall(string callId, string name, string argumentsJson, int prompt = 80, int completion = 12) =>
        JsonSerializer.Serialize(new
        {
            id = "chatcmpl-test-tool",
            @object = "chat.completion",
            created = 1767225600,
            model = "gpt-test-2026-01-01",
            choices = new[]
            {
                new
                {
                    index = 0,
                    message = new
                    {
                        role = "assistant",
                        content = (string?)null,
                        tool_calls = new[] { new { id = callId, type = "function", function = new { name, arguments = argumentsJson } } },
                    },
                    finish_reason = "tool_calls",
                },
            },
            usage = new { prompt_tokens = prompt, completion_tokens = completion, total_tokens = prompt + completion },
        });

    public static string OpenAIError(string message, string type = "invalid_request_error") =>
        JsonSerializer.Serialize(new { error = new { message, type, code = (string?)null } });

    public static string AnthropicText(string text, int input = 50, int output = 7, int cacheRead = 0, string stop = "end_turn") =>
        JsonSerializer.Serialize(new
        {
            id = "msg_test_1",
            type = "message",
            role = "assistant",
            model = "claude-test-1",
            content = new object[] { new { type = "text", text } },
            stop_reason = stop,
            stop_sequence = (string?)null,
            usage = new { input_tokens = input, output_tokens = output, cache_read_input_tokens = cacheRead, cache_creation_input_tokens = 0 },
        });

    public static string AnthropicToolUse(string id, string name, object input) =>
        JsonSerializer.Serialize(new
        {
            id = "msg_test_tool",
            type = "message",
            role = "assistant",
            model = "claude-test-1",
            content = new object[] { new { type = "tool_use", id, name, input } },
            stop_reason = "tool_use",
            stop_sequence = (string?)null,
            usage = new { input_tokens = 40, output_tokens = 9 },
        });

    public static string AnthropicError(string type, string message) =>
        JsonSerializer.Serialize(new { type = "error", error = new { type, message } });
}
