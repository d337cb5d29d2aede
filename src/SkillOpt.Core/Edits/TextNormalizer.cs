using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SkillOpt.Core.Edits;

/// <summary>
/// Normalisation used to compare skill text loosely: edit keys (<see cref="SkillEdit.Key"/>), duplicate detection
/// and similarity.
/// </summary>
internal static partial class TextNormalizer
{
    /// <summary>
    /// Normalises text for comparison: Markdown list bullets (<c>-</c>, <c>*</c>, <c>+</c>, <c>•</c>, <c>1.</c>,
    /// <c>1)</c>) and quote marks (<c>&gt;</c>) at line starts are removed; apostrophes are removed (so
    /// <c>don't</c> → <c>dont</c>); every other character that is not a letter, digit or combining mark (Markdown
    /// emphasis, headings, punctuation, symbols, whitespace) becomes a space; letters are lower-cased with the
    /// invariant culture; whitespace runs collapse to one space and the result is trimmed.
    /// </summary>
    /// <param name="text">Any text; <see langword="null"/> is treated as empty.</param>
    /// <returns>The normalised text; <c>""</c> for null, empty or punctuation-only input.</returns>
    public static string Normalize(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var stripped = LineMarkers().Replace(text, string.Empty);
        var builder = new StringBuilder(stripped.Length);
        var pendingSpace = false;
        foreach (var c in stripped)
        {
            if (c is '\'' or '\u2019' or '\u2018' or '\u02BC')
            {
                continue;
            }

            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            var keep = char.IsLetterOrDigit(c) || char.IsSurrogate(c)
                || category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;
            if (!keep)
            {
                pendingSpace = builder.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    /// <summary>Jaccard similarity of the word sets of the two texts after <see cref="Normalize"/>.</summary>
    /// <param name="a">First text.</param>
    /// <param name="b">Second text.</param>
    /// <returns>
    /// |words(a) ∩ words(b)| / |words(a) ∪ words(b)| in [0, 1]; 1 when both normalise to empty, 0 when only one does.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="a"/> or <paramref name="b"/> is <see langword="null"/>.</exception>
    public static double Similarity(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Jaccard(Words(Normalize(a)), Words(Normalize(b)));
    }

    internal static HashSet<string> Words(string normalized) =>
        normalized.Length == 0 ? [] : new HashSet<string>(normalized.Split(' '), StringComparer.Ordinal);

    internal static double Jaccard(HashSet<string> a, HashSet<string> b)
    {
        if (a.Count == 0 && b.Count == 0)
        {
            return 1.0;
        }

        if (a.Count == 0 || b.Count == 0)
        {
            return 0.0;
        }

        var intersection = a.Count(b.Contains);
        return (double)intersection / (a.Count + b.Count - intersection);
    }

    [GeneratedRegex(@"^[ \t]*(?:>[ \t]?)*[ \t]*(?:[-*+\u2022]|\d{1,9}[.)])(?=[ \t]|$)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex LineMarkers();
}
