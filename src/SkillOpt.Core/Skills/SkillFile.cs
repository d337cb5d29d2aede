using System.Buffers;
using System.Globalization;
using System.Text;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Core.Skills;

/// <summary>
/// An error in a skill file, located in it: <c>file(line,col): error SKOPT11xx: detail</c> (see docs/diagnostics.md).
/// Codes: <see cref="SkillFile.MalformedMarkersCode"/>, <see cref="SkillFile.NotUtf8Code"/>,
/// <see cref="SkillFile.BinaryContentCode"/>, <see cref="SkillFile.OverTokenLimitCode"/>.
/// </summary>
internal sealed class SkillFileException : FileDiagnosticException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">One of the <c>SKOPT11xx</c> codes of <see cref="SkillFile"/>.</param>
    /// <param name="file">The skill file.</param>
    /// <param name="line">1-based line; 0 when the error concerns the whole file.</param>
    /// <param name="column">1-based column (UTF-16 code units, as editors and compilers count); 0 with no line.</param>
    /// <param name="detail">What is wrong and what to do.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public SkillFileException(string code, string file, int line, int column, string detail, Exception? inner = null)
        : base(code, file, line, column, detail, inner)
    {
    }
}

/// <summary>
/// Reads a skill file the way training needs it: UTF-8 text (a UTF-8 byte-order mark is skipped), no binary content,
/// well-formed protected-region markers; and checks its size before any model call. Every refusal is a
/// <see cref="SkillFileException"/> located in the file.
/// </summary>
internal static class SkillFile
{
    /// <summary>The protected-region markers are unterminated, unmatched, nested, mismatched, or there are two slow-update blocks.</summary>
    public const string MalformedMarkersCode = DiagnosticCodes.SkillMalformedMarkers;

    /// <summary>The file is not valid UTF-8 (an invalid byte sequence, or a UTF-16/UTF-32 byte-order mark).</summary>
    public const string NotUtf8Code = DiagnosticCodes.SkillNotUtf8;

    /// <summary>The file holds binary content: a NUL byte or another control character that text never has.</summary>
    public const string BinaryContentCode = DiagnosticCodes.SkillBinaryContent;

    /// <summary>The skill is larger than <c>skill.max_initial_tokens</c>.</summary>
    public const string OverTokenLimitCode = DiagnosticCodes.SkillOverTokenLimit;

    /// <summary>Warning: the initial skill is larger than <c>skill.token_budget</c>, so no edit set may grow it.</summary>
    public const string OverTokenBudgetCode = DiagnosticCodes.SkillOverTokenBudget;

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Reads and parses the skill file at <paramref name="path"/>.</summary>
    /// <param name="path">The skill file; its text is used exactly (after a UTF-8 byte-order mark, if any).</param>
    /// <returns>The parsed skill.</returns>
    /// <exception cref="SkillFileException">
    /// <see cref="NotUtf8Code"/>, <see cref="BinaryContentCode"/> or <see cref="MalformedMarkersCode"/>, with the line and
    /// column of the first offending byte or marker.
    /// </exception>
    /// <exception cref="IOException">The file cannot be read (for example it does not exist).</exception>
    public static SkillDocument Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes and parses a skill file's bytes (<paramref name="path"/> is used in messages).</summary>
    /// <param name="bytes">The file's content.</param>
    /// <param name="path">The file's name or path, for the diagnostics.</param>
    /// <returns>The parsed skill.</returns>
    /// <exception cref="SkillFileException">As <see cref="Read"/>.</exception>
    public static SkillDocument Parse(ReadOnlySpan<byte> bytes, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (bytes.StartsWith(Utf8Bom))
        {
            bytes = bytes[Utf8Bom.Length..];
        }
        else if (Utf16Or32Bom(bytes) is { } encoding)
        {
            throw new SkillFileException(NotUtf8Code, path, 1, 1, $"the skill file is {encoding} (it starts with a {encoding} byte-order mark); save it as UTF-8");
        }

        var text = Decode(bytes, path);
        try
        {
            return SkillDocument.Parse(text);
        }
        catch (SkillFormatException ex)
        {
            throw new SkillFileException(MalformedMarkersCode, path, ex.Line, ex.Column, ex.Detail, ex);
        }
    }

    /// <summary>
    /// Refuses a skill over <paramref name="maxTokens"/> before training: every target call sends the skill whole, so
    /// the message gives its size and, when the target model's price is known, what it costs per target call.
    /// </summary>
    /// <param name="skill">The skill.</param>
    /// <param name="path">The skill file, for the diagnostic.</param>
    /// <param name="maxTokens">Largest size in tokens (<c>skill.max_initial_tokens</c>); 0 or less means no limit.</param>
    /// <param name="targetModel">The target model's id, named in the message; may be null.</param>
    /// <param name="price">The target model's price, or null when the configuration has none.</param>
    /// <param name="counter">Token counter; default <see cref="ApproximateTokenCounter.Instance"/>.</param>
    /// <exception cref="SkillFileException"><see cref="OverTokenLimitCode"/>, without a line.</exception>
    public static void EnsureWithinTokenLimit(SkillDocument skill, string path, int maxTokens, string? targetModel, ModelPrice? price, ITokenCounter? counter = null)
    {
        ArgumentNullException.ThrowIfNull(skill);
        ArgumentNullException.ThrowIfNull(path);
        if (maxTokens <= 0)
        {
            return;
        }

        var tokens = (counter ?? ApproximateTokenCounter.Instance).CountTokens(skill.Text);
        if (tokens <= maxTokens)
        {
            return;
        }

        var model = string.IsNullOrWhiteSpace(targetModel) ? "the target model" : $"'{targetModel}'";
        var cost = price is null
            ? $"no cost estimate: the configuration has no 'pricing' entry for {model}"
            : string.Create(CultureInfo.InvariantCulture,
                $"about ${tokens * price.InputPerMillion / 1_000_000d:0.####} of input per target call at {model}'s price of ${price.InputPerMillion:0.####} per million input tokens");
        throw new SkillFileException(OverTokenLimitCode, path, 0, 0, string.Create(CultureInfo.InvariantCulture,
            $"the skill is {tokens:N0} tokens ({skill.Text.Length:N0} characters at 4 a token), over skill.max_initial_tokens = {maxTokens:N0}; every target call sends it whole ({cost}); shorten the skill or raise skill.max_initial_tokens (0 = no limit)"));
    }

    /// <summary>
    /// The warning for an initial skill over the edit token budget (<c>skill.token_budget</c>): edit sets that would grow
    /// it are refused, so it can only shrink or keep its size. Null when within the budget or the budget is 0 (unlimited).
    /// </summary>
    /// <param name="skill">The initial skill.</param>
    /// <param name="tokenBudget"><c>skill.token_budget</c>.</param>
    /// <param name="counter">Token counter; default <see cref="ApproximateTokenCounter.Instance"/>.</param>
    public static string? TokenBudgetWarning(SkillDocument skill, int tokenBudget, ITokenCounter? counter = null)
    {
        ArgumentNullException.ThrowIfNull(skill);
        var tokens = (counter ?? ApproximateTokenCounter.Instance).CountTokens(skill.Text);
        return tokenBudget <= 0 || tokens <= tokenBudget
            ? null
            : string.Create(CultureInfo.InvariantCulture,
                $"the initial skill is {tokens:N0} tokens, over skill.token_budget = {tokenBudget:N0}: edit sets that would grow it are refused (those that shrink it or keep its size still apply); raise skill.token_budget to let it grow");
    }

    private static string? Utf16Or32Bom(ReadOnlySpan<byte> bytes) => bytes switch
    {
        [0xFF, 0xFE, 0x00, 0x00, ..] => "UTF-32",
        [0x00, 0x00, 0xFE, 0xFF, ..] => "UTF-32",
        [0xFF, 0xFE, ..] or [0xFE, 0xFF, ..] => "UTF-16",
        _ => null,
    };

    private static string Decode(ReadOnlySpan<byte> bytes, string path)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0C))
            {
                var (line, column) = Locate(bytes, i);
                var what = b == 0 ? "a NUL byte" : string.Create(CultureInfo.InvariantCulture, $"the control character U+{b:X4}");
                throw new SkillFileException(BinaryContentCode, path, line, column,
                    $"the skill file holds binary content ({what}); a skill must be Markdown text: check that the path names the skill document");
            }
        }

        var offset = 0;
        while (offset < bytes.Length)
        {
            var status = Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed);
            if (status != OperationStatus.Done)
            {
                var (line, column) = Locate(bytes, offset);
                throw new SkillFileException(NotUtf8Code, path, line, column, string.Create(CultureInfo.InvariantCulture,
                    $"the skill file is not valid UTF-8 (byte 0x{bytes[offset]:X2} at offset {offset}); save it as UTF-8"));
            }

            offset += consumed;
        }

        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>1-based line (CR, LF and CRLF end lines, as <see cref="SkillDocument"/> counts) and column (UTF-16 units before it on its line + 1) of a byte offset.</summary>
    private static (int Line, int Column) Locate(ReadOnlySpan<byte> bytes, int offset)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset; i++)
        {
            if (bytes[i] == '\n' || (bytes[i] == '\r' && (i + 1 >= bytes.Length || bytes[i + 1] != '\n')))
            {
                line++;
                lineStart = i + 1;
            }
        }

        // The bytes before the offset on its line are valid UTF-8 (the offset is the first bad byte or control character).
        var column = Encoding.UTF8.GetCharCount(bytes[lineStart..offset]) + 1;
        return (line, column);
    }
}
