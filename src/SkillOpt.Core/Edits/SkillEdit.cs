using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace SkillOpt.Core.Edits;

/// <summary>
/// What an edit does. JSON/wire names (used by System.Text.Json through the attached converter and by
/// <see cref="SkillEdit.OperationName"/>): <c>"append"</c>, <c>"insert_after"</c>, <c>"replace"</c>, <c>"delete"</c>.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<EditOperation>))]
internal enum EditOperation
{
    /// <summary>Add <see cref="SkillEdit.Content"/> at the end of the skill. Wire name <c>append</c>.</summary>
    [JsonStringEnumMemberName("append")]
    Append,

    /// <summary>Add <see cref="SkillEdit.Content"/> on new line(s) after the line where <see cref="SkillEdit.Target"/> ends. Wire name <c>insert_after</c>.</summary>
    [JsonStringEnumMemberName("insert_after")]
    InsertAfter,

    /// <summary>Replace the text matched by <see cref="SkillEdit.Target"/> with <see cref="SkillEdit.Content"/>. Wire name <c>replace</c>.</summary>
    [JsonStringEnumMemberName("replace")]
    Replace,

    /// <summary>Remove the text matched by <see cref="SkillEdit.Target"/>. Wire name <c>delete</c>.</summary>
    [JsonStringEnumMemberName("delete")]
    Delete,
}

/// <summary>One proposed change to a skill document, as the optimizer model writes it.</summary>
/// <param name="Operation">What to do.</param>
/// <param name="Target">
/// Anchor text that must occur in the skill (exactly once, see <see cref="EditApplier"/>); required for
/// <see cref="EditOperation.InsertAfter"/>, <see cref="EditOperation.Replace"/> and <see cref="EditOperation.Delete"/>,
/// ignored for <see cref="EditOperation.Append"/>.
/// </param>
/// <param name="Content">
/// New Markdown text; required for <see cref="EditOperation.Append"/>, <see cref="EditOperation.InsertAfter"/> and
/// <see cref="EditOperation.Replace"/>, ignored for <see cref="EditOperation.Delete"/>.
/// </param>
/// <param name="Rationale">The optimizer's one-line reason, kept for reports; not part of <see cref="Key"/>.</param>
internal sealed record SkillEdit(EditOperation Operation, string? Target, string? Content, string? Rationale = null)
{
    /// <summary>
    /// Normalised identity of the edit: the first 16 lowercase hex chars of the SHA-256 of the UTF-8 string
    /// <c>OperationName(Operation) + "\n" + TextNormalizer.Normalize(Target) + "\n" + TextNormalizer.Normalize(Content)</c>.
    /// Edits that differ only in case, whitespace, Markdown punctuation/bullets or <see cref="Rationale"/> share a key
    /// (used for de-duplication and the rejected-edit memory). Computed on each access; not part of record equality.
    /// </summary>
    public string Key => ComputeKey(Operation, Target, Content);

    /// <summary>Parses a wire name into an operation.</summary>
    /// <param name="name">
    /// <c>append</c>, <c>insert_after</c>, <c>replace</c> or <c>delete</c>; matching ignores case, surrounding
    /// whitespace and <c>_</c>/<c>-</c>/space separators (so <c>InsertAfter</c> and <c>insert-after</c> also parse).
    /// </param>
    /// <param name="op">The operation, or <see cref="EditOperation.Append"/> when parsing fails.</param>
    /// <returns>True when <paramref name="name"/> names an operation; false for null, empty or unknown names.</returns>
    public static bool TryParseOperation(string? name, out EditOperation op)
    {
        op = EditOperation.Append;
        if (string.IsNullOrWhiteSpace(name))
        {
            return false;
        }

        var compact = new string([.. name.Trim().Where(c => c is not ('_' or '-' or ' ')).Select(char.ToLowerInvariant)]);
        switch (compact)
        {
            case "append":
                op = EditOperation.Append;
                return true;
            case "insertafter":
                op = EditOperation.InsertAfter;
                return true;
            case "replace":
                op = EditOperation.Replace;
                return true;
            case "delete":
                op = EditOperation.Delete;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Returns the wire name of an operation: <c>append</c>, <c>insert_after</c>, <c>replace</c> or <c>delete</c>.</summary>
    /// <param name="op">The operation.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="op"/> is not a defined value.</exception>
    public static string OperationName(EditOperation op) => op switch
    {
        EditOperation.Append => "append",
        EditOperation.InsertAfter => "insert_after",
        EditOperation.Replace => "replace",
        EditOperation.Delete => "delete",
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown edit operation."),
    };

    private static string ComputeKey(EditOperation op, string? target, string? content)
    {
        var material = OperationName(op) + "\n" + TextNormalizer.Normalize(target) + "\n" + TextNormalizer.Normalize(content);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material)))[..16];
    }
}
