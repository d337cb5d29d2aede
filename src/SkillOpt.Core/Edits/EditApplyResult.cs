using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Edits;

/// <summary>Why <see cref="EditApplier"/> refused an edit.</summary>
internal enum EditRejectionReason
{
    /// <summary><c>insert_after</c>, <c>replace</c> or <c>delete</c> without a (non-blank) target.</summary>
    MissingTarget,

    /// <summary><c>append</c>, <c>insert_after</c> or <c>replace</c> without (non-blank) content.</summary>
    MissingContent,

    /// <summary>The target occurs nowhere in the skill, not even ignoring whitespace differences.</summary>
    AnchorNotFound,

    /// <summary>The target occurs in more than one place; the detail lists the lines.</summary>
    AnchorAmbiguous,

    /// <summary>The target or insertion point lies in a protected/slow-update region, or the edit would change one.</summary>
    ProtectedRegion,

    /// <summary>The content contains <c>skillopt:</c> (a region marker), or the edit would expose a marker that was inert before.</summary>
    ForgedMarker,

    /// <summary>The content (nearly) repeats a block the skill already has.</summary>
    Duplicate,

    /// <summary>The whole edit set would take the skill over <see cref="EditApplierOptions.TokenBudget"/>.</summary>
    OverTokenBudget,

    /// <summary>Applying the edit leaves the text unchanged.</summary>
    NoChange,
}

/// <summary>An edit that was applied.</summary>
/// <param name="Index">0-based position of the edit in the list passed to <see cref="EditApplier.Apply"/>.</param>
/// <param name="Edit">The edit.</param>
/// <param name="Note">How it was applied, e.g. <c>"exact match"</c>, <c>"whitespace-insensitive match"</c>, <c>"appended"</c>; in classic mode the reference's status.</param>
internal sealed record AppliedEdit(int Index, SkillEdit Edit, string Note)
{
    /// <summary>
    /// The per-edit status in the reference implementation's vocabulary. Classic mode: exactly the reference's
    /// (<c>applied_append</c>, <c>applied_append_before_protected_region</c>, <c>applied_insert_after</c>,
    /// <c>applied_insert_after_fallback_append</c>, <c>applied_insert_after_fallback_before_protected_region</c>,
    /// <c>applied_replace</c>, <c>applied_delete</c>); default mode: <c>applied_</c> + the operation's wire name, or
    /// <c>applied_append_before_protected_region</c>.
    /// </summary>
    public string Status { get; init; } = string.Empty;
}

/// <summary>An edit that was refused; the skill was not changed by it.</summary>
/// <param name="Index">0-based position of the edit in the list passed to <see cref="EditApplier.Apply"/>.</param>
/// <param name="Edit">The edit.</param>
/// <param name="Reason">Machine-readable reason.</param>
/// <param name="Detail">Human-readable explanation, e.g. <c>"anchor matches 3 places (lines 4, 9, 12)"</c>.</param>
internal sealed record RejectedEdit(int Index, SkillEdit Edit, EditRejectionReason Reason, string Detail)
{
    /// <summary>
    /// The per-edit status in the reference implementation's vocabulary. Classic mode: the reference's
    /// (<c>skipped_protected_region</c>, <c>skipped_replace_missing_target</c>, <c>skipped_replace_target_not_found</c>,
    /// <c>skipped_delete_missing_target</c>, <c>skipped_delete_target_not_found</c>) or one of the two the classic
    /// mode adds (<c>skipped_forged_marker</c>, <c>skipped_breaks_protected_markers</c>); default mode: <c>skipped_</c> +
    /// <see cref="Reason"/> in snake case (e.g. <c>skipped_anchor_ambiguous</c>, <c>skipped_over_token_budget</c>).
    /// </summary>
    public string Status { get; init; } = string.Empty;
}

/// <summary>Outcome of applying an edit list to a skill.</summary>
/// <param name="Original">The skill the edits were applied to.</param>
/// <param name="Result">The edited, re-parsed skill (<paramref name="Original"/> itself when nothing applied or the set was over budget).</param>
/// <param name="Applied">Edits applied, in input order.</param>
/// <param name="Rejected">Edits refused, in input order.</param>
/// <param name="TokensBefore">Tokens of <paramref name="Original"/> by <see cref="EditApplierOptions.TokenCounter"/>.</param>
/// <param name="TokensAfter">Tokens of <paramref name="Result"/> by the same counter.</param>
internal sealed record EditApplyResult(
    SkillDocument Original,
    SkillDocument Result,
    IReadOnlyList<AppliedEdit> Applied,
    IReadOnlyList<RejectedEdit> Rejected,
    int TokensBefore,
    int TokensAfter)
{
    /// <summary>True when <see cref="Result"/>'s text differs from <see cref="Original"/>'s (ordinal comparison).</summary>
    public bool Changed => !string.Equals(Original.Text, Result.Text, StringComparison.Ordinal);
}
