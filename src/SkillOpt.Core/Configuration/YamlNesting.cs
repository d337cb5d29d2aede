namespace SkillOpt.Core.Configuration;

/// <summary>
/// A scan of YAML text for collections nested too deep to parse: YamlDotNet is recursive, so a few thousand levels
/// (<c>a: [[[[…]]]]</c>) overflow the stack and end the process, which no exception handler can catch.
/// </summary>
internal static class YamlNesting
{
    /// <summary>The deepest nesting allowed: open flow collections plus open block levels. A real <c>skillopt.yaml</c> is a few levels deep.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Finds, before parsing, where a document's collections are nested deeper than <see cref="MaxDepth"/>: YamlDotNet
    /// parses and builds nodes recursively, and a deep enough file exhausts the stack and kills the process. The depth is
    /// that of the open flow collections (<c>[</c>, <c>{</c>) plus the indentation levels and compact <c>- </c>/<c>? </c>
    /// entries of the open block collections; brackets in quoted scalars, block scalars and comments do not count.
    /// </summary>
    /// <param name="yaml">The file's text.</param>
    /// <returns>The 1-based line and column where the depth first exceeds <see cref="MaxDepth"/>, or <see langword="null"/>.</returns>
    public static (int Line, int Column)? FindTooDeep(string yaml)
    {
        var indents = new List<int>(); // the columns of the open block levels
        var flow = 0;
        var quote = '\0';
        int? blockScalarParent = null; // the indentation of the line that opened a block scalar (| or >)
        var lines = yaml.Split('\n');
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n].TrimEnd('\r');
            var indent = 0;
            while (indent < line.Length && line[indent] == ' ')
            {
                indent++;
            }
            var blank = indent == line.Length || line[indent] == '#';
            if (blockScalarParent is { } parent)
            {
                if (blank || indent > parent)
                {
                    continue;
                }
                blockScalarParent = null;
            }
            var i = 0;
            if (flow == 0 && quote == '\0')
            {
                if (blank)
                {
                    continue;
                }
                while (indents.Count > 0 && indents[^1] > indent)
                {
                    indents.RemoveAt(indents.Count - 1);
                }
                i = indent;
                while (true)
                {
                    if (indents.Count == 0 || indents[^1] < i)
                    {
                        indents.Add(i);
                        if (indents.Count > MaxDepth)
                        {
                            return (n + 1, i + 1);
                        }
                    }
                    // a compact entry ("- - x", "? x") opens a level at the column after its indicator
                    if (i + 1 < line.Length && line[i] is '-' or '?' && line[i + 1] is ' ' or '\t')
                    {
                        i++;
                        while (i < line.Length && line[i] is ' ' or '\t')
                        {
                            i++;
                        }
                        if (i < line.Length && line[i] != '#')
                        {
                            continue;
                        }
                    }
                    break;
                }
            }
            for (; i < line.Length; i++)
            {
                var c = line[i];
                if (quote == '"')
                {
                    if (c == '\\')
                    {
                        i++;
                    }
                    else if (c == '"')
                    {
                        quote = '\0';
                    }
                    continue;
                }
                if (quote == '\'')
                {
                    if (c == '\'' && i + 1 < line.Length && line[i + 1] == '\'')
                    {
                        i++;
                    }
                    else if (c == '\'')
                    {
                        quote = '\0';
                    }
                    continue;
                }
                if (c == '#' && (i == 0 || line[i - 1] is ' ' or '\t'))
                {
                    break; // a comment
                }
                if (c is ']' or '}' && flow > 0)
                {
                    flow--;
                    continue;
                }
                if (!StartsNode(line, i))
                {
                    continue;
                }
                if (c is '"' or '\'')
                {
                    quote = c;
                }
                else if (c is '[' or '{')
                {
                    flow++;
                    if (indents.Count + flow > MaxDepth)
                    {
                        return (n + 1, i + 1);
                    }
                }
                else if (c is '|' or '>' && flow == 0)
                {
                    blockScalarParent = indent;
                    break;
                }
            }
        }
        return null;
    }

    /// <summary>Whether the character at <paramref name="i"/> begins a node (so a quote or bracket there is YAML syntax, not text in a plain scalar).</summary>
    private static bool StartsNode(string line, int i)
    {
        if (i > 0 && line[i - 1] is '[' or '{' or ',')
        {
            return true;
        }
        var j = i - 1;
        while (j >= 0 && line[j] is ' ' or '\t')
        {
            j--;
        }
        return j < 0 || (j < i - 1 && line[j] is ':' or '-' or '?' or ',' or '[' or '{');
    }
}
