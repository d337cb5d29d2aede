using System.Text.Json;
using System.Text.Json.Serialization;
using SkillOpt.Core.Edits;

namespace SkillOpt.Core.Optimization;

/// <summary>One edit as the optimizer writes it (wire form of <see cref="SkillEdit"/>).</summary>
internal sealed class EditReply
{
    /// <summary><c>append</c>, <c>insert_after</c>, <c>replace</c> or <c>delete</c>.</summary>
    public string Op { get; set; } = "";
    /// <summary>Anchor text copied from the skill (null for append).</summary>
    public string? Target { get; set; }
    /// <summary>New text (null for delete).</summary>
    public string? Content { get; set; }
    /// <summary>Why the edit helps.</summary>
    public string? Rationale { get; set; }

    /// <summary>Converts to a <see cref="SkillEdit"/>; the op must already be validated.</summary>
    public SkillEdit ToEdit()
    {
        SkillEdit.TryParseOperation(Op, out var op);
        return new SkillEdit(op, string.IsNullOrEmpty(Target) ? null : Target, string.IsNullOrEmpty(Content) ? null : Content, Rationale);
    }

    /// <summary>Converts from a <see cref="SkillEdit"/>.</summary>
    public static EditReply From(SkillEdit e) => new() { Op = SkillEdit.OperationName(e.Operation), Target = e.Target, Content = e.Content, Rationale = e.Rationale };
}

/// <summary>Reply of a reflection call (schema <c>skillopt_reflection</c>).</summary>
internal sealed class ReflectionReply
{
    /// <summary>The optimizer's diagnosis of the trajectories.</summary>
    public string Analysis { get; set; } = "";
    /// <summary>Proposed edits.</summary>
    public List<EditReply> Edits { get; set; } = [];

    /// <summary>The failure patterns a failure analyst named, when asked (<see cref="OptimizerSchemas.ReflectionWithFailureTypes"/>).</summary>
    [JsonInclude]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    internal List<FailureTypeReply>? FailureSummary { get; set; }
}

/// <summary>One failure pattern a failure analyst named (the reference's <c>failure_summary</c> item).</summary>
internal sealed class FailureTypeReply
{
    /// <summary>A short failure type.</summary>
    public string FailureType { get; set; } = "";
    /// <summary>How many of the trajectories show it.</summary>
    public int Count { get; set; }
    /// <summary>A one-line description.</summary>
    public string Description { get; set; } = "";

    /// <summary><c>type: description</c>, or whichever of the two is there.</summary>
    public string Describe() => (FailureType.Trim(), Description.Trim()) switch
    {
        ("", var d) => d,
        (var t, "") => t,
        var (t, d) => $"{t}: {d}",
    };
}

/// <summary>Reply of a merge call (schema <c>skillopt_merge</c>).</summary>
internal sealed class MergeReply
{
    /// <summary>The merged edit list.</summary>
    public List<EditReply> Edits { get; set; } = [];
}

/// <summary>Reply of a ranking call (schema <c>skillopt_ranking</c>).</summary>
internal sealed class RankingReply
{
    /// <summary>1-based numbers of the selected edits, most important first.</summary>
    public List<int> Selected { get; set; } = [];
    /// <summary>Why these.</summary>
    public string? Reason { get; set; }
}

/// <summary>Reply of a slow-update call (schema <c>skillopt_slow_update</c>).</summary>
internal sealed class SlowUpdateReply
{
    /// <summary>Markdown guidance for the protected slow-update block.</summary>
    public string Guidance { get; set; } = "";
}

/// <summary>Reply of a meta-skill call (schema <c>skillopt_meta_skill</c>).</summary>
internal sealed class MetaSkillReply
{
    /// <summary>Advice to the optimizer for the next epoch.</summary>
    public string Advice { get; set; } = "";
}

/// <summary>
/// A typed optimizer reply format: the JSON schema requested as structured output (its <see cref="Name"/> identifies the
/// stage to providers and to the simulated optimizer) and the validation a reply must pass.
/// </summary>
/// <typeparam name="T">The reply type.</typeparam>
internal sealed class OptimizerSchema<T>
{
    internal OptimizerSchema(string name, string schemaJson)
    {
        Name = name;
        Schema = JsonDocument.Parse(schemaJson).RootElement.Clone();
    }

    /// <summary>Schema name, e.g. <c>skillopt_reflection</c>.</summary>
    public string Name { get; }

    /// <summary>The JSON schema (strict-mode compatible: every property required, no additional properties).</summary>
    public JsonElement Schema { get; }
}

/// <summary>The schemas of every optimizer stage.</summary>
internal static class OptimizerSchemas
{
    private const string EditSchema = """
        {"type":"object","additionalProperties":false,"required":["op","target","content","rationale"],
         "properties":{"op":{"type":"string","enum":["append","insert_after","replace","delete"]},
                       "target":{"type":["string","null"]},"content":{"type":["string","null"]},"rationale":{"type":"string"}}}
        """;

    /// <summary>Reflection: <c>{"analysis": string, "edits": [edit]}</c>.</summary>
    public static OptimizerSchema<ReflectionReply> Reflection { get; } = new("skillopt_reflection",
        """{"type":"object","additionalProperties":false,"required":["analysis","edits"],"properties":{"analysis":{"type":"string"},"edits":{"type":"array","items":""" + EditSchema + "}}}");

    /// <summary>
    /// Reflection that also names the failure types (<c>classic</c> preset, as the reference's failure analysts do):
    /// <c>{"analysis": string, "failure_summary": [{"failure_type": string, "count": int, "description": string}], "edits": [edit]}</c>.
    /// </summary>
    internal static OptimizerSchema<ReflectionReply> ReflectionWithFailureTypes { get; } = new("skillopt_reflection",
        """{"type":"object","additionalProperties":false,"required":["analysis","failure_summary","edits"],"properties":{"analysis":{"type":"string"},"failure_summary":{"type":"array","items":{"type":"object","additionalProperties":false,"required":["failure_type","count","description"],"properties":{"failure_type":{"type":"string"},"count":{"type":"integer"},"description":{"type":"string"}}}},"edits":{"type":"array","items":""" + EditSchema + "}}}");

    /// <summary>Merge: <c>{"edits": [edit]}</c>.</summary>
    public static OptimizerSchema<MergeReply> Merge { get; } = new("skillopt_merge",
        """{"type":"object","additionalProperties":false,"required":["edits"],"properties":{"edits":{"type":"array","items":""" + EditSchema + "}}}");

    /// <summary>Ranking: <c>{"selected": [int], "reason": string}</c> with 1-based edit numbers.</summary>
    public static OptimizerSchema<RankingReply> Ranking { get; } = new("skillopt_ranking",
        """{"type":"object","additionalProperties":false,"required":["selected","reason"],"properties":{"selected":{"type":"array","items":{"type":"integer"}},"reason":{"type":"string"}}}""");

    /// <summary>Slow update: <c>{"guidance": string}</c>.</summary>
    public static OptimizerSchema<SlowUpdateReply> SlowUpdate { get; } = new("skillopt_slow_update",
        """{"type":"object","additionalProperties":false,"required":["guidance"],"properties":{"guidance":{"type":"string"}}}""");

    /// <summary>Meta skill: <c>{"advice": string}</c>.</summary>
    public static OptimizerSchema<MetaSkillReply> MetaSkill { get; } = new("skillopt_meta_skill",
        """{"type":"object","additionalProperties":false,"required":["advice"],"properties":{"advice":{"type":"string"}}}""");

    internal static readonly JsonSerializerOptions ReplyJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>Validates a list of edits; returns an error message or null.</summary>
    internal static string? ValidateEdits(IReadOnlyList<EditReply>? edits)
    {
        if (edits is null)
        {
            return "the 'edits' array is missing";
        }
        for (var i = 0; i < edits.Count; i++)
        {
            var e = edits[i];
            if (e is null)
            {
                return $"edits[{i}] is null";
            }
            if (!SkillEdit.TryParseOperation(e.Op ?? "", out var op))
            {
                return $"edits[{i}].op is '{e.Op}', expected append, insert_after, replace or delete";
            }
            if (op != EditOperation.Append && string.IsNullOrWhiteSpace(e.Target))
            {
                return $"edits[{i}] ({e.Op}) needs a non-empty 'target' copied from the skill";
            }
            if (op != EditOperation.Delete && string.IsNullOrWhiteSpace(e.Content))
            {
                return $"edits[{i}] ({e.Op}) needs a non-empty 'content'";
            }
        }
        return null;
    }
}
