// Longer than 400 lines: the edit rules apply in one ordered pass (fields, markers, anchors, regions, duplicates, budget) and the classic matching beside it; each rule is documented where it is applied.
using System.Globalization;
using System.Text.RegularExpressions;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Edits;

/// <summary>
/// Applies optimizer edits to a skill safely: unique anchors, no silent fallbacks, protected regions enforced,
/// forged markers refused, near-duplicates dropped and a token budget on the whole edit set.
/// </summary>
/// <remarks>
/// <para>Edits apply in input order, each to the text produced by the edits before it; a refused edit leaves the
/// text unchanged and the next edit proceeds. Per edit (default, non-classic mode):</para>
/// <list type="number">
/// <item><description>Required fields: <c>Target</c> (non-blank) for insert_after/replace/delete →
/// <see cref="EditRejectionReason.MissingTarget"/>; <c>Content</c> (non-blank) for append/insert_after/replace →
/// <see cref="EditRejectionReason.MissingContent"/>.</description></item>
/// <item><description>Content containing a region marker (<c>skillopt:</c>, or one of the reference's
/// <c>&lt;!-- SLOW_UPDATE_START --&gt;</c>-style markers) → <see cref="EditRejectionReason.ForgedMarker"/>.</description></item>
/// <item><description>The anchor must match exactly one place: exact ordinal occurrences first (overlapping ones
/// counted); with none, a whitespace-insensitive match (the target's whitespace-separated tokens, regex-escaped,
/// joined by <c>\s+</c>). More than one match → <see cref="EditRejectionReason.AnchorAmbiguous"/> with the lines;
/// none → <see cref="EditRejectionReason.AnchorNotFound"/> (never turned into an append). Matches inside protected
/// regions count too.</description></item>
/// <item><description>An anchor overlapping a protected/slow-update region, or an insertion point strictly inside
/// one → <see cref="EditRejectionReason.ProtectedRegion"/>.</description></item>
/// <item><description>Operation: <c>insert_after</c> puts the content on new line(s) after the end of the line that
/// holds the anchor's last character, and keeps the block structure around it (CommonMark): when the content would
/// continue a paragraph or heading that began before it (a lazy continuation, a setext underline), or the line after
/// the insertion would continue a paragraph the content began (the text after a heading becoming a lazy continuation
/// of an inserted list item), a blank line separates them; <c>append</c> puts the content after the last
/// non-blank line before the protected regions that end the skill (so a slow-update block or appendix stays last;
/// after the last non-blank line when no region ends the skill), separated by one line break when both the preceding
/// block and the content are list items, else by a blank line (trailing blank lines are dropped, a final line break is
/// kept; a blank line separates the content from a region after it); <c>replace</c> substitutes the matched span (the
/// span's trailing line break, if any, is kept); <c>delete</c> removes the matched span and, when its line becomes
/// blank, the whole line (and one of two blank lines left adjacent). Inserted text uses the skill's line-break
/// style.</description></item>
/// <item><description>Duplicates (append/insert_after/replace; see <see cref="EditApplierOptions.DuplicateSimilarity"/>;
/// for replace, the replaced span is cut out of the blocks it overlaps before comparing) →
/// <see cref="EditRejectionReason.Duplicate"/>.</description></item>
/// <item><description>Unchanged text → <see cref="EditRejectionReason.NoChange"/>.</description></item>
/// <item><description>The edited text is re-parsed; if it no longer parses, or any region's text, kind or count
/// changed (e.g. an unclosed code fence swallowing a marker) → <see cref="EditRejectionReason.ProtectedRegion"/>; a
/// new region (a marker exposed by the edit) → <see cref="EditRejectionReason.ForgedMarker"/>.</description></item>
/// </list>
/// <para>After all edits, if <see cref="EditApplierOptions.TokenBudget"/> &gt; 0 and the result is over it and larger
/// than the original, every applied edit becomes a <see cref="EditRejectionReason.OverTokenBudget"/> rejection and the
/// result is the original. <see cref="EditApplierOptions.ClassicMatching"/> switches to the reference implementation's
/// edit application, described on that property. Every applied and refused edit carries a status in the reference's
/// vocabulary (<see cref="AppliedEdit.Status"/>, <see cref="RejectedEdit.Status"/>). The applier is stateless and
/// thread-safe as long as its options are not mutated concurrently.</para>
/// </remarks>
internal sealed partial class EditApplier
{
    private const int MaxListedLines = 10;
    private const int MinContainmentWords = 3;
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(2);

    private readonly EditApplierOptions _options;

    /// <summary>Creates an applier.</summary>
    /// <param name="options">Settings; <see langword="null"/> uses a new <see cref="EditApplierOptions"/> (the documented defaults).</param>
    public EditApplier(EditApplierOptions? options = null)
    {
        _options = options ?? new EditApplierOptions();
    }

    /// <summary>The settings this applier reads (the instance passed to the constructor, or its own defaults).</summary>
    public EditApplierOptions Options => _options;

    /// <summary>Applies <paramref name="edits"/> in order to <paramref name="document"/>.</summary>
    /// <param name="document">The skill to edit.</param>
    /// <param name="edits">The edits; may be empty.</param>
    /// <returns>
    /// The original and resulting documents, every edit either in <see cref="EditApplyResult.Applied"/> or
    /// <see cref="EditApplyResult.Rejected"/> (both in input order), and the token counts before and after.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="document"/> or <paramref name="edits"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="edits"/> contains a <see langword="null"/> element.</exception>
    public EditApplyResult Apply(SkillDocument document, IReadOnlyList<SkillEdit> edits)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(edits);
        if (_options.ClassicMatching)
        {
            return ApplyClassic(document, edits);
        }

        var applied = new List<AppliedEdit>();
        var rejected = new List<RejectedEdit>();
        var current = document;
        for (var i = 0; i < edits.Count; i++)
        {
            var edit = edits[i] ?? throw new ArgumentException($"Edit {i} is null.", nameof(edits));
            var outcome = ApplyOne(current, edit);
            if (outcome.Reason is { } reason)
            {
                rejected.Add(new RejectedEdit(i, edit, reason, outcome.Detail) { Status = SkippedStatus(reason) });
            }
            else
            {
                current = outcome.Document!;
                applied.Add(new AppliedEdit(i, edit, outcome.Detail) { Status = outcome.Status ?? AppliedStatus(edit.Operation) });
            }
        }

        var counter = _options.TokenCounter;
        var before = counter.CountTokens(document.Text);
        var after = ReferenceEquals(current, document) ? before : counter.CountTokens(current.Text);
        var budget = _options.TokenBudget;
        if (budget > 0 && after > budget && after > before && applied.Count > 0)
        {
            var detail = string.Create(
                CultureInfo.InvariantCulture,
                $"the edit set would grow the skill from {before} to {after} tokens, over the budget of {budget} tokens; all {applied.Count} applicable edit(s) rejected together");
            rejected.AddRange(applied.Select(a => new RejectedEdit(a.Index, a.Edit, EditRejectionReason.OverTokenBudget, detail) { Status = SkippedStatus(EditRejectionReason.OverTokenBudget) }));
            rejected.Sort((a, b) => a.Index.CompareTo(b.Index));
            applied.Clear();
            current = document;
            after = before;
        }

        return new EditApplyResult(document, current, applied, rejected, before, after);
    }

    /// <summary>
    /// The <c>classic</c> preset: the reference's <c>apply_patch_with_report</c> (<see cref="ReferenceEditApplication"/>),
    /// plus two refusals the reference lacks, because our skill model must stay well formed: content holding one of our
    /// <c>skillopt:</c> markers, and a result whose region markers no longer pair up or whose regions of our syntax changed.
    /// </summary>
    private EditApplyResult ApplyClassic(SkillDocument document, IReadOnlyList<SkillEdit> edits)
    {
        var applied = new List<AppliedEdit>();
        var rejected = new List<RejectedEdit>();
        var current = document;
        for (var i = 0; i < edits.Count; i++)
        {
            var edit = edits[i] ?? throw new ArgumentException($"Edit {i} is null.", nameof(edits));
            var op = SkillEdit.OperationName(edit.Operation);
            var usesContent = edit.Operation is EditOperation.Append or EditOperation.InsertAfter or EditOperation.Replace;
            if (usesContent && edit.Content is { } forged && forged.Contains(SkillDocument.MarkerPrefix, StringComparison.OrdinalIgnoreCase))
            {
                rejected.Add(new RejectedEdit(i, edit, EditRejectionReason.ForgedMarker,
                    $"content contains '{SkillDocument.MarkerPrefix}', which is reserved for protected-region markers")
                { Status = ReferenceEditApplication.Status.SkippedForgedMarker });
                continue;
            }

            var ours = current.ProtectedRegions.Where(r => r.Syntax == RegionMarkerSyntax.SkillOpt).ToList();
            var (text, status) = ReferenceEditApplication.ApplyEdit(current.Text, op, edit.Target ?? string.Empty, edit.Content ?? string.Empty, ours);
            if (!ReferenceEditApplication.IsApplied(status))
            {
                rejected.Add(new RejectedEdit(i, edit, ClassicReason(status), ClassicDetail(status, edit)) { Status = status });
                continue;
            }

            if (!ReferenceEquals(text, current.Text) && !string.Equals(text, current.Text, StringComparison.Ordinal))
            {
                SkillDocument next;
                try
                {
                    next = SkillDocument.Parse(text);
                }
                catch (SkillFormatException ex)
                {
                    rejected.Add(new RejectedEdit(i, edit, EditRejectionReason.ProtectedRegion, "the edited skill's region markers no longer pair up: " + ex.Message)
                    { Status = ReferenceEditApplication.Status.SkippedBreaksProtectedMarkers });
                    continue;
                }

                if (CompareRegions(current, next, RegionMarkerSyntax.SkillOpt) is { } broken)
                {
                    rejected.Add(new RejectedEdit(i, edit, broken.Reason, broken.Detail) { Status = ReferenceEditApplication.Status.SkippedBreaksProtectedMarkers });
                    continue;
                }

                current = next;
            }

            applied.Add(new AppliedEdit(i, edit, status) { Status = status });
        }

        var counter = _options.TokenCounter;
        var before = counter.CountTokens(document.Text);
        var after = ReferenceEquals(current, document) ? before : counter.CountTokens(current.Text);
        return new EditApplyResult(document, current, applied, rejected, before, after);
    }

    private static EditRejectionReason ClassicReason(string status) => status switch
    {
        ReferenceEditApplication.Status.SkippedProtectedRegion => EditRejectionReason.ProtectedRegion,
        ReferenceEditApplication.Status.SkippedReplaceMissingTarget or ReferenceEditApplication.Status.SkippedDeleteMissingTarget => EditRejectionReason.MissingTarget,
        ReferenceEditApplication.Status.SkippedReplaceTargetNotFound or ReferenceEditApplication.Status.SkippedDeleteTargetNotFound => EditRejectionReason.AnchorNotFound,
        _ => throw new InvalidOperationException($"Unexpected reference status '{status}' for a known operation."),
    };

    private static string ClassicDetail(string status, SkillEdit edit) => status switch
    {
        ReferenceEditApplication.Status.SkippedProtectedRegion => $"the target's first occurrence lies in a protected region: {Quote(edit.Target!)}",
        ReferenceEditApplication.Status.SkippedReplaceMissingTarget or ReferenceEditApplication.Status.SkippedDeleteMissingTarget => $"'{SkillEdit.OperationName(edit.Operation)}' needs a target",
        _ => $"anchor not found: {Quote(edit.Target!)}",
    };

    /// <summary>The status of an applied edit in the default mode (the reference's vocabulary): <c>applied_</c> + the operation's wire name.</summary>
    private static string AppliedStatus(EditOperation op) => "applied_" + SkillEdit.OperationName(op);

    /// <summary>The status of a refused edit in the default mode: <c>skipped_</c> + the reason in snake case (e.g. <c>skipped_anchor_ambiguous</c>).</summary>
    internal static string SkippedStatus(EditRejectionReason reason) => "skipped_" + reason switch
    {
        EditRejectionReason.MissingTarget => "missing_target",
        EditRejectionReason.MissingContent => "missing_content",
        EditRejectionReason.AnchorNotFound => "anchor_not_found",
        EditRejectionReason.AnchorAmbiguous => "anchor_ambiguous",
        EditRejectionReason.ProtectedRegion => "protected_region",
        EditRejectionReason.ForgedMarker => "forged_marker",
        EditRejectionReason.Duplicate => "duplicate",
        EditRejectionReason.OverTokenBudget => "over_token_budget",
        EditRejectionReason.NoChange => "no_change",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "Unknown rejection reason."),
    };

    private readonly record struct Outcome(SkillDocument? Document, EditRejectionReason? Reason, string Detail, string? Status = null)
    {
        public static Outcome Ok(SkillDocument document, string note, string? status = null) => new(document, null, note, status);

        public static Outcome Reject(EditRejectionReason reason, string detail) => new(null, reason, detail);
    }

    private readonly record struct Anchor(int Start, int Length, string Note);

    private Outcome ApplyOne(SkillDocument doc, SkillEdit edit)
    {
        var op = edit.Operation;
        var needsTarget = op is EditOperation.InsertAfter or EditOperation.Replace or EditOperation.Delete;
        var needsContent = op is EditOperation.Append or EditOperation.InsertAfter or EditOperation.Replace;
        if (needsTarget && string.IsNullOrWhiteSpace(edit.Target))
        {
            return Outcome.Reject(EditRejectionReason.MissingTarget, $"'{SkillEdit.OperationName(op)}' needs a non-blank target");
        }

        if (needsContent && string.IsNullOrWhiteSpace(edit.Content))
        {
            return Outcome.Reject(EditRejectionReason.MissingContent, $"'{SkillEdit.OperationName(op)}' needs non-blank content");
        }

        if (needsContent && SkillDocument.ContainsMarker(edit.Content!))
        {
            return Outcome.Reject(EditRejectionReason.ForgedMarker,
                $"content contains a region marker ('{SkillDocument.MarkerPrefix}' or the reference's '<!-- SLOW_UPDATE_START -->'-style markers), which only the skill's author may write");
        }

        var text = doc.Text;
        var nl = doc.NewLine;
        if (op == EditOperation.Append)
        {
            var (appendedText, beforeRegions) = AppendText(doc, edit.Content!);
            return Finish(doc, edit, appendedText, beforeRegions ? "appended before the protected regions that end the skill" : "appended",
                excludeStart: 0, excludeLength: 0, status: beforeRegions ? "applied_append_before_protected_region" : null);
        }

        var located = Locate(doc, edit.Target!);
        if (located.Reason is not null)
        {
            return Outcome.Reject(located.Reason.Value, located.Detail);
        }

        var anchor = located.Anchor;

        if (doc.FindRegion(anchor.Start, anchor.Length) is { } hit)
        {
            return Outcome.Reject(EditRejectionReason.ProtectedRegion, DescribeProtected(doc, "anchor", anchor.Start, hit));
        }

        switch (op)
        {
            case EditOperation.InsertAfter:
            {
                var lastChar = anchor.Start + anchor.Length;
                while (lastChar > anchor.Start && text[lastChar - 1] is '\r' or '\n')
                {
                    lastChar--;
                }

                var lineEnd = text.IndexOfAny(['\r', '\n'], Math.Max(lastChar, anchor.Start));
                if (lineEnd < 0)
                {
                    lineEnd = text.Length;
                }

                if (doc.FindRegion(lineEnd, 0) is { } region)
                {
                    return Outcome.Reject(EditRejectionReason.ProtectedRegion, DescribeProtected(doc, "insertion point", lineEnd, region));
                }

                var content = PrepareBlockContent(edit.Content!, nl);
                return Finish(doc, edit, InsertKeepingBlocks(doc, lineEnd, content), anchor.Note, 0, 0);
            }

            case EditOperation.Replace:
            {
                var span = text.Substring(anchor.Start, anchor.Length);
                var trailingBreak = TrailingLineBreak(span);
                var content = SkillDocument.ConvertLineBreaks(edit.Content!, nl).TrimEnd('\r', '\n');
                if (trailingBreak.Length > 0)
                {
                    content += nl;
                }

                var newText = string.Concat(text.AsSpan(0, anchor.Start), content, text.AsSpan(anchor.Start + anchor.Length));
                return Finish(doc, edit, newText, anchor.Note, anchor.Start, anchor.Length);
            }

            case EditOperation.Delete:
            {
                return Finish(doc, edit, DeleteSpan(text, anchor.Start, anchor.Length), anchor.Note, 0, 0);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(edit), edit.Operation, "Unknown edit operation.");
        }
    }

    private Outcome Finish(SkillDocument doc, SkillEdit edit, string newText, string note, int excludeStart, int excludeLength, string? status = null)
    {
        if (edit.Operation != EditOperation.Delete)
        {
            var duplicate = FindDuplicate(doc, edit.Content!, excludeStart, excludeLength);
            if (duplicate is not null)
            {
                return Outcome.Reject(EditRejectionReason.Duplicate, duplicate);
            }
        }

        if (string.Equals(newText, doc.Text, StringComparison.Ordinal))
        {
            return Outcome.Reject(EditRejectionReason.NoChange, "the edit leaves the skill unchanged");
        }

        SkillDocument result;
        try
        {
            result = SkillDocument.Parse(newText);
        }
        catch (SkillFormatException ex)
        {
            return Outcome.Reject(EditRejectionReason.ProtectedRegion, "the edited skill's region markers no longer parse: " + ex.Message);
        }

        var check = CompareRegions(doc, result);
        return check is null ? Outcome.Ok(result, note, status) : Outcome.Reject(check.Value.Reason, check.Value.Detail);
    }

    /// <summary>Checks that <paramref name="after"/> has the regions of <paramref name="before"/> (of <paramref name="syntax"/> only, when given) with the same kind and text.</summary>
    private static (EditRejectionReason Reason, string Detail)? CompareRegions(SkillDocument before, SkillDocument after, RegionMarkerSyntax? syntax = null)
    {
        var old = before.ProtectedRegions.Where(r => syntax is null || r.Syntax == syntax).ToList();
        var now = after.ProtectedRegions.Where(r => syntax is null || r.Syntax == syntax).ToList();
        if (now.Count > old.Count)
        {
            return (EditRejectionReason.ForgedMarker, string.Create(
                CultureInfo.InvariantCulture,
                $"the edit would create a new protected region (the skill would have {now.Count} regions instead of {old.Count}), e.g. by exposing a marker shown as an example"));
        }

        if (now.Count < old.Count)
        {
            return (EditRejectionReason.ProtectedRegion, string.Create(
                CultureInfo.InvariantCulture,
                $"the edit would hide a protected region's markers (the skill would have {now.Count} regions instead of {old.Count}), e.g. with an unclosed code fence"));
        }

        for (var i = 0; i < old.Count; i++)
        {
            var a = old[i];
            var b = now[i];
            if (a.Kind != b.Kind || a.Length != b.Length
                || string.CompareOrdinal(before.Text, a.Start, after.Text, b.Start, a.Length) != 0)
            {
                return (EditRejectionReason.ProtectedRegion, string.Create(
                    CultureInfo.InvariantCulture,
                    $"the edit would change the {a.Kind} region at line {a.Line}"));
            }
        }

        return null;
    }

    private (Anchor Anchor, EditRejectionReason? Reason, string Detail) Locate(SkillDocument doc, string target)
    {
        var text = doc.Text;
        var starts = new List<int>();
        var lengths = new List<int>();
        for (var at = text.IndexOf(target, StringComparison.Ordinal); at >= 0; at = text.IndexOf(target, at + 1, StringComparison.Ordinal))
        {
            starts.Add(at);
            lengths.Add(target.Length);
        }

        var note = "exact match";
        if (starts.Count == 0)
        {
            var tokens = target.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var pattern = string.Join(@"\s+", tokens.Select(Regex.Escape));
            foreach (Match m in Regex.Matches(text, pattern, RegexOptions.CultureInvariant, RegexTimeout))
            {
                starts.Add(m.Index);
                lengths.Add(m.Length);
            }

            note = "whitespace-insensitive match";
        }

        if (starts.Count == 0)
        {
            return (default, EditRejectionReason.AnchorNotFound, $"anchor not found (not even ignoring whitespace): {Quote(target)}");
        }

        if (starts.Count > 1)
        {
            var lines = starts.Select(doc.GetLineNumber).Distinct().ToList();
            var listed = string.Join(", ", lines.Take(MaxListedLines).Select(l => l.ToString(CultureInfo.InvariantCulture)));
            if (lines.Count > MaxListedLines)
            {
                listed += ", …";
            }

            var detail = string.Create(
                CultureInfo.InvariantCulture,
                $"anchor matches {starts.Count} places (line{(lines.Count == 1 ? string.Empty : "s")} {listed}); quote more surrounding text so it matches exactly one");
            return (default, EditRejectionReason.AnchorAmbiguous, detail);
        }

        return (new Anchor(starts[0], lengths[0], note), null, string.Empty);
    }

    private string? FindDuplicate(SkillDocument doc, string content, int excludeStart, int excludeLength)
    {
        var threshold = _options.DuplicateSimilarity;
        if (threshold > 1.0)
        {
            return null;
        }

        var excludeEnd = excludeStart + excludeLength;
        var candidates = new List<(SkillBlock Block, string Normalized, HashSet<string> Words)>();
        foreach (var block in doc.Blocks)
        {
            if (block.Kind == SkillBlockKind.Html && SkillDocument.IsMarkerLine(block.Text.Trim()))
            {
                continue;
            }

            var blockText = block.Text;
            if (excludeLength > 0 && block.Start < excludeEnd && excludeStart < block.End)
            {
                var cutFrom = Math.Max(excludeStart, block.Start) - block.Start;
                var cutTo = Math.Min(excludeEnd, block.End) - block.Start;
                blockText = string.Concat(blockText.AsSpan(0, cutFrom), " ", blockText.AsSpan(cutTo));
            }

            var normalized = TextNormalizer.Normalize(blockText);
            if (normalized.Length > 0)
            {
                candidates.Add((block, normalized, TextNormalizer.Words(normalized)));
            }
        }

        var whole = Match(content);
        if (whole is not null)
        {
            return whole;
        }

        var parts = SkillDocument.Parse(content).Blocks;
        if (parts.Count < 2)
        {
            return null;
        }

        var matches = new List<string>();
        foreach (var part in parts)
        {
            var found = Match(part.Text);
            if (found is null)
            {
                return null;
            }

            matches.Add(found);
        }

        return "every block of the content repeats existing text: " + string.Join("; ", matches);

        string? Match(string piece)
        {
            var normalized = TextNormalizer.Normalize(piece);
            if (normalized.Length == 0)
            {
                return null;
            }

            var words = TextNormalizer.Words(normalized);
            var wordCount = normalized.Count(c => c == ' ') + 1;
            foreach (var (block, blockNormalized, blockWords) in candidates)
            {
                var similarity = TextNormalizer.Jaccard(words, blockWords);
                if (similarity >= threshold)
                {
                    return string.Create(
                        CultureInfo.InvariantCulture,
                        $"content is a near-duplicate of block {block.Id} (line {block.Line}, similarity {similarity:0.00} ≥ {threshold:0.00})");
                }

                if (wordCount >= MinContainmentWords
                    && (" " + blockNormalized + " ").Contains(" " + normalized + " ", StringComparison.Ordinal))
                {
                    return string.Create(
                        CultureInfo.InvariantCulture,
                        $"content is already contained in block {block.Id} (line {block.Line})");
                }
            }

            return null;
        }
    }

    /// <summary>
    /// The text with <paramref name="rawContent"/> appended: before the protected regions that end the skill (only blank
    /// lines between and after them), else after the last non-blank line. Returns whether it went before regions.
    /// </summary>
    private static (string Text, bool BeforeRegions) AppendText(SkillDocument doc, string rawContent)
    {
        var text = doc.Text;
        var nl = doc.NewLine;
        var content = PrepareBlockContent(rawContent, nl);
        var tailStart = TrailingRegionsStart(doc);
        if (tailStart is { } regionStart)
        {
            var headEnd = SkillDocument.EndOfLastNonBlankLine(text[..regionStart]);
            var tail = text[regionStart..];
            if (headEnd == 0)
            {
                return (content + nl + nl + tail, true);
            }

            var previous = doc.Blocks.LastOrDefault(b => b.End <= headEnd);
            return (string.Concat(text[..headEnd], Separator(previous, content, nl), content + nl + nl, tail), true);
        }

        var contentEnd = SkillDocument.EndOfLastNonBlankLine(text);
        if (contentEnd == 0)
        {
            return (content + nl, false);
        }

        var hadFinalBreak = contentEnd < text.Length;
        var lastBlock = doc.Blocks.Count > 0 ? doc.Blocks[^1] : null;
        return (string.Concat(text.AsSpan(0, contentEnd), Separator(lastBlock, content, nl), content, hadFinalBreak ? nl : string.Empty), false);
    }

    private static string Separator(SkillBlock? previous, string content, string nl) =>
        previous?.Kind == SkillBlockKind.ListItem && StartsWithListMarker(content) ? nl : nl + nl;

    /// <summary>Start of the first of the protected regions that end the document (nothing but whitespace after and between them), or null.</summary>
    private static int? TrailingRegionsStart(SkillDocument doc)
    {
        int? start = null;
        var end = doc.Text.Length;
        for (var i = doc.ProtectedRegions.Count - 1; i >= 0; i--)
        {
            var region = doc.ProtectedRegions[i];
            if (!string.IsNullOrWhiteSpace(doc.Text[region.End..end]))
            {
                break;
            }

            start = region.Start;
            end = region.Start;
        }

        return start;
    }

    /// <summary>
    /// Inserts <paramref name="content"/> on its own line(s) at <paramref name="lineEnd"/> (the end of the anchor's line)
    /// so that Markdown's block structure is kept (CommonMark): the content must not continue a paragraph or heading
    /// that began before it (lazy continuation, a setext underline), and the line after the insertion must not continue
    /// a paragraph or heading that the content began (the text after a heading swallowed by an inserted list item); a
    /// blank line goes where either would happen.
    /// </summary>
    private static string InsertKeepingBlocks(SkillDocument doc, int lineEnd, string content)
    {
        var text = doc.Text;
        var nl = doc.NewLine;
        var nextLineStart = NextLineStart(text, lineEnd);
        var hasNextLine = nextLineStart < text.Length;
        var before = nl;
        var after = string.Empty;
        while (true)
        {
            var candidate = string.Concat(text.AsSpan(0, lineEnd), before + content + after, text.AsSpan(lineEnd));
            var contentStart = lineEnd + before.Length;
            var nextStart = nextLineStart + before.Length + content.Length + after.Length;
            var spans = SkillDocument.ParagraphSpans(candidate);
            var swallowed = before.Length == nl.Length && spans.Any(p => p.Start < contentStart && contentStart <= p.End);
            var swallows = after.Length == 0 && hasNextLine && spans.Any(p => contentStart <= p.Start && p.Start < nextStart && nextStart <= p.End);
            if (!swallowed && !swallows)
            {
                return candidate;
            }

            before = swallowed ? nl + nl : before;
            after = swallows ? nl : after;
        }
    }

    private static string DeleteSpan(string text, int start, int length)
    {
        var result = text.Remove(start, length);
        var lineStart = start == 0 ? 0 : result.LastIndexOfAny(['\r', '\n'], start - 1) + 1;
        var lineEnd = result.IndexOfAny(['\r', '\n'], start);
        if (lineEnd < 0)
        {
            lineEnd = result.Length;
        }

        if (!string.IsNullOrWhiteSpace(result[lineStart..lineEnd]))
        {
            return result;
        }

        // The line became blank: remove it together with one line break.
        int removeFrom;
        int removeTo;
        if (lineEnd < result.Length)
        {
            removeFrom = lineStart;
            removeTo = NextLineStart(result, lineEnd);
        }
        else
        {
            removeTo = lineEnd;
            removeFrom = lineStart;
            if (lineStart > 0)
            {
                removeFrom = result[lineStart - 1] == '\n' && lineStart >= 2 && result[lineStart - 2] == '\r' ? lineStart - 2 : lineStart - 1;
            }
        }

        result = result.Remove(removeFrom, removeTo - removeFrom);

        // Do not leave two blank lines (or a leading blank line) where the deleted line was.
        if (removeFrom < result.Length)
        {
            var nextEnd = result.IndexOfAny(['\r', '\n'], removeFrom);
            if (nextEnd < 0)
            {
                nextEnd = result.Length;
            }

            if (string.IsNullOrWhiteSpace(result[removeFrom..nextEnd]) && (removeFrom == 0 || IsBlankLineBefore(result, removeFrom)))
            {
                result = result.Remove(removeFrom, NextLineStart(result, nextEnd) - removeFrom);
            }
        }

        return result;
    }

    private static bool IsBlankLineBefore(string text, int lineStart)
    {
        // lineStart > 0: the previous line ends with the break just before lineStart.
        var breakStart = text[lineStart - 1] == '\n' && lineStart >= 2 && text[lineStart - 2] == '\r' ? lineStart - 2 : lineStart - 1;
        var prevStart = breakStart == 0 ? 0 : text.LastIndexOfAny(['\r', '\n'], breakStart - 1) + 1;
        return string.IsNullOrWhiteSpace(text[prevStart..breakStart]);
    }

    private static int NextLineStart(string text, int lineEnd)
    {
        if (lineEnd >= text.Length)
        {
            return text.Length;
        }

        return text[lineEnd] == '\r' && lineEnd + 1 < text.Length && text[lineEnd + 1] == '\n' ? lineEnd + 2 : lineEnd + 1;
    }

    private static string PrepareBlockContent(string content, string nl)
    {
        var converted = SkillDocument.ConvertLineBreaks(content, nl);

        // Drop leading blank lines (keep the first line's indentation) and trailing whitespace.
        var firstContent = 0;
        while (true)
        {
            var lineEnd = converted.IndexOfAny(['\r', '\n'], firstContent);
            if (lineEnd < 0 || !string.IsNullOrWhiteSpace(converted[firstContent..lineEnd]))
            {
                break;
            }

            firstContent = NextLineStart(converted, lineEnd);
        }

        return converted[firstContent..].TrimEnd();
    }

    private static string TrailingLineBreak(string span)
    {
        if (span.EndsWith("\r\n", StringComparison.Ordinal))
        {
            return "\r\n";
        }

        return span.Length > 0 && span[^1] is '\n' or '\r' ? span[^1..] : string.Empty;
    }

    private static bool StartsWithListMarker(string content) => ListMarker().IsMatch(content);

    private static string DescribeProtected(SkillDocument doc, string what, int offset, ProtectedRegion region) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"{what} at line {doc.GetLineNumber(offset)} lies in the {region.Kind} region (lines {region.Line}–{region.EndLine}), which edits may not change");

    private static string Quote(string text)
    {
        var oneLine = text.ReplaceLineEndings("⏎");
        return "\"" + (oneLine.Length > 80 ? oneLine[..77] + "…" : oneLine) + "\"";
    }

    [GeneratedRegex(@"^[ ]{0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)", RegexOptions.CultureInvariant)]
    private static partial Regex ListMarker();
}
