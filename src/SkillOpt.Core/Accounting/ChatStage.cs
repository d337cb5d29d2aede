using Microsoft.Extensions.AI;

namespace SkillOpt.Core.Accounting;

/// <summary>
/// Names of the stages of the optimisation loop, used to attribute model calls, tokens and wall time.
/// A stage travels with a request in <see cref="ChatOptions.AdditionalProperties"/> under
/// <see cref="PropertyKey"/>; provider adapters must not send keys that start with <c>skillopt.</c> over the wire.
/// </summary>
internal static class ChatStage
{
    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key that holds the stage name.</summary>
    public const string PropertyKey = "skillopt.stage";

    /// <summary>Target-model calls made while rolling out the train batch.</summary>
    public const string Rollout = "rollout";
    /// <summary>Optimizer calls that reflect on a minibatch of trajectories.</summary>
    public const string Reflect = "reflect";
    /// <summary>Optimizer calls that merge patches.</summary>
    public const string Merge = "merge";
    /// <summary>Optimizer calls that rank edits when more survive than the learning rate allows.</summary>
    public const string Rank = "rank";
    /// <summary>Target-model calls made while scoring a skill on the validation split.</summary>
    public const string Validate = "validate";
    /// <summary>The end-of-epoch slow-update optimizer call.</summary>
    public const string SlowUpdate = "slow_update";
    /// <summary>Target-model calls of the slow update's task comparison.</summary>
    public const string SlowUpdateRollout = "slow_update_rollout";
    /// <summary>Target-model calls of the pre-screen (a candidate on the step's failed and a few passed tasks).</summary>
    public const string Prescreen = "prescreen";
    /// <summary>The end-of-epoch meta-skill optimizer call.</summary>
    public const string Meta = "meta";
    /// <summary>Target-model calls made while scoring skills on the test split.</summary>
    public const string Test = "test";

    /// <summary>Stages whose calls go to the target model.</summary>
    public static IReadOnlySet<string> TargetStages { get; } = new HashSet<string>(StringComparer.Ordinal) { Rollout, Validate, Prescreen, SlowUpdateRollout, Test };

    /// <summary>Returns the stage recorded in <paramref name="options"/>, or <see langword="null"/> when none is.</summary>
    public static string? Get(ChatOptions? options) =>
        options?.AdditionalProperties is { } p && p.TryGetValue(PropertyKey, out var v) ? v as string : null;

    /// <summary>Records <paramref name="stage"/> in <paramref name="options"/> and returns the same instance.</summary>
    public static ChatOptions WithStage(this ChatOptions options, string stage)
    {
        ArgumentNullException.ThrowIfNull(options);
        (options.AdditionalProperties ??= new AdditionalPropertiesDictionary())[PropertyKey] = stage;
        return options;
    }
}
