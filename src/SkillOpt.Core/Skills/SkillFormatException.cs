namespace SkillOpt.Core.Skills;

/// <summary>
/// Thrown by <see cref="SkillDocument.Parse"/> (and the methods that re-parse, such as
/// <see cref="SkillDocument.WithSlowUpdateGuidance"/>) when the skill's <c>skillopt:</c> region markers are
/// malformed: a region opened but never closed, a closing marker with no opening one, nested regions, a
/// closing marker of the wrong kind, or more than one slow-update block.
/// </summary>
public sealed class SkillFormatException : Exception
{
    /// <summary>Creates the exception for a problem found on a given line.</summary>
    /// <param name="message">Human-readable description of the problem, conventionally starting with "Line N: ".</param>
    /// <param name="line">1-based line of the offending marker in the skill text.</param>
    public SkillFormatException(string message, int line)
        : base(message)
    {
        Line = line;
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
}
