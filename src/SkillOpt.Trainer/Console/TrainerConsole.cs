using SkillOpt.Core.Training;

namespace SkillOpt.Trainer.Console;

/// <summary>
/// The trainer's output: progress lines on standard output (<c>skillopt: [epoch 1 step 2/8] rollout: 31/40 passed, mean 0.775</c>)
/// and diagnostics in the canonical MSBuild form on standard error (<c>origin: error SKOPT2xxx: message</c>, where the
/// origin is a file, a file with <c>(line,col)</c>, or <c>skillopt</c>). Thread-safe; one line per call.
/// </summary>
public sealed class TrainerConsole(TextWriter output, TextWriter error) : IProgress<TrainingProgress>
{
    private readonly object _gate = new();

    /// <summary>A console on the process's standard output and error.</summary>
    public static TrainerConsole Standard { get; } = new(System.Console.Out, System.Console.Error);

    /// <summary>Print per-process details.</summary>
    public bool Verbose { get; set; }

    /// <summary>Writes one progress line: <c>skillopt: {message}</c>.</summary>
    /// <param name="message">The message.</param>
    public void Info(string message) => Write(output, "skillopt: " + OneLine(message));

    /// <summary>Writes one progress line when <see cref="Verbose"/> is on.</summary>
    /// <param name="message">The message.</param>
    public void Detail(string message)
    {
        if (Verbose)
        {
            Info(message);
        }
    }

    /// <summary>Writes a warning in canonical form.</summary>
    /// <param name="code">Diagnostic code.</param>
    /// <param name="message">Message.</param>
    /// <param name="origin">File (optionally with <c>(line,col)</c>); <see langword="null"/> means <c>skillopt</c>.</param>
    public void Warning(string code, string message, string? origin = null) => Write(error, $"{origin ?? "skillopt"} : warning {code}: {OneLine(message)}");

    /// <summary>Writes an error in canonical form.</summary>
    /// <param name="code">Diagnostic code.</param>
    /// <param name="message">Message.</param>
    /// <param name="origin">File (optionally with <c>(line,col)</c>); <see langword="null"/> means <c>skillopt</c>.</param>
    public void Error(string code, string message, string? origin = null) => Write(error, $"{origin ?? "skillopt"} : error {code}: {OneLine(message)}");

    /// <summary>Writes a diagnostic that is already in canonical form (e.g. a configuration error).</summary>
    /// <param name="line">The formatted diagnostic.</param>
    public void Raw(string line) => Write(error, OneLine(line));

    /// <inheritdoc/>
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var where = value.Epoch > 0 && value.Step > 0 ? $"[epoch {value.Epoch} step {value.Step}/{value.TotalSteps}] "
            : value.Epoch > 0 ? $"[epoch {value.Epoch}] "
            : "";
        Info(where + value.Message);
    }

    private void Write(TextWriter writer, string line)
    {
        lock (_gate)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" | ").TrimEnd();
}
