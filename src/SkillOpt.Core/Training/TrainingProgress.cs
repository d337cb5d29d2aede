namespace SkillOpt.Core.Training;

/// <summary>One progress event of a training run: one line per stage, readable by people and parseable by tools.</summary>
/// <param name="Stage">Stage name (see <see cref="Accounting.ChatStage"/>), <c>gate</c>, <c>budget</c>, <c>run</c>, or <see cref="PhaseStarted"/>.</param>
/// <param name="Message">Human-readable text.</param>
/// <param name="Epoch">1-based epoch, 0 outside epochs.</param>
/// <param name="Step">1-based global step, 0 outside steps.</param>
/// <param name="TotalSteps">Steps in the whole run.</param>
/// <param name="WarningCode">The diagnostic code when the event is a warning (the trainer writes it to standard error in
/// canonical form, <c>skillopt : warning SKOPT2106: …</c>), else <see langword="null"/>.</param>
internal sealed record TrainingProgress(string Stage, string Message, int Epoch, int Step, int TotalSteps, string? WarningCode = null)
{
    /// <summary>
    /// The stage of the event that opens each phase (its <see cref="Message"/> is the phase kind: <c>baseline</c>,
    /// <c>step</c>, <c>slow_update</c>, <c>meta_skill</c> or <c>test</c>): for live displays, not a line of output.
    /// </summary>
    public const string PhaseStarted = "phase";
}
