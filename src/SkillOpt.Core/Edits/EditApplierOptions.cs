using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Edits;

/// <summary>Settings for <see cref="EditApplier"/>. Read at each <see cref="EditApplier.Apply"/> call.</summary>
internal sealed class EditApplierOptions
{
    private int _tokenBudget = 2000;
    private double _duplicateSimilarity = 0.85;
    private ITokenCounter _tokenCounter = ApproximateTokenCounter.Instance;

    /// <summary>
    /// Largest skill size, in tokens by <see cref="TokenCounter"/>, that an edit set may grow the skill to; 0 means
    /// unlimited. When the edited skill is over the budget and larger than before, the whole edit set is rejected
    /// (<see cref="EditRejectionReason.OverTokenBudget"/>); edit sets that shrink or keep an over-budget skill's size
    /// still apply. Default 2,000: the reference's trained skills end at about 500–3,300 tokens and its paper reports
    /// a median near 920 tokens (arXiv 2605.23904); 2,000 allows about twice
    /// that median while cutting the unbounded tail. Ignored when <see cref="ClassicMatching"/> is set.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    public int TokenBudget
    {
        get => _tokenBudget;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _tokenBudget = value;
        }
    }

    /// <summary>
    /// Threshold in [0, 1] for <see cref="EditRejectionReason.Duplicate"/>: content of an <c>append</c>,
    /// <c>insert_after</c> or <c>replace</c> is a duplicate when the word-set Jaccard similarity
    /// (<see cref="TextNormalizer.Similarity"/>) with an existing block is ≥ this value, or when its normalised text
    /// (at least 3 words) is contained verbatim in an existing block's normalised text. Multi-block content is also a
    /// duplicate when every one of its blocks is. Default 0.85 (one differing word in a rule of about a dozen words).
    /// Any value above 1.0 (e.g. 1.01 or <see cref="double.PositiveInfinity"/>) disables duplicate detection,
    /// containment included; exactly 1.0 flags only identical word sets and containment.
    /// Ignored when <see cref="ClassicMatching"/> is set.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to NaN or a negative value.</exception>
    public double DuplicateSimilarity
    {
        get => _duplicateSimilarity;
        set
        {
            if (double.IsNaN(value) || value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "DuplicateSimilarity must be a number ≥ 0 (above 1 disables the check).");
            }

            _duplicateSimilarity = value;
        }
    }

    /// <summary>
    /// The reference implementation's edit application (microsoft/SkillOpt at bdfdc30, <c>apply_patch_with_report</c>),
    /// for the <c>classic</c> preset: byte for byte the same document and the same per-edit status (tests compare 280
    /// cases its own code produced). The first ordinal occurrence of the target wins; content is stripped (Python's
    /// whitespace) and the reference's markers are removed from it; an edit whose target's first occurrence lies in a
    /// protected region is skipped; <c>insert_after</c> inserts <c>"\n" + content + "\n"</c> after the line that holds
    /// the target's end and becomes an append when the target is missing; <c>append</c> goes before the earliest
    /// <c>SLOW_UPDATE_START</c>/<c>APPENDIX_START</c> marker, else after the right-stripped text; <c>delete</c> removes the
    /// target text only. No duplicate check, no token budget, no ambiguity check. Three refusals the reference lacks keep
    /// the skill well formed: a target in a region with our markers (<c>skipped_protected_region</c>), content holding
    /// our <c>skillopt:</c> markers (<c>skipped_forged_marker</c>), a result whose markers no longer pair up
    /// (<c>skipped_breaks_protected_markers</c>). Default <see langword="false"/>.
    /// </summary>
    public bool ClassicMatching { get; set; }

    /// <summary>Counts tokens for <see cref="TokenBudget"/> and the result's token fields. Default <see cref="ApproximateTokenCounter.Instance"/>.</summary>
    /// <exception cref="ArgumentNullException">Set to <see langword="null"/>.</exception>
    public ITokenCounter TokenCounter
    {
        get => _tokenCounter;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _tokenCounter = value;
        }
    }
}
