using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Edits;

/// <summary>
/// The reference implementation's edit application, <c>apply_patch_with_report</c> (microsoft/SkillOpt at bdfdc30,
/// skillopt/optimizer/skill.py), ported operation for operation so that the <c>classic</c> preset produces the same
/// bytes and the same per-edit status. Tests compare it with 280 cases the reference's own code produced.
/// </summary>
/// <remarks>
/// Per edit, on the text the edits before it produced: the content is stripped (Python's <c>str.strip</c>) and the
/// reference's four markers are removed from it; an edit whose target's first occurrence lies inside a protected region
/// (from its start marker's first occurrence to the end of its end marker's first occurrence; both must occur) is
/// <c>skipped_protected_region</c>, whatever its operation; <c>append</c> adds <c>"\n\n" + content + "\n\n"</c> before the
/// earliest start marker (the text before it right-stripped), else <c>"\n\n" + content + "\n"</c> after the right-stripped
/// text; <c>insert_after</c> inserts <c>"\n" + content + "\n"</c> after the line break that ends the line where the
/// target's first occurrence ends (at the end of a text without one), and falls back to the append when the target is
/// empty or absent; <c>replace</c> and <c>delete</c> substitute the first occurrence (<c>delete</c> removes only the
/// target text, so an emptied line stays). Matching is ordinal substring search; inserted line breaks are <c>"\n"</c>
/// whatever the document uses.
/// </remarks>
internal static class ReferenceEditApplication
{
    /// <summary>Statuses the reference reports, and the two that only the <c>classic</c> preset adds (see <see cref="EditApplier"/>).</summary>
    public static class Status
    {
        public const string AppliedAppend = "applied_append";
        public const string AppliedAppendBeforeProtectedRegion = "applied_append_before_protected_region";
        public const string AppliedInsertAfter = "applied_insert_after";
        public const string AppliedInsertAfterFallbackAppend = "applied_insert_after_fallback_append";
        public const string AppliedInsertAfterFallbackBeforeProtectedRegion = "applied_insert_after_fallback_before_protected_region";
        public const string AppliedReplace = "applied_replace";
        public const string AppliedDelete = "applied_delete";
        public const string SkippedProtectedRegion = "skipped_protected_region";
        public const string SkippedReplaceMissingTarget = "skipped_replace_missing_target";
        public const string SkippedReplaceTargetNotFound = "skipped_replace_target_not_found";
        public const string SkippedDeleteMissingTarget = "skipped_delete_missing_target";
        public const string SkippedDeleteTargetNotFound = "skipped_delete_target_not_found";
        public const string SkippedUnknownOp = "skipped_unknown_op";

        /// <summary>Ours: the content holds one of our <c>skillopt:</c> markers.</summary>
        public const string SkippedForgedMarker = "skipped_forged_marker";

        /// <summary>Ours: the result would leave a region marker unmatched, or change a region of our syntax.</summary>
        public const string SkippedBreaksProtectedMarkers = "skipped_breaks_protected_markers";
    }

    /// <summary>True for the statuses of an applied edit (they start with <c>applied</c>).</summary>
    public static bool IsApplied(string status) => status.StartsWith("applied", StringComparison.Ordinal);

    /// <summary>Applies one edit as the reference's <c>_apply_edit_with_report</c> does.</summary>
    /// <param name="skill">The current text.</param>
    /// <param name="op">The operation as the optimizer wrote it (<c>append</c>, <c>insert_after</c>, <c>replace</c>, <c>delete</c>; anything else is <c>skipped_unknown_op</c>).</param>
    /// <param name="target">The target; <c>""</c> when absent.</param>
    /// <param name="content">The content; <c>""</c> when absent.</param>
    /// <param name="extraRegions">
    /// Protected regions the reference does not know (regions with our markers), as [Start, End) offsets in
    /// <paramref name="skill"/>: an edit whose target's first occurrence lies in one is skipped like one in the
    /// reference's regions. They do not move appends (the reference would see plain text there).
    /// </param>
    /// <returns>The new text (the same instance when skipped) and the status.</returns>
    public static (string Skill, string Status) ApplyEdit(string skill, string op, string target, string content, IReadOnlyList<ProtectedRegion>? extraRegions = null)
    {
        var extra = extraRegions ?? [];
        content = SkillDocument.RemoveReferenceMarkers(ReferenceSkillText.Strip(content));
        if (target.Length > 0 && IsInProtectedRegion(skill, target, extra))
        {
            return (skill, Status.SkippedProtectedRegion);
        }

        switch (op)
        {
            case "append":
                return Append(skill, content, Status.AppliedAppendBeforeProtectedRegion, Status.AppliedAppend);

            case "insert_after":
            {
                var at = target.Length == 0 ? -1 : skill.IndexOf(target, StringComparison.Ordinal);
                if (at < 0)
                {
                    return Append(skill, content, Status.AppliedInsertAfterFallbackBeforeProtectedRegion, Status.AppliedInsertAfterFallbackAppend);
                }

                var newline = skill.IndexOf('\n', at + target.Length);
                var insertAt = newline >= 0 ? newline + 1 : skill.Length;
                return (string.Concat(skill.AsSpan(0, insertAt), "\n" + content + "\n", skill.AsSpan(insertAt)), Status.AppliedInsertAfter);
            }

            case "replace":
                return ReplaceFirst(skill, target, content, Status.SkippedReplaceMissingTarget, Status.SkippedReplaceTargetNotFound, Status.AppliedReplace);

            case "delete":
                return ReplaceFirst(skill, target, string.Empty, Status.SkippedDeleteMissingTarget, Status.SkippedDeleteTargetNotFound, Status.AppliedDelete);

            default:
                return (skill, Status.SkippedUnknownOp);
        }
    }

    /// <summary>Applies edits in order, as <c>apply_patch_with_report</c>, with no regions other than the reference's.</summary>
    /// <returns>The final text and one status per edit, in order.</returns>
    public static (string Skill, IReadOnlyList<string> Statuses) ApplyPatch(string skill, IEnumerable<(string Op, string Target, string Content)> edits)
    {
        var statuses = new List<string>();
        foreach (var (op, target, content) in edits)
        {
            (skill, var status) = ApplyEdit(skill, op, target, content);
            statuses.Add(status);
        }

        return (skill, statuses);
    }

    private static (string, string) ReplaceFirst(string skill, string target, string content, string missing, string notFound, string applied)
    {
        if (target.Length == 0)
        {
            return (skill, missing);
        }

        var at = skill.IndexOf(target, StringComparison.Ordinal);
        if (at < 0)
        {
            return (skill, notFound);
        }

        return (string.Concat(skill.AsSpan(0, at), content, skill.AsSpan(at + target.Length)), applied);
    }

    private static (string, string) Append(string skill, string content, string beforeRegion, string atEnd)
    {
        var protectedStart = EarliestProtectedStart(skill);
        if (protectedStart >= 0)
        {
            var before = ReferenceSkillText.RStrip(skill[..protectedStart]);
            return (before + "\n\n" + content + "\n\n" + skill[protectedStart..], beforeRegion);
        }

        return (ReferenceSkillText.RStrip(skill) + "\n\n" + content + "\n", atEnd);
    }

    /// <summary>The reference's <c>_earliest_protected_start</c>: the first occurrence of either start marker; −1 when none.</summary>
    private static int EarliestProtectedStart(string skill)
    {
        var earliest = -1;
        foreach (var start in (ReadOnlySpan<string>)[SkillDocument.ReferenceSlowUpdateStartMarker, SkillDocument.ReferenceAppendixStartMarker])
        {
            var at = skill.IndexOf(start, StringComparison.Ordinal);
            if (at >= 0 && (earliest < 0 || at < earliest))
            {
                earliest = at;
            }
        }

        return earliest;
    }

    /// <summary>The reference's <c>_is_in_protected_region</c>, extended by <paramref name="extra"/>.</summary>
    private static bool IsInProtectedRegion(string skill, string target, IReadOnlyList<ProtectedRegion> extra)
    {
        var at = skill.IndexOf(target, StringComparison.Ordinal);
        if (at < 0)
        {
            return false;
        }

        foreach (var (start, end) in (ReadOnlySpan<(string, string)>)[
            (SkillDocument.ReferenceSlowUpdateStartMarker, SkillDocument.ReferenceSlowUpdateEndMarker),
            (SkillDocument.ReferenceAppendixStartMarker, SkillDocument.ReferenceAppendixEndMarker)])
        {
            var startAt = skill.IndexOf(start, StringComparison.Ordinal);
            var endAt = skill.IndexOf(end, StringComparison.Ordinal);
            if (startAt < 0 || endAt < 0)
            {
                continue;
            }

            if (startAt <= at && at < endAt + end.Length)
            {
                return true;
            }
        }

        return extra.Any(r => r.Start <= at && at < r.End);
    }
}
