namespace SkillOpt.Core.Skills;

/// <summary>The Markdown construct an addressable <see cref="SkillBlock"/> was parsed from.</summary>
internal enum SkillBlockKind
{
    /// <summary>An ATX (<c># Title</c>) or setext (underlined) heading. Id prefix <c>h</c>.</summary>
    Heading,

    /// <summary>One top-level list item, including its nested items and continuation paragraphs. Id prefix <c>li</c>.</summary>
    ListItem,

    /// <summary>A top-level paragraph. Id prefix <c>p</c>.</summary>
    Paragraph,

    /// <summary>A fenced or indented code block (fences included). Id prefix <c>code</c>.</summary>
    Code,

    /// <summary>A block quote, whole (all its lines). Id prefix <c>quote</c>.</summary>
    Quote,

    /// <summary>An HTML block, including region markers (<c>skillopt:</c> or the reference's). Id prefix <c>html</c>.</summary>
    Html,

    /// <summary>A thematic break (<c>---</c>, <c>***</c>). Id prefix <c>hr</c>.</summary>
    ThematicBreak,

    /// <summary>A pipe table. Id prefix <c>table</c>.</summary>
    Table,

    /// <summary>Anything else Markdig reports at top level (e.g. a link reference definition). Id prefix <c>other</c>.</summary>
    Other,
}

/// <summary>
/// One addressable top-level block of a <see cref="SkillDocument"/>.
/// </summary>
/// <param name="Id">
/// Stable id: kind prefix (see <see cref="SkillBlockKind"/>) + <c>-</c> + the first 6 lowercase hex chars of the
/// SHA-256 of (kind name + newline + the block text with whitespace runs collapsed to one space and trimmed), e.g.
/// <c>li-3fa94c</c>. The n-th identical duplicate (n ≥ 2) gets the suffix <c>-n</c>. The id depends only on the
/// block's own content, so it does not change when other blocks are edited.
/// </param>
/// <param name="Kind">What the block is.</param>
/// <param name="Start">0-based offset of the block's first character in <see cref="SkillDocument.Text"/> (UTF-16 code units).</param>
/// <param name="Length">Length in UTF-16 code units; trailing line breaks and trailing blank lines are not included.</param>
/// <param name="Line">1-based line of the block's first character.</param>
/// <param name="Text">The exact source substring <c>Text.Substring(Start, Length)</c> (markers, bullets and line endings as written).</param>
/// <param name="IsProtected">True when the block overlaps a protected or slow-update region (markers included).</param>
/// <param name="Section">
/// Text of the nearest top-level heading at or before this block, without <c>#</c> marks or setext underline;
/// a heading block's own section is its own text; <see langword="null"/> before the first heading.
/// </param>
internal sealed record SkillBlock(string Id, SkillBlockKind Kind, int Start, int Length, int Line, string Text, bool IsProtected, string? Section)
{
    /// <summary>0-based offset one past the block's last character (<c>Start + Length</c>).</summary>
    public int End => Start + Length;
}

/// <summary>Which marker syntax delimits a <see cref="ProtectedRegion"/>.</summary>
internal enum RegionMarkerSyntax
{
    /// <summary>
    /// Ours: <c>&lt;!-- skillopt:protected --&gt;</c> … <c>&lt;!-- /skillopt:protected --&gt;</c> and
    /// <c>&lt;!-- skillopt:slow-update --&gt;</c> … <c>&lt;!-- /skillopt:slow-update --&gt;</c>.
    /// </summary>
    SkillOpt,

    /// <summary>
    /// The reference implementation's (microsoft/SkillOpt): <c>&lt;!-- SLOW_UPDATE_START --&gt;</c> …
    /// <c>&lt;!-- SLOW_UPDATE_END --&gt;</c> and <c>&lt;!-- APPENDIX_START --&gt;</c> … <c>&lt;!-- APPENDIX_END --&gt;</c>.
    /// </summary>
    Reference,
}

/// <summary>
/// A span of the skill that edits may not change: everything from the start of the opening marker line to the end of
/// the matching closing marker line, excluding that line's line break. Markers (see <see cref="SkillDocument"/>):
/// <c>&lt;!-- skillopt:protected --&gt;</c> or <c>&lt;!-- skillopt:slow-update --&gt;</c> closed by
/// <c>&lt;!-- /skillopt:… --&gt;</c>; or the reference's <c>&lt;!-- SLOW_UPDATE_START --&gt;</c> /
/// <c>&lt;!-- SLOW_UPDATE_END --&gt;</c> and <c>&lt;!-- APPENDIX_START --&gt;</c> / <c>&lt;!-- APPENDIX_END --&gt;</c>.
/// </summary>
/// <param name="Start">0-based offset of the start of the opening marker's line (UTF-16 code units).</param>
/// <param name="Length">Length up to the end of the closing marker's line, line break excluded.</param>
/// <param name="Line">1-based line of the opening marker.</param>
/// <param name="Kind"><c>"protected"</c>, <c>"slow-update"</c> (either syntax) or <c>"appendix"</c> (the reference's protected appendix).</param>
internal sealed record ProtectedRegion(int Start, int Length, int Line, string Kind)
{
    /// <summary>Kind name of an ordinary protected region (<c>skillopt:protected</c>).</summary>
    public const string ProtectedKind = "protected";

    /// <summary>Kind name of the slow-update guidance block (<c>skillopt:slow-update</c> or the reference's <c>SLOW_UPDATE</c>).</summary>
    public const string SlowUpdateKind = "slow-update";

    /// <summary>Kind name of the reference's protected appendix (<c>APPENDIX_START</c> … <c>APPENDIX_END</c>).</summary>
    public const string AppendixKind = "appendix";

    /// <summary>0-based offset one past the region's last character (<c>Start + Length</c>).</summary>
    public int End => Start + Length;

    /// <summary>1-based line of the closing marker.</summary>
    public int EndLine { get; init; }

    /// <summary>0-based offset of the first character after the opening marker line's line break (start of the inner text).</summary>
    public int InnerStart { get; init; }

    /// <summary>0-based offset of the start of the closing marker's line (end of the inner text, exclusive).</summary>
    public int InnerEnd { get; init; }

    /// <summary>The marker syntax of the region (<see cref="RegionMarkerSyntax.SkillOpt"/> unless set).</summary>
    public RegionMarkerSyntax Syntax { get; init; }
}
