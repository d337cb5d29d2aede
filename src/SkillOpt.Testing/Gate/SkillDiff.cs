using System.Globalization;
using System.Text;
using DiffPlex;

namespace SkillOpt.Testing.Gate;

/// <summary>Line diffs of skill texts (DiffPlex), in the unified format reviewers and <c>git diff</c> use.</summary>
internal static class SkillDiff
{
    /// <summary>
    /// Returns the unified diff (<c>--- a</c>, <c>+++ b</c>, <c>@@ -l,n +l,n @@</c> hunks with <paramref name="context"/> lines
    /// of context, LF line endings) that turns <paramref name="before"/> into <paramref name="after"/>; an empty string when
    /// the texts are equal. Line endings are compared after normalising CRLF to LF.
    /// </summary>
    /// <param name="before">The old text.</param>
    /// <param name="after">The new text.</param>
    /// <param name="beforeLabel">Name shown after <c>---</c>.</param>
    /// <param name="afterLabel">Name shown after <c>+++</c>.</param>
    /// <param name="context">Unchanged lines shown around each change (0 or more).</param>
    public static string Unified(string before, string after, string beforeLabel = "approved", string afterLabel = "committed", int context = 3)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentOutOfRangeException.ThrowIfNegative(context);
        var result = new Differ().CreateLineDiffs(string.Join("\n", Lines(before)), string.Join("\n", Lines(after)), false);
        if (result.DiffBlocks.Count == 0)
        {
            return "";
        }
        // DiffPlex's own line split, so that block indices and lines agree.
        var a = result.PiecesOld;
        var b = result.PiecesNew;
        var sb = new StringBuilder();
        sb.Append("--- ").Append(beforeLabel).Append('\n');
        sb.Append("+++ ").Append(afterLabel).Append('\n');
        // Group blocks whose context windows touch into hunks.
        var blocks = result.DiffBlocks.ToList();
        var i = 0;
        while (i < blocks.Count)
        {
            var j = i;
            while (j + 1 < blocks.Count && blocks[j + 1].DeleteStartA - (blocks[j].DeleteStartA + blocks[j].DeleteCountA) <= 2 * context)
            {
                j++;
            }
            var startA = Math.Max(0, blocks[i].DeleteStartA - context);
            var endA = Math.Min(a.Length, blocks[j].DeleteStartA + blocks[j].DeleteCountA + context);
            var startB = Math.Max(0, blocks[i].InsertStartB - (blocks[i].DeleteStartA - startA));
            var endB = Math.Min(b.Length, blocks[j].InsertStartB + blocks[j].InsertCountB + (endA - (blocks[j].DeleteStartA + blocks[j].DeleteCountA)));
            sb.Append(CultureInfo.InvariantCulture, $"@@ -{Range(startA, endA - startA)} +{Range(startB, endB - startB)} @@\n");
            var posA = startA;
            for (var k = i; k <= j; k++)
            {
                var block = blocks[k];
                for (; posA < block.DeleteStartA; posA++)
                {
                    sb.Append(' ').Append(a[posA]).Append('\n');
                }
                for (var d = 0; d < block.DeleteCountA; d++)
                {
                    sb.Append('-').Append(a[block.DeleteStartA + d]).Append('\n');
                }
                for (var n = 0; n < block.InsertCountB; n++)
                {
                    sb.Append('+').Append(b[block.InsertStartB + n]).Append('\n');
                }
                posA = block.DeleteStartA + block.DeleteCountA;
            }
            for (; posA < endA; posA++)
            {
                sb.Append(' ').Append(a[posA]).Append('\n');
            }
            i = j + 1;
        }
        return sb.ToString();
    }

    /// <summary>Counts the added and removed lines between two texts.</summary>
    /// <param name="before">The old text.</param>
    /// <param name="after">The new text.</param>
    /// <returns>(lines added, lines removed).</returns>
    public static (int Added, int Removed) Count(string before, string after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var result = new Differ().CreateLineDiffs(string.Join("\n", Lines(before)), string.Join("\n", Lines(after)), false);
        return (result.DiffBlocks.Sum(b => b.InsertCountB), result.DiffBlocks.Sum(b => b.DeleteCountA));
    }

    private static string Range(int start, int count) =>
        count == 0 ? string.Create(CultureInfo.InvariantCulture, $"{start},0") : count == 1 ? (start + 1).ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{start + 1},{count}");

    /// <summary>The text's lines without terminators; a final newline does not start another line.</summary>
    private static List<string> Lines(string text)
    {
        var t = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        if (t.EndsWith('\n'))
        {
            t = t[..^1];
        }
        return t.Length == 0 && text.Length == 0 ? [] : [.. t.Split('\n')];
    }
}
