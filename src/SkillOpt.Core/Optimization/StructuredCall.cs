using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Optimization;

/// <summary>The outcome of one typed optimizer call.</summary>
/// <typeparam name="T">Reply type.</typeparam>
/// <param name="Stage">Loop stage (see <see cref="ChatStage"/>).</param>
/// <param name="SchemaName">Requested schema name.</param>
/// <param name="Value">The validated reply, or null when both the reply and its repair failed.</param>
/// <param name="RawReplies">Every raw reply text received (1, or 2 when a repair was asked).</param>
/// <param name="Repaired">True when the first reply failed and the repair succeeded.</param>
/// <param name="Failure">Why the reply was unusable (set exactly when <paramref name="Value"/> is null).</param>
internal sealed record StructuredReply<T>(string Stage, string SchemaName, T? Value, IReadOnlyList<string> RawReplies, bool Repaired, string? Failure)
    where T : class;

/// <summary>Counts of optimizer replies that needed a repair or stayed unusable, per stage.</summary>
internal sealed class ReplyFailureCounter
{
    private readonly Dictionary<string, (int Repaired, int Failed)> _counts = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Records the outcome of one call.</summary>
    public void Record(string stage, bool repaired, bool failed)
    {
        if (!repaired && !failed)
        {
            return;
        }
        lock (_gate)
        {
            _counts.TryGetValue(stage, out var c);
            _counts[stage] = (c.Repaired + (repaired ? 1 : 0), c.Failed + (failed ? 1 : 0));
        }
    }

    /// <summary>Per stage: replies repaired by the re-ask, and replies unusable after it.</summary>
    public SortedDictionary<string, ReplyFailureCounts> Snapshot()
    {
        lock (_gate)
        {
            return new(_counts.ToDictionary(kv => kv.Key, kv => new ReplyFailureCounts(kv.Value.Repaired, kv.Value.Failed)), StringComparer.Ordinal);
        }
    }

    /// <summary>Adds counts restored from a checkpoint.</summary>
    public void Restore(IReadOnlyDictionary<string, ReplyFailureCounts>? counts)
    {
        lock (_gate)
        {
            foreach (var (k, v) in counts ?? new Dictionary<string, ReplyFailureCounts>())
            {
                _counts.TryGetValue(k, out var c);
                _counts[k] = (c.Repaired + v.Repaired, c.Failed + v.Failed);
            }
        }
    }
}

/// <summary>Replies repaired and replies that stayed unusable.</summary>
/// <param name="Repaired">First reply invalid, repair valid.</param>
/// <param name="Failed">Both invalid: the call contributed nothing (reported, never silently dropped).</param>
internal sealed record ReplyFailureCounts(int Repaired, int Failed);

/// <summary>
/// Makes typed optimizer calls: requests the stage's JSON schema as structured output, parses and validates the
/// reply, and asks once for a repair when it does not parse or validate. Transport errors propagate.
/// </summary>
internal sealed class StructuredCaller
{
    private readonly IChatClient _client;
    private readonly ChatOptions _baseOptions;
    private readonly StageUsageTracker _usage;
    private readonly ReplyFailureCounter _failures;

    /// <summary>Creates a caller.</summary>
    /// <param name="client">The optimizer model.</param>
    /// <param name="baseOptions">Options copied into every request (model id, temperature…); may be null.</param>
    /// <param name="usage">Where calls and tokens are recorded.</param>
    /// <param name="failures">Where repairs and unusable replies are counted.</param>
    public StructuredCaller(IChatClient client, ChatOptions? baseOptions, StageUsageTracker usage, ReplyFailureCounter failures)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _baseOptions = baseOptions ?? new ChatOptions();
        _usage = usage;
        _failures = failures;
    }

    /// <summary>Calls the optimizer and returns the validated reply or the recorded failure.</summary>
    /// <param name="stage">Stage name for accounting.</param>
    /// <param name="schema">Reply schema.</param>
    /// <param name="userPrompt">The stage prompt.</param>
    /// <param name="validate">Returns an error message for an invalid reply, or null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <remarks>Any exception of the chat client (provider errors) propagates: an outage is an error, never an empty reply.</remarks>
    public async Task<StructuredReply<T>> CallAsync<T>(string stage, OptimizerSchema<T> schema, string userPrompt, Func<T, string?> validate, CancellationToken cancellationToken)
        where T : class
    {
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, PromptTemplates.Get("system")),
            new(ChatRole.User, userPrompt),
        };
        var options = _baseOptions.Clone();
        options.ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.Schema, schema.Name, $"SkillOpt {stage} reply");
        options.WithStage(stage);

        var raws = new List<string>();
        string? error = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var sw = Stopwatch.StartNew();
            var response = await _client.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
            sw.Stop();
            _usage.AddTokens(stage, ToUsage(response.Usage));
            var text = response.Text ?? "";
            raws.Add(text);
            (var value, error) = Parse(text, validate);
            if (value is not null)
            {
                _failures.Record(stage, repaired: attempt == 1, failed: false);
                return new StructuredReply<T>(stage, schema.Name, value, raws, attempt == 1, null);
            }
            messages.Add(new ChatMessage(ChatRole.Assistant, text));
            messages.Add(new ChatMessage(ChatRole.User, PromptTemplates.Render("repair", new Dictionary<string, string> { ["error"] = error!, ["schema"] = schema.Name })));
        }
        _failures.Record(stage, repaired: false, failed: true);
        return new StructuredReply<T>(stage, schema.Name, null, raws, false, error);
    }

    internal static TokenUsage ToUsage(UsageDetails? u) =>
        new(u?.InputTokenCount ?? 0, u?.OutputTokenCount ?? 0, u?.CachedInputTokenCount ?? 0, 1);

    private static (T? Value, string? Error) Parse<T>(string text, Func<T, string?> validate) where T : class
    {
        var json = ExtractJsonObject(text);
        if (json is null)
        {
            return (null, "the reply contains no JSON object");
        }
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(json, OptimizerSchemas.ReplyJson);
        }
        catch (JsonException ex)
        {
            return (null, $"the JSON does not match the schema ({ex.Message})");
        }
        if (value is null)
        {
            return (null, "the reply is the JSON literal null");
        }
        var problem = validate(value);
        return problem is null ? (value, null) : (null, problem);
    }

    /// <summary>The reply itself when it is a JSON object, else the content of a ```json fence, else the outermost braces.</summary>
    internal static string? ExtractJsonObject(string text)
    {
        var t = text.Trim();
        if (t.StartsWith('{') && t.EndsWith('}'))
        {
            return t;
        }
        var fence = t.IndexOf("```", StringComparison.Ordinal);
        if (fence >= 0)
        {
            var start = t.IndexOf('\n', fence);
            var end = start < 0 ? -1 : t.IndexOf("```", start, StringComparison.Ordinal);
            if (start >= 0 && end > start)
            {
                var inner = t[(start + 1)..end].Trim();
                if (inner.StartsWith('{'))
                {
                    return inner;
                }
            }
        }
        var open = t.IndexOf('{');
        var close = t.LastIndexOf('}');
        return open >= 0 && close > open ? t[open..(close + 1)] : null;
    }
}
