namespace SkillOpt.Testing;

/// <summary>A theory data object that names its own stable task id (used as the row id of its task).</summary>
public interface ISkillTask
{
    /// <summary>Stable id of the task, unique within its theory (e.g. the dataset row id).</summary>
    string TaskId { get; }
}
