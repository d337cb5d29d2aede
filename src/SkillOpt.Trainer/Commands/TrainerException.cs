namespace SkillOpt.Trainer.Commands;

/// <summary>A failure the trainer reports as one diagnostic and exit code 1.</summary>
/// <param name="code">Diagnostic code (see <see cref="Console.TrainerDiagnostics"/>).</param>
/// <param name="message">Message.</param>
/// <param name="origin">File the diagnostic is about, if any.</param>
internal sealed class TrainerException(string code, string message, string? origin = null) : Exception(message)
{
    /// <summary>Diagnostic code.</summary>
    public string Code { get; } = code;

    /// <summary>File the diagnostic is about, if any.</summary>
    public string? Origin { get; } = origin;
}
