namespace SkillOpt.Core.Training;

/// <summary>One progress event of a training run: one line per stage, readable by people and parseable by tools.</summary>
/// <param name="Stage">Stage name (see <see cref="Accounting.ChatStage"/>) or <c>phase</c> / <c>run</c>.</param>
/// <param name="Message">Human-readable text.</param>
/// <param name="Epoch">1-based epoch, 0 outside epochs.</param>
/// <param name="Step">1-based global step, 0 outside steps.</param>
/// <param name="TotalSteps">Steps in the whole run.</param>
public sealed record TrainingProgress(string Stage, string Message, int Epoch, int Step, int TotalSteps);
