using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

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
    /// Loads YAML text with the guards every YAML file of the project needs (the configuration, scripted models' rules,
    /// SimLab scenarios): nesting deeper than <see cref="MaxDepth"/> is refused before loading (<see cref="FindTooDeep"/>),
    /// and every way YamlDotNet refuses a file — a <see cref="YamlException"/>, the <see cref="InvalidOperationException"/>
    /// its parser throws for an unclosed flow collection followed by more lines, the <see cref="ArgumentException"/> of a
    /// key written twice — becomes one <see cref="MalformedYamlException"/> with a 1-based line and column.
    /// </summary>
    /// <param name="yaml">The file's text.</param>
    /// <param name="document">What the file is, for the nesting message, e.g. <c>a configuration</c>.</param>
    /// <returns>The loaded documents (none for an empty file).</returns>
    /// <exception cref="MalformedYamlException">The text is not YAML the project can load; its message starts with <c>malformed YAML: </c>.</exception>
    public static YamlStream Load(string yaml, string document)
    {
        if (FindTooDeep(yaml) is { } deep)
        {
            throw new MalformedYamlException(deep.Line, deep.Column, $"malformed YAML: collections are nested more than {MaxDepth} levels deep here ({document} needs a few levels)");
        }
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(yaml));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException ex)
        {
            var inner = ex;
            while (inner.InnerException is YamlException next)
            {
                inner = next;
            }
            throw new MalformedYamlException(Clamp(ex.Start.Line), Clamp(ex.Start.Column), $"malformed YAML: {inner.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // the scanner's position is the best place known; only YamlDotNet runs in this try
            throw new MalformedYamlException(Clamp(scanner.CurrentPosition.Line), Clamp(scanner.CurrentPosition.Column),
                "malformed YAML: the file ends inside a collection, or a collection is not closed where it should be (check every '[' and '{' up to this point)", ex);
        }
        catch (ArgumentException ex)
        {
            // YamlDotNet reports some keys written twice in one mapping this way, with no position
            throw new MalformedYamlException(1, 1, $"malformed YAML: {ex.Message}", ex);
        }
        return stream;
    }

    private static int Clamp(long n) => (int)Math.Clamp(n, 1, int.MaxValue);

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

/// <summary>YAML text that <see cref="YamlNesting.Load"/> refused: where (1-based <see cref="Line"/> and <see cref="Column"/>) and why.</summary>
internal sealed class MalformedYamlException(int line, int column, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>1-based line of the fault.</summary>
    public int Line { get; } = line;

    /// <summary>1-based column of the fault.</summary>
    public int Column { get; } = column;
}
