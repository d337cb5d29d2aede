using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace SkillOpt.Core.Configuration;

/// <summary>
/// A check of YAML text for collections nested too deep to load: YamlDotNet builds nodes and objects recursively, so a few
/// thousand levels (<c>a: [[[[…]]]]</c>) overflow the stack and end the process, which no exception handler can catch.
/// </summary>
internal static class YamlNesting
{
    /// <summary>The deepest nesting allowed: collections open at once, the top-level mapping included. A real <c>skillopt.yaml</c> is a few levels deep.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Finds, before loading, where a document's collections are nested deeper than <see cref="MaxDepth"/>. It reads
    /// YamlDotNet's own event stream (<see cref="Parser"/>, which keeps its state on the heap, not the stack), counting
    /// the mappings and sequences open at once, block or flow; brackets in quoted scalars, block scalars and comments are
    /// text to the parser and do not count. A file the parser refuses before that depth is not judged here: loading it
    /// reports the malformation.
    /// </summary>
    /// <param name="yaml">The file's text.</param>
    /// <returns>The 1-based line and column of the collection that first exceeds <see cref="MaxDepth"/>, or <see langword="null"/>.</returns>
    public static (int Line, int Column)? FindTooDeep(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case MappingStart or SequenceStart:
                        if (++depth > MaxDepth)
                        {
                            return ((int)parser.Current.Start.Line, (int)parser.Current.Start.Column);
                        }
                        break;
                    case MappingEnd or SequenceEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is YamlException or InvalidOperationException)
        {
            // malformed: the load that follows reports it at its place
        }
        return null;
    }
}
