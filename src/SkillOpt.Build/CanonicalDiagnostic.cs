using System;
using System.Globalization;
using System.Text.RegularExpressions;

namespace SkillOpt.Build;

/// <summary>
/// One diagnostic in the canonical form that compilers, MSBuild and the <c>skillopt</c> trainer print:
/// <c>origin(line,col): error|warning CODE: text</c>, where the origin is a file (optionally with a location) or a tool
/// name such as <c>skillopt</c>.
/// </summary>
public sealed class CanonicalDiagnostic
{
    private static readonly Regex Line = new(
        @"^\s*(?<origin>.*?)\s*:\s*(?:(?<sub>[A-Za-z][A-Za-z ]*?)\s+)?(?<category>error|warning)\s+(?<code>[A-Za-z][A-Za-z0-9_]*\d)\s*:\s?(?<text>.*?)\s*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static readonly Regex Location = new(
        @"^(?<file>.*?)\s*\(\s*(?<l1>\d+)(?:\s*-\s*(?<l2>\d+))?(?:\s*,\s*(?<c1>\d+)(?:\s*-\s*(?<c2>\d+))?(?:\s*,\s*(?<l3>\d+)\s*,\s*(?<c3>\d+))?)?\s*\)$",
        RegexOptions.CultureInvariant);

    private CanonicalDiagnostic(bool isError, string code, string message, string? file, int line, int column, int endLine, int endColumn, string origin)
    {
        IsError = isError;
        Code = code;
        Message = message;
        File = file;
        LineNumber = line;
        ColumnNumber = column;
        EndLineNumber = endLine;
        EndColumnNumber = endColumn;
        Origin = origin;
    }

    /// <summary>True for <c>error</c>, false for <c>warning</c>.</summary>
    public bool IsError { get; }

    /// <summary>The code, e.g. <c>SKOPT1001</c>.</summary>
    public string Code { get; }

    /// <summary>The text after the code.</summary>
    public string Message { get; }

    /// <summary>The file the diagnostic is about, or <see langword="null"/> when the origin is a tool (<c>skillopt</c>) or empty.</summary>
    public string? File { get; }

    /// <summary>1-based line, 0 when unknown.</summary>
    public int LineNumber { get; }

    /// <summary>1-based column, 0 when unknown.</summary>
    public int ColumnNumber { get; }

    /// <summary>1-based end line, 0 when unknown.</summary>
    public int EndLineNumber { get; }

    /// <summary>1-based end column, 0 when unknown.</summary>
    public int EndColumnNumber { get; }

    /// <summary>The origin as printed (file with location, or tool name).</summary>
    public string Origin { get; }

    /// <summary>
    /// Parses one line; returns <see langword="null"/> when it is not a canonical diagnostic with a code.
    /// </summary>
    /// <param name="line">A line of a tool's output.</param>
    public static CanonicalDiagnostic? Parse(string? line)
    {
        if (line is null || line.Length == 0 || line.Length > 64 * 1024)
        {
            return null;
        }
        var m = Line.Match(line);
        if (!m.Success)
        {
            return null;
        }
        var origin = m.Groups["origin"].Value.Trim();
        string? file = origin;
        int l = 0, c = 0, el = 0, ec = 0;
        var loc = Location.Match(origin);
        if (loc.Success)
        {
            file = loc.Groups["file"].Value.Trim();
            l = Int(loc.Groups["l1"]);
            c = Int(loc.Groups["c1"]);
            if (loc.Groups["l3"].Success)
            {
                el = Int(loc.Groups["l3"]);
                ec = Int(loc.Groups["c3"]);
            }
            else
            {
                el = Int(loc.Groups["l2"]);
                ec = Int(loc.Groups["c2"]);
            }
        }
        if (file.Length == 0 || IsToolName(file))
        {
            file = null;
        }
        var isError = string.Equals(m.Groups["category"].Value, "error", StringComparison.OrdinalIgnoreCase);
        return new CanonicalDiagnostic(isError, m.Groups["code"].Value, m.Groups["text"].Value, file, l, c, el, ec, origin);
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var where = File is null ? Origin : LineNumber > 0 ? $"{File}({LineNumber},{ColumnNumber})" : File;
        return $"{where} : {(IsError ? "error" : "warning")} {Code}: {Message}";
    }

    private static bool IsToolName(string origin) =>
        string.Equals(origin, "skillopt", StringComparison.OrdinalIgnoreCase)
        || string.Equals(origin, "MSBUILD", StringComparison.OrdinalIgnoreCase)
        || string.Equals(origin, "EXEC", StringComparison.OrdinalIgnoreCase);

    private static int Int(Group g) => g.Success && int.TryParse(g.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
}
