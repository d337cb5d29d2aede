namespace SkillOpt.Core.Skills;

/// <summary>
/// The reference implementation's text operations on a skill (microsoft/SkillOpt, skillopt/optimizer/slow_update.py),
/// ported so that the <c>classic</c> preset produces the same bytes: plain substring search for its markers, Python's
/// <c>str.strip</c>/<c>rstrip</c> whitespace, <c>"\n"</c> line breaks whatever the document uses.
/// </summary>
internal static class ReferenceSkillText
{
    /// <summary>
    /// Python's <c>str.isspace</c> for one UTF-16 unit: .NET's <see cref="char.IsWhiteSpace(char)"/> plus U+001C–U+001F,
    /// which Python counts as whitespace (bidirectional classes B and S) and .NET does not. The two agree on every
    /// other code point.
    /// </summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary>Python's <c>str.strip()</c>.</summary>
    public static string Strip(string text)
    {
        var start = 0;
        var end = text.Length;
        while (start < end && IsSpace(text[start]))
        {
            start++;
        }

        while (end > start && IsSpace(text[end - 1]))
        {
            end--;
        }

        return text[start..end];
    }

    /// <summary>Python's <c>str.rstrip()</c>.</summary>
    public static string RStrip(string text)
    {
        var end = text.Length;
        while (end > 0 && IsSpace(text[end - 1]))
        {
            end--;
        }

        return text[..end];
    }

    /// <summary>The reference's <c>inject_empty_slow_update_field</c>: unchanged when both slow-update markers occur anywhere, else an empty block appended after the right-stripped text.</summary>
    public static string InjectEmptySlowUpdateField(string skill)
    {
        if (skill.Contains(SkillDocument.ReferenceSlowUpdateStartMarker, StringComparison.Ordinal)
            && skill.Contains(SkillDocument.ReferenceSlowUpdateEndMarker, StringComparison.Ordinal))
        {
            return skill;
        }

        return RStrip(skill) + "\n\n" + SkillDocument.ReferenceSlowUpdateStartMarker + "\n" + SkillDocument.ReferenceSlowUpdateEndMarker + "\n";
    }

    /// <summary>The reference's <c>replace_slow_update_field</c>: every slow-update block removed, then one block with the stripped content appended.</summary>
    public static string ReplaceSlowUpdateField(string skill, string content) =>
        StripAllSlowUpdateFields(skill) + "\n\n" + SkillDocument.ReferenceSlowUpdateStartMarker + "\n" + Strip(content) + "\n" + SkillDocument.ReferenceSlowUpdateEndMarker + "\n";

    /// <summary>The reference's <c>_strip_all_slow_update_fields</c>.</summary>
    private static string StripAllSlowUpdateFields(string skill)
    {
        const string start = SkillDocument.ReferenceSlowUpdateStartMarker;
        const string end = SkillDocument.ReferenceSlowUpdateEndMarker;
        while (true)
        {
            var s = skill.IndexOf(start, StringComparison.Ordinal);
            if (s < 0)
            {
                break;
            }

            var e = skill.IndexOf(end, s, StringComparison.Ordinal);
            if (e < 0)
            {
                // An orphan start marker is removed alone.
                skill = string.Concat(skill.AsSpan(0, s), skill.AsSpan(s + start.Length));
                break;
            }

            skill = string.Concat(skill.AsSpan(0, s), skill.AsSpan(e + end.Length));
        }

        skill = skill.Replace(end, string.Empty, StringComparison.Ordinal);
        while (skill.Contains("\n\n\n", StringComparison.Ordinal))
        {
            skill = skill.Replace("\n\n\n", "\n\n", StringComparison.Ordinal);
        }

        return RStrip(skill);
    }
}
