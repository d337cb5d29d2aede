using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Gates;

/// <summary>
/// What the training loop needs of a paired gate (<see cref="PairedSequentialGate"/>, <see cref="PosteriorPairedGate"/>):
/// it measures the current skill itself, lazily and through the rollout cache, on up to <see cref="MaxDraws"/> draws of the
/// validation split, so the loop keeps no stored evaluation for it, runs validation rounds of <see cref="MaxDraws"/>
/// samples, takes an accepted candidate as the new best skill, and can stop at the ceiling (<see cref="CeilingReason"/>).
/// </summary>
internal interface IPairedGate : IValidationGate
{
    /// <summary>Most draws (passes over the validation split, each with its own sample index) per candidate, ≥ 1: the loop's validation round length.</summary>
    int MaxDraws { get; }

    /// <summary>The fewest discordant wins, without a loss, on which the gate can accept.</summary>
    int WinsToAccept { get; }

    /// <summary>
    /// Why no candidate is likely to be accepted against a current skill measured as <paramref name="currentSkill"/> (its
    /// results on draws no selection has looked at), or null when one could be (docs/method.md, early stopping's ceiling).
    /// </summary>
    /// <param name="currentSkill">The current skill's validation results; errored and skipped results are ignored.</param>
    /// <param name="validationTasks">Tasks in the validation split (n ≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="validationTasks"/> is less than 1.</exception>
    string? CeilingReason(IReadOnlyList<RolloutResult> currentSkill, int validationTasks);
}
