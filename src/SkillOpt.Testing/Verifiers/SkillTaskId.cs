using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Text.Json;

namespace SkillOpt.Testing.Verifiers;

/// <summary>
/// Stable task ids: the same string on every machine and in every run, made of ASCII letters, digits, <c>.</c>, <c>_</c>,
/// <c>-</c> and <c>/</c> (anything else in an id becomes <c>_</c>). A fact is <c>{skill}/{Class}.{Method}</c> (or
/// <c>{skill}/{Id}</c> when the attribute sets <c>Id</c>); a theory row appends <c>/{rowId}</c>, where the row id is the
/// row's own id (<see cref="ISkillTask.TaskId"/>, or a public <c>TaskId</c> or <c>Id</c> property of an argument) or else
/// <c>h</c> followed by 12 hex digits of the SHA-256 of the row's arguments serialised as JSON.
/// </summary>
internal static class SkillTaskId
{
    /// <summary>Most characters of one id segment; longer segments are cut and suffixed with a hash.</summary>
    public const int MaxSegmentLength = 80;

    /// <summary>Returns the task id of a fact (or the prefix of a theory's row ids).</summary>
    /// <param name="skill">Skill name (letters, digits, <c>.</c>, <c>_</c>, <c>-</c>).</param>
    /// <param name="className">Simple name of the test class.</param>
    /// <param name="methodName">Test method name.</param>
    /// <param name="id">Optional id that replaces <c>{Class}.{Method}</c>.</param>
    /// <exception cref="ArgumentException">The skill name is not valid.</exception>
    public static string ForMethod(string skill, string className, string methodName, string? id = null)
    {
        ValidateSkillName(skill);
        var local = string.IsNullOrWhiteSpace(id) ? $"{className}.{methodName}" : Segment(id);
        return $"{skill}/{local}";
    }

    /// <summary>Returns the task id of one theory row.</summary>
    /// <param name="methodTaskId">The id of the theory method (<see cref="ForMethod"/>).</param>
    /// <param name="rowId">The row id (<see cref="RowId"/>).</param>
    public static string ForRow(string methodTaskId, string rowId) => $"{methodTaskId}/{Segment(rowId)}";

    /// <summary>
    /// Returns the id of a theory row: the first argument's <see cref="ISkillTask.TaskId"/>, or its public <c>TaskId</c> or
    /// <c>Id</c> property (string or integer), else a hash of all arguments.
    /// </summary>
    /// <param name="arguments">The row's arguments.</param>
    public static string RowId(IReadOnlyList<object?> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        foreach (var a in arguments)
        {
            if (OwnId(a) is { } own)
            {
                return Segment(own);
            }
        }
        return "h" + Hash(SerializeArguments(arguments), 12);
    }

    /// <summary>The file name (no folder) of a task's result file: the id made file-safe, a dot, 10 hex digits of its SHA-256 and <c>.json</c>.</summary>
    /// <param name="taskId">The task id.</param>
    public static string ResultFileName(string taskId)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        var sb = new StringBuilder(taskId.Length);
        foreach (var c in taskId)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }
        var safe = sb.ToString().Trim('.');
        if (safe.Length > 80)
        {
            safe = safe[..80];
        }
        return $"{safe}.{Hash(taskId, 10)}.json";
    }

    /// <summary>
    /// The pattern every skill name matches: a letter or digit, then up to 63 letters, digits, <c>.</c>, <c>_</c> or
    /// <c>-</c> (ASCII). Names become folder and file names (run folders, received files), so <c>.</c>, <c>..</c>, names
    /// with a path separator and names that look like command-line options are refused.
    /// </summary>
    public const string SkillNamePattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

    /// <summary>Whether <paramref name="skill"/> matches <see cref="SkillNamePattern"/>.</summary>
    /// <param name="skill">The name.</param>
    public static bool IsValidSkillName(string? skill) =>
        skill is not null && Regex.IsMatch(skill, SkillNamePattern, RegexOptions.CultureInvariant);

    /// <summary>Throws when <paramref name="skill"/> does not match <see cref="SkillNamePattern"/>.</summary>
    /// <param name="skill">The name.</param>
    /// <exception cref="ArgumentException">The name is empty, too long, starts with another character than a letter or digit, or has other characters.</exception>
    public static void ValidateSkillName(string skill)
    {
        if (!IsValidSkillName(skill))
        {
            throw new ArgumentException($"'{skill}' is not a valid skill name: {SkillNameRule}.", nameof(skill));
        }
    }

    /// <summary>The rule of <see cref="SkillNamePattern"/> in words, for messages.</summary>
    public const string SkillNameRule = "use a letter or digit, then up to 63 ASCII letters, digits, '.', '_' or '-'";

    /// <summary>
    /// Makes an id segment safe for traits, filters and file names: characters other than ASCII letters, digits,
    /// <c>.</c>, <c>_</c>, <c>-</c> and <c>/</c> become <c>_</c>; slashes are not doubled nor at the ends.
    /// </summary>
    internal static string Segment(string raw)
    {
        var sb = new StringBuilder(raw.Length);
        foreach (var c in raw.Trim())
        {
            var ch = char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '/' ? c : '_';
            if (ch == '/' && (sb.Length == 0 || sb[^1] == '/'))
            {
                continue;
            }
            sb.Append(ch);
        }
        var s = sb.ToString().TrimEnd('/');
        s = s.Length == 0 ? "_" : s;
        return s.Length <= MaxSegmentLength ? s : s[..(MaxSegmentLength - 13)] + "_" + Hash(raw, 12);
    }

    private static string? OwnId(object? a)
    {
        if (a is null)
        {
            return null;
        }
        if (a is ISkillTask task)
        {
            return string.IsNullOrWhiteSpace(task.TaskId) ? null : task.TaskId;
        }
        foreach (var name in new[] { "TaskId", "Id" })
        {
            var p = a.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
            if (p is null || p.GetIndexParameters().Length > 0)
            {
                continue;
            }
            var t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (t == typeof(string) || t == typeof(int) || t == typeof(long) || t == typeof(Guid))
            {
                var v = p.GetValue(a);
                var s = Convert.ToString(v, CultureInfo.InvariantCulture);
                if (!string.IsNullOrWhiteSpace(s))
                {
                    return s;
                }
            }
        }
        return null;
    }

    private static string SerializeArguments(IReadOnlyList<object?> arguments)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < arguments.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }
            var a = arguments[i];
            string text;
            try
            {
                text = a is null ? "null" : JsonSerializer.Serialize(a, a.GetType());
            }
            catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
            {
                text = JsonSerializer.Serialize(Convert.ToString(a, CultureInfo.InvariantCulture));
            }
            sb.Append(text);
        }
        return sb.Append(']').ToString();
    }

    internal static string Hash(string text, int hexDigits) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..hexDigits];
}
