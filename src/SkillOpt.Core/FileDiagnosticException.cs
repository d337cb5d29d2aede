namespace SkillOpt.Core;

/// <summary>
/// An error in a file the user wrote (configuration, scenario, rules), with the file, the 1-based line and column and a
/// diagnostic code, formatted the way MSBuild and compilers print diagnostics: <c>file(line,col): error CODE: detail</c>,
/// or <c>file: error CODE: detail</c> when no line is known. The MSBuild task turns such lines into coded errors.
/// </summary>
internal abstract class FileDiagnosticException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">Diagnostic code, e.g. <c>SKOPT1001</c>.</param>
    /// <param name="file">The file the error is in.</param>
    /// <param name="line">1-based line; 0 when unknown (for example a missing file).</param>
    /// <param name="column">1-based column; 0 when unknown.</param>
    /// <param name="detail">What is wrong, without the location.</param>
    /// <param name="inner">The underlying error, if any.</param>
    protected FileDiagnosticException(string code, string file, int line, int column, string detail, Exception? inner = null)
        : base(Format(code, file, line, column, detail), inner)
    {
        Code = code;
        File = file;
        Line = line;
        Column = column;
        Detail = detail;
    }

    /// <summary>Diagnostic code.</summary>
    public string Code { get; }

    /// <summary>The file the error is in.</summary>
    public string File { get; }

    /// <summary>1-based line; 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>1-based column; 0 when unknown.</summary>
    public int Column { get; }

    /// <summary>The message without the location.</summary>
    public string Detail { get; }

    /// <summary>The canonical diagnostic line for an error.</summary>
    public static string Format(string code, string file, int line, int column, string detail) =>
        line > 0 ? $"{file}({line},{column}): error {code}: {detail}" : $"{file}: error {code}: {detail}";
}
