namespace SkillOpt.SimLab;

/// <summary>
/// Ground truth of a scenario, which only a simulation has: the probability that the simulated target solves a task
/// with a given skill, free of sampling noise. For benchmarks and tests (e.g. "did training really help?").
/// </summary>
internal static class SimLabOracle
{
    /// <summary>Probability in [0,1] that the simulated target solves task <paramref name="taskId"/> with <paramref name="skill"/>.</summary>
    /// <exception cref="ArgumentException">The scenario has no such task.</exception>
    public static double SuccessProbability(Scenario scenario, string skill, string taskId)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var world = new SimWorld(scenario);
        var task = world.TaskById(taskId) ?? throw new ArgumentException($"The scenario '{scenario.Name}' has no task '{taskId}'.", nameof(taskId));
        return world.SuccessProbability(skill ?? "", task);
    }

    /// <summary>Expected mean score of <paramref name="skill"/> over <paramref name="taskIds"/> (0 when empty).</summary>
    /// <exception cref="ArgumentException">The scenario has no task of one of the ids.</exception>
    public static double ExpectedScore(Scenario scenario, string skill, IEnumerable<string> taskIds)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(taskIds);
        var world = new SimWorld(scenario);
        var list = taskIds.Select(id => world.TaskById(id) ?? throw new ArgumentException($"The scenario '{scenario.Name}' has no task '{id}'.", nameof(taskIds))).ToList();
        return list.Count == 0 ? 0 : list.Average(t => world.SuccessProbability(skill ?? "", t));
    }

    /// <summary>Names of the procedures <paramref name="skill"/> teaches, in catalogue order.</summary>
    public static IReadOnlyList<string> ProceduresIn(Scenario scenario, string skill)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var world = new SimWorld(scenario);
        return scenario.Procedures.Where(p => world.Has(skill ?? "", p.Name)).Select(p => p.Name).ToList();
    }

    /// <summary>Names of the harmful rules <paramref name="skill"/> contains.</summary>
    public static IReadOnlyList<string> HarmfulRulesIn(Scenario scenario, string skill)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        return scenario.Harmful.Where(h => ScenarioLoader.Contains(skill ?? "", h.Phrase)).Select(h => h.Name).ToList();
    }
}
