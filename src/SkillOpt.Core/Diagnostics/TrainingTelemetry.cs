using System.Diagnostics;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Diagnostics;

/// <summary>
/// The spans of a training run (<see cref="System.Diagnostics.ActivitySource"/> <see cref="SourceName"/>): one for the
/// whole run, one per phase of the plan (baseline, step, slow update, meta skill, test) and one per rollout, under which
/// the model calls' spans nest. Nothing is recorded unless a listener (an OpenTelemetry tracer provider) subscribes.
/// </summary>
/// <remarks>
/// Span names and attributes: <c>skillopt.training</c> (<c>skillopt.run_folder</c>, <c>skillopt.phases</c>,
/// <c>skillopt.resumed_after_phase</c>); <c>skillopt.baseline</c>, <c>skillopt.step</c>, <c>skillopt.slow_update</c>,
/// <c>skillopt.meta_skill</c>, <c>skillopt.test</c> (<c>skillopt.phase</c>, <c>skillopt.epoch</c>, <c>skillopt.step</c>);
/// <c>skillopt.rollout</c> (<c>skillopt.stage</c>, <c>skillopt.tasks</c>, <c>skillopt.sample_index</c>,
/// <c>skillopt.skill_hash</c>). No skill text, prompt or answer is recorded.
/// </remarks>
internal static class TrainingTelemetry
{
    /// <summary>Name of the activity source (<c>SkillOpt.Training</c>).</summary>
    public const string SourceName = "SkillOpt.Training";

    /// <summary>The activity source of the training spans.</summary>
    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>Starts the span of a whole run; <see langword="null"/> when nothing listens.</summary>
    /// <param name="runFolder">The run folder.</param>
    /// <param name="phases">Phases in the plan.</param>
    /// <param name="completedPhases">Phases finished before this session (a resumed run).</param>
    public static Activity? StartTraining(string runFolder, int phases, int completedPhases) =>
        Source.StartActivity("skillopt.training")?
            .SetTag("skillopt.run_folder", runFolder)
            .SetTag("skillopt.phases", phases)
            .SetTag("skillopt.resumed_after_phase", completedPhases);

    /// <summary>Starts the span of one phase (<c>skillopt.step</c> for a step); <see langword="null"/> when nothing listens.</summary>
    /// <param name="phase">The phase.</param>
    public static Activity? StartPhase(Phase phase)
    {
        ArgumentNullException.ThrowIfNull(phase);
        var name = phase.Kind switch
        {
            PhaseKind.Baseline => "skillopt.baseline",
            PhaseKind.Step => "skillopt.step",
            PhaseKind.SlowUpdate => "skillopt.slow_update",
            PhaseKind.MetaSkill => "skillopt.meta_skill",
            _ => "skillopt.test",
        };
        return Source.StartActivity(name)?
            .SetTag("skillopt.phase", phase.Index)
            .SetTag("skillopt.epoch", phase.Epoch)
            .SetTag("skillopt.step", phase.Step);
    }

    /// <summary>Starts the span of one rollout (a batch of tasks with one skill); <see langword="null"/> when nothing listens.</summary>
    /// <param name="request">The rollout.</param>
    public static Activity? StartRollout(RolloutRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Source.StartActivity("skillopt.rollout")?
            .SetTag("skillopt.stage", request.Stage)
            .SetTag("skillopt.tasks", request.TaskIds.Count)
            .SetTag("skillopt.sample_index", request.SampleIndex)
            .SetTag("skillopt.skill_hash", request.SkillHash);
    }
}
