namespace SkillOpt.Core.Skills;

/// <summary>
/// Thrown by <see cref="SkillDocument.Parse"/> (and the methods that re-parse, such as
/// <see cref="SkillDocument.WithSlowUpdateGuidance"/>) when the skill's region markers (ours or the reference's) are
/// malformed: a region opened but never closed, a closing marker with no opening one, nested regions, a
/// closing marker of the wrong kind or syntax, or more than one slow-update block. <see cref="SkillFile.Read"/> turns
/// it into a <see cref="SkillFileException"/> located in the skill file (<see cref="SkillFile.MalformedMarkersCode"/>).
/// </summary>
internal sealed class SkillFormatException : Exception
{
    /// <summary>Creates the exception for a problem found on a given line.</summary>
    /// <param name="message">Human-readable description of the problem, conventionally starting with "Line N: ".</param>
    /// <param name="line">1-based line of the offending marker in the skill text.</param>
    public SkillFormatException(string message, int line)
        : base(message)
    {
        Line = line;
    }

    /// <summary>Creates the exception for a problem found at a given line and column.</summary>
    /// <param name="detail">What is wrong, without the location; the message is <c>"Line N: " + detail</c>.</param>
    /// <param name="line">1-based line of the offending marker in the skill text.</param>
    /// <param name="column">1-based column of the offending marker's first character.</param>
    public SkillFormatException(string detail, int line, int column)
        : base($"Line {line}: {detail}")
    {
        Line = line;
        Column = column;
        _detail = detail;
    }

    /// <summary>Creates the exception without a line (<see cref="Line"/> is 0).</summary>
    public SkillFormatException()
        : base("The skill document is malformed.")
    {
    }

    /// <summary>Creates the exception without a line (<see cref="Line"/> is 0).</summary>
    /// <param name="message">Human-readable description of the problem.</param>
    public SkillFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception wrapping another one, without a line (<see cref="Line"/> is 0).</summary>
    /// <param name="message">Human-readable description of the problem.</param>
    /// <param name="innerException">The underlying error.</param>
    public SkillFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>1-based line number of the offending marker; 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending marker's first character; 0 when unknown.</summary>
    public int Column { get; }

    /// <summary>What is wrong without the <c>"Line N: "</c> prefix (the message itself when no detail was given).</summary>
    public string Detail => _detail ?? Message;

    private readonly string? _detail;
}
