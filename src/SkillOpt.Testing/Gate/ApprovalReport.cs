using System.Text;

namespace SkillOpt.Testing.Gate;

/// <summary>
/// What approving a skill's received files would change, in the fixed sections of Verify's failure message:
/// <c>New:</c> (received files without a committed counterpart), <c>NotEqual:</c> (received and committed differ),
/// <c>Delete:</c> (committed files approval removes) and <c>Equal:</c> (received files identical to the committed ones).
/// </summary>
/// <param name="Files">The skill's approval files.</param>
/// <param name="New">Received paths without a committed counterpart.</param>
/// <param name="NotEqual">(received, committed) pairs whose contents differ.</param>
/// <param name="Delete">Committed paths that approving removes (recorded requests the received recording no longer has).</param>
/// <param name="Equal">Received paths whose committed counterpart has the same content.</param>
internal sealed record ApprovalReport(ApprovalFiles Files, IReadOnlyList<string> New, IReadOnlyList<(string Received, string Committed)> NotEqual,
    IReadOnlyList<string> Delete, IReadOnlyList<string> Equal)
{
    /// <summary>True when no received file exists.</summary>
    public bool IsEmpty => New.Count == 0 && NotEqual.Count == 0 && Equal.Count == 0;

    /// <summary>True when every received file equals its committed counterpart (approval would change nothing).</summary>
    public bool AllEqual => !IsEmpty && New.Count == 0 && NotEqual.Count == 0 && Delete.Count == 0;

    /// <summary>Compares the received files of <paramref name="files"/> with the committed ones.</summary>
    /// <param name="files">The skill's approval files.</param>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static ApprovalReport Build(ApprovalFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var added = new List<string>();
        var differ = new List<(string, string)>();
        var delete = new List<string>();
        var equal = new List<string>();
        foreach (var (received, committed, isFolder) in files.Pairs)
        {
            if (isFolder ? !Directory.Exists(received) : !File.Exists(received))
            {
                continue;
            }
            var exists = isFolder ? Directory.Exists(committed) : File.Exists(committed);
            if (!exists)
            {
                added.Add(received);
                continue;
            }
            bool same;
            if (isFolder)
            {
                var r = ApprovalFiles.RecordingKeys(received);
                var c = ApprovalFiles.RecordingKeys(committed);
                delete.AddRange(c.Except(r, StringComparer.Ordinal).Select(k => Path.Combine(committed, k + ".json")));
                same = r.SequenceEqual(c, StringComparer.Ordinal) && SameBytes(Path.Combine(received, ApprovalFiles.SkillCopyName), Path.Combine(committed, ApprovalFiles.SkillCopyName));
            }
            else
            {
                same = SameBytes(received, committed);
            }
            if (same)
            {
                equal.Add(received);
            }
            else
            {
                differ.Add((received, committed));
            }
        }
        return new ApprovalReport(files, added, differ, delete, equal);
    }

    /// <summary>
    /// Formats the report: <c>Directory:</c>, then the non-empty sections <c>New:</c>, <c>NotEqual:</c>, <c>Delete:</c>,
    /// <c>Equal:</c>, with paths relative to the directory (folders end with <c>/</c>), one <c>  - </c> item per line.
    /// </summary>
    /// <param name="maxItems">Most items listed per section (the rest are counted).</param>
    public string Format(int maxItems = 20)
    {
        var sb = new StringBuilder();
        sb.Append("Directory: ").Append(Files.Directory).Append('\n');
        Section(sb, "New", New.Select(p => "  - " + Relative(p)).ToList(), maxItems);
        Section(sb, "NotEqual", NotEqual.Select(p => $"  - Received: {Relative(p.Received)}\n    Verified: {Relative(p.Committed)}").ToList(), maxItems);
        Section(sb, "Delete", Delete.Select(p => "  - " + Relative(p)).ToList(), maxItems);
        Section(sb, "Equal", Equal.Select(p => "  - " + Relative(p)).ToList(), maxItems);
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, string name, IReadOnlyList<string> items, int max)
    {
        if (items.Count == 0)
        {
            return;
        }
        sb.Append(name).Append(":\n");
        foreach (var item in items.Take(max))
        {
            sb.Append(item).Append('\n');
        }
        if (items.Count > max)
        {
            sb.Append("  - … and ").Append(items.Count - max).Append(" more\n");
        }
    }

    private string Relative(string path)
    {
        var rel = Path.GetRelativePath(Files.Directory, path).Replace('\\', '/');
        return Directory.Exists(path) ? rel + "/" : rel;
    }

    private static bool SameBytes(string a, string b)
    {
        if (!File.Exists(a) || !File.Exists(b))
        {
            return File.Exists(a) == File.Exists(b);
        }
        var fa = new FileInfo(a);
        var fb = new FileInfo(b);
        return fa.Length == fb.Length && File.ReadAllBytes(a).AsSpan().SequenceEqual(File.ReadAllBytes(b));
    }
}
