// Longer than 400 lines: the parser of the skill document: blocks, anchors and both syntaxes of protected regions depend on one Markdig walk.
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Markdig;
using Markdig.Extensions.Tables;
using Markdig.Syntax;

namespace SkillOpt.Core.Skills;

/// <summary>
/// An immutable, parsed skill document: the Markdown text placed in the target model's system prompt, split into
/// addressable top-level <see cref="Blocks"/> and the <see cref="ProtectedRegions"/> that edits may not touch.
/// </summary>
/// <remarks>
/// Parsing never rewrites the text: <see cref="Render"/> returns <see cref="Text"/> byte for byte (CRLF, trailing
/// spaces, a missing final newline and tabs are all preserved). Blocks come from Markdig (CommonMark plus pipe tables)
/// with precise source locations. Region markers are HTML comments on their own lines, recognised only where Markdig
/// sees an HTML block (so a marker shown inside a code fence or an indented code block is not a marker). Two syntaxes
/// are recognised (<see cref="RegionMarkerSyntax"/>): ours, <c>&lt;!-- skillopt:protected --&gt;</c> …
/// <c>&lt;!-- /skillopt:protected --&gt;</c> and <c>&lt;!-- skillopt:slow-update --&gt;</c> …
/// <c>&lt;!-- /skillopt:slow-update --&gt;</c> (whitespace inside the comment is free); and the reference
/// implementation's (microsoft/SkillOpt), so that a skill it trained keeps its protection here:
/// <c>&lt;!-- SLOW_UPDATE_START --&gt;</c> … <c>&lt;!-- SLOW_UPDATE_END --&gt;</c> (a slow-update block) and
/// <c>&lt;!-- APPENDIX_START --&gt;</c> … <c>&lt;!-- APPENDIX_END --&gt;</c> (a protected appendix), written exactly so
/// (the line may be indented or have trailing spaces). A region closes with the closing marker of its own syntax and kind.
/// Instances are thread-safe.
/// </remarks>
internal sealed partial class SkillDocument
{
    /// <summary>Markdown comment that opens an ordinary protected region.</summary>
    public const string ProtectedOpenMarker = "<!-- skillopt:protected -->";

    /// <summary>Markdown comment that closes an ordinary protected region.</summary>
    public const string ProtectedCloseMarker = "<!-- /skillopt:protected -->";

    /// <summary>Markdown comment that opens the slow-update guidance block.</summary>
    public const string SlowUpdateOpenMarker = "<!-- skillopt:slow-update -->";

    /// <summary>Markdown comment that closes the slow-update guidance block.</summary>
    public const string SlowUpdateCloseMarker = "<!-- /skillopt:slow-update -->";

    /// <summary>The substring every region marker of our syntax contains; edit content containing it is refused as a forged marker.</summary>
    public const string MarkerPrefix = "skillopt:";

    /// <summary>The reference implementation's marker that opens its slow-update block.</summary>
    public const string ReferenceSlowUpdateStartMarker = "<!-- SLOW_UPDATE_START -->";

    /// <summary>The reference implementation's marker that closes its slow-update block.</summary>
    public const string ReferenceSlowUpdateEndMarker = "<!-- SLOW_UPDATE_END -->";

    /// <summary>The reference implementation's marker that opens its protected appendix.</summary>
    public const string ReferenceAppendixStartMarker = "<!-- APPENDIX_START -->";

    /// <summary>The reference implementation's marker that closes its protected appendix.</summary>
    public const string ReferenceAppendixEndMarker = "<!-- APPENDIX_END -->";

    /// <summary>The reference implementation's four markers, in its order (slow-update start and end, appendix start and end).</summary>
    internal static readonly string[] ReferenceMarkers =
        [ReferenceSlowUpdateStartMarker, ReferenceSlowUpdateEndMarker, ReferenceAppendixStartMarker, ReferenceAppendixEndMarker];

    private static readonly MarkdownPipeline Pipeline =
        new MarkdownPipelineBuilder().UsePreciseSourceLocation().UsePipeTables().Build();

    private readonly int[] _lineStarts;

    private SkillDocument(string text, int[] lineStarts, IReadOnlyList<SkillBlock> blocks, IReadOnlyList<ProtectedRegion> regions, string newLine)
    {
        Text = text;
        _lineStarts = lineStarts;
        Blocks = blocks;
        ProtectedRegions = regions;
        NewLine = newLine;
        Hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>The exact source text.</summary>
    public string Text { get; }

    /// <summary>Addressable top-level blocks in document order (see <see cref="SkillBlock"/> for the id scheme); blank lines are not blocks.</summary>
    public IReadOnlyList<SkillBlock> Blocks { get; }

    /// <summary>Protected and slow-update regions in document order; they never overlap or nest.</summary>
    public IReadOnlyList<ProtectedRegion> ProtectedRegions { get; }

    /// <summary>Lowercase hex SHA-256 of the UTF-8 encoding of <see cref="Text"/> (64 chars).</summary>
    public string Hash { get; }

    /// <summary>First 12 chars of <see cref="Hash"/>, for file names.</summary>
    public string ShortHash => Hash[..12];

    /// <summary>
    /// The line break the document uses: the first one found (<c>"\r\n"</c>, <c>"\n"</c> or <c>"\r"</c>), or
    /// <c>"\n"</c> when the text has none. Text the library inserts uses this style.
    /// </summary>
    public string NewLine { get; }

    /// <summary>Number of lines (a final line break does not start a new counted line unless text follows it; the empty text has 1 line).</summary>
    public int LineCount => _lineStarts.Length;

    /// <summary>The slow-update region, or <see langword="null"/> when the document has none.</summary>
    public ProtectedRegion? SlowUpdateRegion =>
        ProtectedRegions.FirstOrDefault(r => r.Kind == ProtectedRegion.SlowUpdateKind);

    /// <summary>
    /// The text between the slow-update markers' lines (exact source, the line break before the closing marker
    /// excluded; <c>""</c> for an empty block), or <see langword="null"/> when the document has no slow-update block.
    /// </summary>
    public string? SlowUpdateGuidance
    {
        get
        {
            var region = SlowUpdateRegion;
            if (region is null)
            {
                return null;
            }

            var inner = Text[region.InnerStart..region.InnerEnd];
            return TrimOneTrailingLineBreak(inner);
        }
    }

    /// <summary>Parses a skill document.</summary>
    /// <param name="text">The Markdown text; any line-break style; may be empty.</param>
    /// <returns>The parsed document; its <see cref="Text"/> is <paramref name="text"/> itself.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="SkillFormatException">
    /// A region marker is unclosed, unopened, nested inside another region, closed by another kind's or syntax's
    /// marker, or a second slow-update block exists (of either syntax); <see cref="SkillFormatException.Line"/> and
    /// <see cref="SkillFormatException.Column"/> give the 1-based position of the offending marker.
    /// </exception>
    public static SkillDocument Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lineStarts = ComputeLineStarts(text);
        var markdown = Markdown.Parse(text, Pipeline);
        var regions = FindRegions(text, markdown, lineStarts);
        var blocks = BuildBlocks(text, markdown, lineStarts, regions);
        return new SkillDocument(text, lineStarts, blocks, regions, DetectNewLine(text));
    }

    /// <summary>Returns <see cref="Text"/> unchanged (byte-for-byte identical to the parsed input).</summary>
    public string Render() => Text;

    /// <inheritdoc/>
    public override string ToString() => Text;

    /// <summary>
    /// Whether the span overlaps any protected or slow-update region (markers included).
    /// A span with <paramref name="length"/> &gt; 0 is protected when it shares at least one character with a region;
    /// a zero-length span (an insertion point) is protected when it lies strictly inside a region
    /// (<c>region.Start &lt; start &lt; region.End</c>), so inserting just before an opening marker line or just after
    /// a closing marker line is allowed.
    /// </summary>
    /// <param name="start">0-based offset in <see cref="Text"/>.</param>
    /// <param name="length">Length in UTF-16 code units; 0 for an insertion point.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="start"/> or <paramref name="length"/> is negative.</exception>
    public bool IsProtected(int start, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return FindRegion(start, length) is not null;
    }

    /// <summary>Returns the first region overlapping the span (same rules as <see cref="IsProtected"/>), or <see langword="null"/>.</summary>
    /// <param name="start">0-based offset in <see cref="Text"/>.</param>
    /// <param name="length">Length in UTF-16 code units; 0 for an insertion point.</param>
    public ProtectedRegion? FindRegion(int start, int length)
    {
        foreach (var region in ProtectedRegions)
        {
            var overlaps = length == 0
                ? region.Start < start && start < region.End
                : start < region.End && region.Start < start + length;
            if (overlaps)
            {
                return region;
            }
        }

        return null;
    }

    /// <summary>Returns the block with the given id, or <see langword="null"/>.</summary>
    /// <param name="id">A block id such as <c>li-3fa94c</c> (ordinal comparison).</param>
    public SkillBlock? FindBlock(string id) => Blocks.FirstOrDefault(b => string.Equals(b.Id, id, StringComparison.Ordinal));

    /// <summary>Returns the 1-based line number containing the given offset.</summary>
    /// <param name="offset">0-based offset in <see cref="Text"/>, 0 ≤ offset ≤ Text.Length.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> is outside the text.</exception>
    public int GetLineNumber(int offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, Text.Length);
        return LineOf(_lineStarts, offset);
    }

    /// <summary>
    /// Returns a new document whose slow-update block holds <paramref name="guidance"/>: the text between the existing
    /// block's marker lines is replaced (whichever syntax the block uses, so a skill the reference trained keeps its one
    /// <c>SLOW_UPDATE</c> block), or, when the document has no slow-update block, a new one with our markers is
    /// appended at the end after a blank line (trailing blank lines of the document are dropped; a final line break is
    /// kept if the document had one). The reference's markers are removed from the guidance, as the reference removes
    /// them from edit content; line breaks are converted to <see cref="NewLine"/>; leading and trailing line breaks are
    /// trimmed. This method does not validate the change; callers gate it like any other edit.
    /// </summary>
    /// <param name="guidance">The guidance Markdown; may be empty (the block is then empty).</param>
    /// <returns>The re-parsed document.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="guidance"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="guidance"/> contains <c>skillopt:</c> (it would forge a region marker).</exception>
    /// <exception cref="SkillFormatException">The result does not parse (only possible when the slow-update block is nested inside another container such as a quote, or the guidance opens a code fence it does not close).</exception>
    public SkillDocument WithSlowUpdateGuidance(string guidance)
    {
        ArgumentNullException.ThrowIfNull(guidance);
        if (guidance.Contains(MarkerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Slow-update guidance must not contain '{MarkerPrefix}' (it would forge a region marker).", nameof(guidance));
        }

        var body = ConvertLineBreaks(RemoveReferenceMarkers(guidance), NewLine).Trim('\r', '\n');
        var region = SlowUpdateRegion;
        string newText;
        if (region is not null)
        {
            var inner = body.Length == 0 ? string.Empty : body + NewLine;
            newText = string.Concat(Text.AsSpan(0, region.InnerStart), inner, Text.AsSpan(region.InnerEnd));
        }
        else
        {
            var block = SlowUpdateOpenMarker + NewLine + (body.Length == 0 ? string.Empty : body + NewLine) + SlowUpdateCloseMarker;
            var contentEnd = EndOfLastNonBlankLine(Text);
            if (contentEnd == 0 && string.IsNullOrWhiteSpace(Text))
            {
                newText = block + NewLine;
            }
            else
            {
                var hadFinalBreak = contentEnd < Text.Length;
                newText = string.Concat(Text.AsSpan(0, contentEnd), NewLine + NewLine, block, hadFinalBreak ? NewLine : string.Empty);
            }
        }

        return Parse(newText);
    }

    /// <summary>
    /// The <c>classic</c> preset's slow-update writing, the reference's <c>replace_slow_update_field</c>
    /// (skillopt/optimizer/slow_update.py): every <c>SLOW_UPDATE_START</c>…<c>SLOW_UPDATE_END</c> pair and stray marker is
    /// removed, runs of three line feeds collapse to two everywhere, trailing whitespace is dropped, and
    /// <c>"\n\n&lt;!-- SLOW_UPDATE_START --&gt;\n" + guidance.strip() + "\n&lt;!-- SLOW_UPDATE_END --&gt;\n"</c> is
    /// appended, so the block moves to the end. A document whose slow-update block uses our markers gets
    /// <see cref="WithSlowUpdateGuidance"/> instead (the reference would not see that block and would add a second one).
    /// The reference's markers are removed from the guidance (the reference would write them into the block).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="guidance"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="guidance"/> contains <c>skillopt:</c>.</exception>
    /// <exception cref="SkillFormatException">The result does not parse.</exception>
    internal SkillDocument WithReferenceSlowUpdateGuidance(string guidance)
    {
        ArgumentNullException.ThrowIfNull(guidance);
        if (SlowUpdateRegion is { Syntax: RegionMarkerSyntax.SkillOpt })
        {
            return WithSlowUpdateGuidance(guidance);
        }

        if (guidance.Contains(MarkerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Slow-update guidance must not contain '{MarkerPrefix}' (it would forge a region marker).", nameof(guidance));
        }

        return Parse(ReferenceSkillText.ReplaceSlowUpdateField(Text, RemoveReferenceMarkers(guidance)));
    }

    /// <summary>
    /// The <c>classic</c> preset's empty slow-update placeholder after the first epoch, the reference's
    /// <c>inject_empty_slow_update_field</c>: unchanged when the document has a slow-update block (either syntax; the
    /// reference checks for both of its markers anywhere in the text), else trailing whitespace is dropped and
    /// <c>"\n\n&lt;!-- SLOW_UPDATE_START --&gt;\n&lt;!-- SLOW_UPDATE_END --&gt;\n"</c> appended.
    /// </summary>
    /// <exception cref="SkillFormatException">The result does not parse.</exception>
    internal SkillDocument WithReferenceSlowUpdatePlaceholder()
    {
        var text = SlowUpdateRegion is not null ? Text : ReferenceSkillText.InjectEmptySlowUpdateField(Text);
        return ReferenceEquals(text, Text) ? this : Parse(text);
    }

    /// <summary>
    /// Source spans [Start, End] (End inclusive) of every paragraph and heading at any depth of <paramref name="text"/>
    /// parsed as Markdown: the blocks that can take a following line as their continuation.
    /// </summary>
    internal static IReadOnlyList<(int Start, int End)> ParagraphSpans(string text) =>
        [.. Markdown.Parse(text, Pipeline).Descendants<LeafBlock>()
            .Where(b => b is ParagraphBlock or HeadingBlock)
            .Select(b => (b.Span.Start, b.Span.End))];

    /// <summary>True when <paramref name="content"/> holds a region marker of either syntax (<c>skillopt:</c>, any case, or one of the reference's four markers).</summary>
    internal static bool ContainsMarker(string content) =>
        content.Contains(MarkerPrefix, StringComparison.OrdinalIgnoreCase)
        || ReferenceMarkers.Any(m => content.Contains(m, StringComparison.Ordinal));

    /// <summary>Removes every occurrence of the reference's four markers (its <c>_strip_slow_update_markers</c>).</summary>
    internal static string RemoveReferenceMarkers(string text)
    {
        foreach (var marker in ReferenceMarkers)
        {
            text = text.Replace(marker, string.Empty, StringComparison.Ordinal);
        }

        return text;
    }

    internal static string ConvertLineBreaks(string text, string newLine)
    {
        if (text.IndexOfAny(['\r', '\n']) < 0)
        {
            return text;
        }

        var unified = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        return newLine == "\n" ? unified : unified.Replace("\n", newLine, StringComparison.Ordinal);
    }

    /// <summary>Offset just past the last non-whitespace character's line (before its line break); 0 for blank text.</summary>
    internal static int EndOfLastNonBlankLine(string text)
    {
        var last = text.Length - 1;
        while (last >= 0 && char.IsWhiteSpace(text[last]))
        {
            last--;
        }

        if (last < 0)
        {
            return 0;
        }

        var lineEnd = text.IndexOfAny(['\r', '\n'], last);
        return lineEnd < 0 ? text.Length : lineEnd;
    }

    internal static bool IsMarkerLine(string trimmedLine) => ClassifyMarker(trimmedLine) is not null;

    /// <summary>What a trimmed line is as a region marker, or <see langword="null"/> when it is none.</summary>
    private static (bool IsClose, string Kind, RegionMarkerSyntax Syntax, string Canonical)? ClassifyMarker(string trimmedLine)
    {
        switch (trimmedLine)
        {
            case ReferenceSlowUpdateStartMarker:
                return (false, ProtectedRegion.SlowUpdateKind, RegionMarkerSyntax.Reference, trimmedLine);
            case ReferenceSlowUpdateEndMarker:
                return (true, ProtectedRegion.SlowUpdateKind, RegionMarkerSyntax.Reference, trimmedLine);
            case ReferenceAppendixStartMarker:
                return (false, ProtectedRegion.AppendixKind, RegionMarkerSyntax.Reference, trimmedLine);
            case ReferenceAppendixEndMarker:
                return (true, ProtectedRegion.AppendixKind, RegionMarkerSyntax.Reference, trimmedLine);
        }

        var match = MarkerRegex().Match(trimmedLine);
        if (!match.Success)
        {
            return null;
        }

        var isClose = match.Groups["close"].Success;
        var kind = match.Groups["kind"].Value;
        return (isClose, kind, RegionMarkerSyntax.SkillOpt, isClose ? $"<!-- /{MarkerPrefix}{kind} -->" : $"<!-- {MarkerPrefix}{kind} -->");
    }

    /// <summary>The canonical closing marker of a region opened with the given kind and syntax.</summary>
    private static string ClosingMarker(string kind, RegionMarkerSyntax syntax) => syntax switch
    {
        RegionMarkerSyntax.Reference => kind == ProtectedRegion.SlowUpdateKind ? ReferenceSlowUpdateEndMarker : ReferenceAppendixEndMarker,
        _ => $"<!-- /{MarkerPrefix}{kind} -->",
    };

    private static string TrimOneTrailingLineBreak(string text)
    {
        if (text.EndsWith("\r\n", StringComparison.Ordinal))
        {
            return text[..^2];
        }

        return text.Length > 0 && (text[^1] == '\n' || text[^1] == '\r') ? text[..^1] : text;
    }

    private static string DetectNewLine(string text)
    {
        var i = text.IndexOfAny(['\r', '\n']);
        if (i < 0)
        {
            return "\n";
        }

        if (text[i] == '\n')
        {
            return "\n";
        }

        return i + 1 < text.Length && text[i + 1] == '\n' ? "\r\n" : "\r";
    }

    private static int[] ComputeLineStarts(string text)
    {
        var starts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r')
            {
                if (i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                if (i + 1 < text.Length)
                {
                    starts.Add(i + 1);
                }
            }
            else if (c == '\n' && i + 1 < text.Length)
            {
                starts.Add(i + 1);
            }
        }

        return [.. starts];
    }

    private static int LineOf(int[] lineStarts, int offset)
    {
        var index = Array.BinarySearch(lineStarts, offset);
        return index >= 0 ? index + 1 : ~index;
    }

    private static int LineEndAt(string text, int lineStart)
    {
        var end = text.IndexOfAny(['\r', '\n'], lineStart);
        return end < 0 ? text.Length : end;
    }

    private static int NextLineStart(string text, int lineEnd)
    {
        if (lineEnd >= text.Length)
        {
            return text.Length;
        }

        return text[lineEnd] == '\r' && lineEnd + 1 < text.Length && text[lineEnd + 1] == '\n' ? lineEnd + 2 : lineEnd + 1;
    }

    private sealed record Marker(int LineStart, int LineEnd, int Line, int Column, bool IsClose, string Kind, RegionMarkerSyntax Syntax, string Text);

    private static List<ProtectedRegion> FindRegions(string text, MarkdownDocument markdown, int[] lineStarts)
    {
        var markers = new List<Marker>();
        foreach (var html in markdown.Descendants<HtmlBlock>())
        {
            var lines = html.Lines;
            for (var i = 0; i < lines.Count; i++)
            {
                var line = lines.Lines[i];
                if (ClassifyMarker(line.Slice.ToString().Trim()) is not { } marker)
                {
                    continue;
                }

                var position = Math.Clamp(line.Slice.Start, 0, text.Length);
                var lineNumber = LineOf(lineStarts, position);
                var lineStart = lineStarts[lineNumber - 1];
                var lineEnd = LineEndAt(text, lineStart);
                var first = lineStart;
                while (first < lineEnd && char.IsWhiteSpace(text[first]))
                {
                    first++;
                }

                markers.Add(new Marker(lineStart, lineEnd, lineNumber, first - lineStart + 1, marker.IsClose, marker.Kind, marker.Syntax, marker.Canonical));
            }
        }

        markers.Sort((a, b) => a.LineStart.CompareTo(b.LineStart));
        var regions = new List<ProtectedRegion>();
        Marker? open = null;
        Marker? slowUpdate = null;
        foreach (var marker in markers)
        {
            if (!marker.IsClose)
            {
                if (open is not null)
                {
                    throw new SkillFormatException(
                        $"'{marker.Text}' opens a region inside the '{open.Text}' region opened at line {open.Line}; regions cannot nest (close that region with '{ClosingMarker(open.Kind, open.Syntax)}' first).",
                        marker.Line,
                        marker.Column);
                }

                if (marker.Kind == ProtectedRegion.SlowUpdateKind && slowUpdate is not null)
                {
                    throw new SkillFormatException(
                        $"second slow-update block ('{marker.Text}'; the first, '{slowUpdate.Text}', starts at line {slowUpdate.Line}); a skill may have only one.",
                        marker.Line,
                        marker.Column);
                }

                open = marker;
                continue;
            }

            if (open is null)
            {
                throw new SkillFormatException(
                    $"'{marker.Text}' closes a region that was never opened.",
                    marker.Line,
                    marker.Column);
            }

            if (open.Kind != marker.Kind || open.Syntax != marker.Syntax)
            {
                throw new SkillFormatException(
                    $"'{marker.Text}' does not close the '{open.Text}' region opened at line {open.Line} (expected '{ClosingMarker(open.Kind, open.Syntax)}').",
                    marker.Line,
                    marker.Column);
            }

            if (open.Kind == ProtectedRegion.SlowUpdateKind)
            {
                slowUpdate = open;
            }

            regions.Add(new ProtectedRegion(open.LineStart, marker.LineEnd - open.LineStart, open.Line, open.Kind)
            {
                EndLine = marker.Line,
                InnerStart = Math.Min(NextLineStart(text, open.LineEnd), marker.LineStart),
                InnerEnd = marker.LineStart,
                Syntax = open.Syntax,
            });
            open = null;
        }

        if (open is not null)
        {
            throw new SkillFormatException(
                $"the '{open.Text}' region is never closed (expected '{ClosingMarker(open.Kind, open.Syntax)}').",
                open.Line,
                open.Column);
        }

        return regions;
    }

    private static List<SkillBlock> BuildBlocks(string text, MarkdownDocument markdown, int[] lineStarts, List<ProtectedRegion> regions)
    {
        var raw = new List<(SkillBlockKind Kind, int Start, int End)>();
        foreach (var block in markdown)
        {
            switch (block)
            {
                case BlankLineBlock:
                    break;
                case ListBlock list:
                    foreach (var item in list)
                    {
                        Add(SkillBlockKind.ListItem, item);
                    }

                    break;
                case LinkReferenceDefinitionGroup group:
                    foreach (var definition in group)
                    {
                        Add(SkillBlockKind.Other, definition);
                    }

                    break;
                case HeadingBlock:
                    Add(SkillBlockKind.Heading, block);
                    break;
                case ParagraphBlock:
                    Add(SkillBlockKind.Paragraph, block);
                    break;
                case CodeBlock:
                    Add(SkillBlockKind.Code, block);
                    break;
                case QuoteBlock:
                    Add(SkillBlockKind.Quote, block);
                    break;
                case HtmlBlock:
                    Add(SkillBlockKind.Html, block);
                    break;
                case ThematicBreakBlock:
                    Add(SkillBlockKind.ThematicBreak, block);
                    break;
                case Table:
                    Add(SkillBlockKind.Table, block);
                    break;
                default:
                    Add(SkillBlockKind.Other, block);
                    break;
            }
        }

        raw.Sort((a, b) => a.Start.CompareTo(b.Start));
        var blocks = new List<SkillBlock>(raw.Count);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        string? section = null;
        foreach (var (kind, start, end) in raw)
        {
            var blockText = text[start..end];
            if (kind == SkillBlockKind.Heading)
            {
                section = HeadingText(blockText);
            }

            var baseId = BlockIdPrefix(kind) + "-" + ShortContentHash(kind, blockText);
            var count = seen.TryGetValue(baseId, out var n) ? n + 1 : 1;
            seen[baseId] = count;
            var id = count == 1 ? baseId : baseId + "-" + count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var isProtected = regions.Any(r => start < r.End && r.Start < end);
            blocks.Add(new SkillBlock(id, kind, start, end - start, LineOf(lineStarts, start), blockText, isProtected, section));
        }

        return blocks;

        void Add(SkillBlockKind kind, Block block)
        {
            var start = block.Span.Start;
            var end = block.Span.End + 1;
            if (start < 0 || start >= text.Length || end <= start)
            {
                return;
            }

            end = TrimTrailingBlankLines(text, start, Math.Min(end, text.Length));
            if (end > start)
            {
                raw.Add((kind, start, end));
            }
        }
    }

    private static int TrimTrailingBlankLines(string text, int start, int end)
    {
        while (true)
        {
            while (end > start && (text[end - 1] == '\r' || text[end - 1] == '\n'))
            {
                end--;
            }

            if (end <= start)
            {
                return end;
            }

            var lastBreak = text.LastIndexOfAny(['\r', '\n'], end - 1, end - start);
            if (lastBreak < start)
            {
                return end;
            }

            if (!string.IsNullOrWhiteSpace(text[(lastBreak + 1)..end]))
            {
                return end;
            }

            end = lastBreak + 1;
        }
    }

    private static string BlockIdPrefix(SkillBlockKind kind) => kind switch
    {
        SkillBlockKind.Heading => "h",
        SkillBlockKind.ListItem => "li",
        SkillBlockKind.Paragraph => "p",
        SkillBlockKind.Code => "code",
        SkillBlockKind.Quote => "quote",
        SkillBlockKind.Html => "html",
        SkillBlockKind.ThematicBreak => "hr",
        SkillBlockKind.Table => "table",
        _ => "other",
    };

    private static string ShortContentHash(SkillBlockKind kind, string blockText)
    {
        var normalised = WhitespaceRun().Replace(blockText, " ").Trim();
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(kind + "\n" + normalised));
        return Convert.ToHexStringLower(bytes, 0, 3);
    }

    private static string HeadingText(string source)
    {
        var lines = source.Split(["\r\n", "\n", "\r"], StringSplitOptions.None);
        var first = lines[0].TrimStart();
        if (first.StartsWith('#'))
        {
            var atx = AtxHeading().Match(lines[0]);
            return atx.Success ? atx.Groups["text"].Value.Trim() : first.TrimStart('#').Trim();
        }

        // Setext: every line but the underline.
        return string.Join(" ", lines[..^1].Select(l => l.Trim())).Trim();
    }

    [GeneratedRegex(@"^<!--\s*(?<close>/)?skillopt:(?<kind>protected|slow-update)\s*-->$", RegexOptions.CultureInvariant)]
    private static partial Regex MarkerRegex();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex WhitespaceRun();

    [GeneratedRegex(@"^\s{0,3}#{1,6}(?:[ \t]+(?<text>.*?))?(?:[ \t]+#+)?[ \t]*$", RegexOptions.CultureInvariant)]
    private static partial Regex AtxHeading();
}
