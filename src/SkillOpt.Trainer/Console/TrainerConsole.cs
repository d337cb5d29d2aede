using SkillOpt.Core.Training;
using Spectre.Console;

namespace SkillOpt.Trainer.Console;

/// <summary>
/// The trainer's output: progress lines on standard output (<c>skillopt: [epoch 1 step 2/8] rollout: 31/40 passed, mean 0.775</c>)
/// and diagnostics in the canonical MSBuild form on standard error (<c>origin: error SKOPT2xxx: message</c>, where the
/// origin is a file, a file with <c>(line,col)</c>, or <c>skillopt</c>). Thread-safe; one line per call. While a live
/// progress panel runs (<see cref="ProgressDisplay"/>), both go through the terminal above the panel instead.
/// </summary>
internal sealed class TrainerConsole(TextWriter output, TextWriter error) : IProgress<TrainingProgress>
{
    private readonly object _gate = new();
    private IAnsiConsole? _terminal;

    /// <summary>A console on the process's standard output and error.</summary>
    public static TrainerConsole Standard { get; } = new(System.Console.Out, System.Console.Error);

    /// <summary>Print per-process details.</summary>
    public bool Verbose { get; set; }

    /// <summary>Receives every progress event too (a live display's source), or <see langword="null"/>.</summary>
    public IProgress<TrainingProgress>? Monitor { get; set; }

    /// <summary>Routes every line through <paramref name="terminal"/> (a live display is running), or back to the writers (<see langword="null"/>).</summary>
    /// <param name="terminal">The terminal, or <see langword="null"/>.</param>
    public void UseTerminal(IAnsiConsole? terminal)
    {
        lock (_gate)
        {
            _terminal = terminal;
        }
    }

    /// <summary>Runs <paramref name="action"/> under the console's lock (no line is written meanwhile).</summary>
    /// <param name="action">What to run, e.g. a live display's redraw.</param>
    public void Synchronized(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        lock (_gate)
        {
            action();
        }
    }

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
        Monitor?.Report(value);
        if (value.Stage == TrainingProgress.PhaseStarted)
        {
            return; // for live displays only
        }
        if (value.WarningCode is { } code)
        {
            Warning(code, value.Message);
            return;
        }
        var where = value.Epoch > 0 && value.Step > 0 ? $"[epoch {value.Epoch} step {value.Step}/{value.TotalSteps}] "
            : value.Epoch > 0 ? $"[epoch {value.Epoch}] "
            : "";
        Info(where + value.Message);
    }

    private void Write(TextWriter writer, string line)
    {
        (Monitor as TrainingMonitor)?.Touch();
        lock (_gate)
        {
            if (_terminal is { } terminal)
            {
                terminal.WriteLine(line);
                return;
            }
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" | ").TrimEnd();
}
