namespace MathSkills;

/// <summary>
/// The skill regression gate of the "math" skill (one line): under `dotnet test` it checks that the committed skill matches
/// its approved receipt, that no received file waits for approval, and that replaying the recorded model answers gives the
/// receipt's per-task results (no model, no network). With SKILLOPT_LIVE=1 it also re-runs the test split against the
/// configured model. See docs/approval.md.
/// </summary>
public sealed class MathSkillGate() : SkillGateTests("math");
