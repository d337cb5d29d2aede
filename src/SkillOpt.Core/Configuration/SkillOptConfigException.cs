namespace SkillOpt.Core.Configuration;

/// <summary>
/// A configuration error that names the file, the line and column (1-based) and the key:
/// <c>file(line,col): error SKOPT1xxx: message</c>. Codes: SKOPT1001 unknown key, SKOPT1002 invalid value (type, range, or
/// an empty section), SKOPT1003 malformed YAML, SKOPT1004 file missing or unreadable (no line), SKOPT1005 invalid
/// environment override (the origin is <c>skillopt</c> and <see cref="Key"/> names the variable).
/// </summary>
internal sealed class SkillOptConfigException : FileDiagnosticException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">SKOPT1001–SKOPT1005.</param>
    /// <param name="file">The configuration file (<c>skillopt</c> for an environment override).</param>
    /// <param name="line">1-based line (0 when the file is missing or the error is in the environment).</param>
    /// <param name="column">1-based column.</param>
    /// <param name="key">Dotted key path, or the environment variable's name, when the error concerns one.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="inner">The YamlDotNet or file-system error, if any.</param>
    public SkillOptConfigException(string code, string file, int line, int column, string? key, string message, Exception? inner = null)
        : base(code, file, line, column, message, inner) => Key = key;

    /// <summary>Dotted key path, e.g. <c>training.epochs</c>, or an environment variable's name, when the error concerns one.</summary>
    public string? Key { get; }
}
