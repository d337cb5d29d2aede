using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace SkillOpt.Providers.Scripted;

/// <summary>
/// A deterministic, rules-based <see cref="IChatClient"/> (provider <c>scripted</c>): each request is answered by the first
/// <see cref="ScriptedRule"/> whose conditions hold on the system message (the skill), the last user message, the last
/// tool result and the requested JSON schema; in keyword-target mode a rule answers correctly only when the skill holds
/// the keywords the task needs. No network, no randomness: the same request always gets the same reply.
/// </summary>
/// <remarks>
/// Usage is reported as an approximation (characters / 4) so that token accounting has something to count. The
/// configured latency is waited on the given <see cref="TimeProvider"/> and honours cancellation.
/// </remarks>
internal sealed class ScriptedChatClient : IChatClient
{
    private readonly TimeProvider _time;
    private int _calls;

    /// <summary>Creates a client over <paramref name="rules"/>.</summary>
    /// <param name="rules">The rules.</param>
    /// <param name="timeProvider">Clock for the simulated latency; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    public ScriptedChatClient(ScriptedRuleSet rules, TimeProvider? timeProvider = null)
    {
        Rules = rules ?? throw new ArgumentNullException(nameof(rules));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Creates a client from a rules file (YAML or JSON).</summary>
    /// <param name="path">The rules file.</param>
    /// <exception cref="ScriptedRulesException">The file is missing or invalid.</exception>
    public static ScriptedChatClient FromFile(string path) => new(ScriptedRuleSet.Load(path));

    /// <summary>The rules.</summary>
    public ScriptedRuleSet Rules { get; }

    /// <summary>Calls answered so far.</summary>
    public int Calls => _calls;

    /// <summary>The model id reported in responses.</summary>
    public const string ModelId = "scripted";

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        Interlocked.Increment(ref _calls);
        if (Rules.Latency > TimeSpan.Zero)
        {
            await Task.Delay(Rules.Latency, _time, cancellationToken).ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();
        var message = Answer(list, options);
        var inputChars = list.Sum(m => (m.Text?.Length ?? 0) + m.Contents.OfType<FunctionResultContent>().Sum(r => r.Result?.ToString()?.Length ?? 0));
        var outputChars = (message.Text?.Length ?? 0) + message.Contents.OfType<FunctionCallContent>().Sum(c => c.Name.Length + 16);
        return new ChatResponse(message)
        {
            ModelId = ModelId,
            FinishReason = message.Contents.OfType<FunctionCallContent>().Any() ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop,
            Usage = new UsageDetails
            {
                InputTokenCount = Math.Max(1, inputChars / 4),
                OutputTokenCount = Math.Max(1, outputChars / 4),
                TotalTokenCount = Math.Max(1, inputChars / 4) + Math.Max(1, outputChars / 4),
            },
        };
    }

    /// <inheritdoc/>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        SingleCallStreaming.StreamAsync(token => GetResponseAsync(messages, options, token), cancellationToken);

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType?.IsInstanceOfType(this) == true ? this : null;

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private ChatMessage Answer(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        var system = string.Join("\n", messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));
        var user = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var last = messages.Count == 0 ? null : messages[^1];
        var lastRole = last?.Role == ChatRole.Tool ? "tool" : last?.Role == ChatRole.User ? "user" : last?.Role.Value;
        var toolResult = messages.LastOrDefault(m => m.Role == ChatRole.Tool) is { } tm
            ? string.Join("\n", tm.Contents.OfType<FunctionResultContent>().Select(r => ResultText(r.Result)))
            : null;
        var schema = (options?.ResponseFormat as ChatResponseFormatJson)?.SchemaName;

        foreach (var rule in Rules.Rules)
        {
            Match? userMatch = null;
            Match? toolMatch = null;
            if (rule.UserMatches is { } um && !(userMatch = um.Match(user)).Success) continue;
            if (rule.UserContains.Any(t => !user.Contains(t, StringComparison.Ordinal))) continue;
            if (rule.UserLacks.Any(t => user.Contains(t, StringComparison.Ordinal))) continue;
            if (rule.SystemContains.Any(t => !system.Contains(t, StringComparison.Ordinal))) continue;
            if (rule.SystemLacks.Any(t => system.Contains(t, StringComparison.Ordinal))) continue;
            if (rule.Schema is not null && !string.Equals(rule.Schema, schema, StringComparison.Ordinal)) continue;
            if (rule.LastRole is not null && !string.Equals(rule.LastRole, lastRole, StringComparison.Ordinal)) continue;
            if (rule.ToolResultMatches is { } trm && (toolResult is null || !(toolMatch = trm.Match(toolResult)).Success)) continue;

            var match = toolMatch ?? userMatch;
            if (rule.Requires.Any(k => !system.Contains(k, StringComparison.Ordinal)))
            {
                return new ChatMessage(ChatRole.Assistant, Substitute(rule.Otherwise ?? Rules.Default, match));
            }
            var contents = new List<AIContent>();
            if (rule.Reply is not null)
            {
                contents.Add(new TextContent(Substitute(rule.Reply, match)));
            }
            var callIndex = messages.Count(m => m.Role == ChatRole.Assistant);
            for (var i = 0; i < rule.ToolCalls.Count; i++)
            {
                var call = rule.ToolCalls[i];
                var args = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, v) in call.Arguments)
                {
                    args[k] = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? Substitute(s, match) : v?.DeepClone();
                }
                contents.Add(new FunctionCallContent($"call_{callIndex}_{i}", call.Name, args));
            }
            return new ChatMessage(ChatRole.Assistant, contents);
        }
        return new ChatMessage(ChatRole.Assistant, Rules.Default);
    }

    private static string Substitute(string template, Match? match) =>
        match is null || !template.Contains('$', StringComparison.Ordinal) ? template : match.Result(template);

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string s => s,
        JsonElement e => e.ValueKind == JsonValueKind.String ? e.GetString() ?? "" : e.GetRawText(),
        _ => JsonSerializer.Serialize(result, result.GetType()),
    };

    /// <summary>Returns a short description for diagnostics.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("ScriptedChatClient(");
        sb.Append(Rules.Rules.Count).Append(" rules");
        if (Rules.Latency > TimeSpan.Zero)
        {
            sb.Append(", ").Append(Rules.Latency.TotalMilliseconds).Append(" ms latency");
        }
        return sb.Append(')').ToString();
    }
}
