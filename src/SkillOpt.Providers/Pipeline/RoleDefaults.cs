using Microsoft.Extensions.AI;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Providers;

/// <summary>
/// The role's configured defaults (temperature, max output tokens, seed, reasoning effort), filled into the requests that
/// leave them unset; applied with <c>ChatClientBuilder.ConfigureOptions</c>, which hands it a copy of each request's options.
/// </summary>
internal sealed class RoleDefaults(ModelRoleOptions role, ReasoningEffort? effort, string? effortOverride)
{
    /// <summary>
    /// <see cref="ChatOptions.AdditionalProperties"/> key whose string value (for example <c>minimal</c>) is sent as
    /// <c>reasoning_effort</c> to OpenAI-style providers, for levels that <see cref="ReasoningEffort"/> cannot express.
    /// </summary>
    public const string ReasoningEffortPropertyKey = "reasoning_effort";

    /// <summary>Fills the unset settings of <paramref name="options"/> (a copy the caller may change).</summary>
    public void Apply(ChatOptions options)
    {
        options.Temperature ??= role.Temperature;
        options.MaxOutputTokens ??= role.MaxOutputTokens;
        options.Seed ??= role.Seed;
        var callerSetEffort = options.Reasoning?.Effort is not null
                              || options.AdditionalProperties?.ContainsKey(ReasoningEffortPropertyKey) == true;
        if (callerSetEffort) return;
        if (effort is { } level)
            options.Reasoning = new ReasoningOptions { Output = options.Reasoning?.Output, Effort = level };
        if (effortOverride is { } raw)
        {
            options.AdditionalProperties = options.AdditionalProperties is { } props ? new AdditionalPropertiesDictionary(props) : [];
            options.AdditionalProperties[ReasoningEffortPropertyKey] = raw;
        }
    }
}
