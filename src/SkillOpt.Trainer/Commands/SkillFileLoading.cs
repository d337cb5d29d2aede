using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Skills;
using SkillOpt.Providers;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer.Commands;

/// <summary>
/// Reads the skill a command sends to the target model, refusing it with a diagnostic located in the skill file
/// (SKOPT1101–SKOPT1104, see docs/diagnostics.md) before any model call.
/// </summary>
internal static class SkillFileLoading
{
    /// <summary>
    /// Reads <see cref="CommandContext.SkillFile"/> (UTF-8 text, no binary content, well-formed protected-region markers)
    /// and refuses it when it is over <c>skill.max_initial_tokens</c>, naming its cost per target call at the target
    /// model's configured price (the model from <c>SKILLOPT_TARGET_MODEL</c> when set, else <c>models.target.model</c>).
    /// </summary>
    /// <param name="ctx">The command's context.</param>
    /// <exception cref="SkillFileException">The skill file is refused.</exception>
    public static SkillDocument Load(CommandContext ctx)
    {
        var skill = SkillFile.Read(ctx.SkillFile);
        var model = Environment.GetEnvironmentVariable(ChatClientFactory.EnvironmentVariableName("target", "MODEL")) is { Length: > 0 } overridden
            ? overridden
            : ctx.Options.Models.Target.Model;
        SkillFile.EnsureWithinTokenLimit(skill, ctx.SkillFile, ctx.Options.Skill.MaxInitialTokens, model, ModelPricing.Find(ctx.Options.Pricing, model));
        return skill;
    }

    /// <summary>
    /// Warns (SKOPT1105) when the initial <paramref name="skill"/> is over the <c>skill.token_budget</c> the training will use
    /// (none in the reference's loop, the presets' with <c>gate.kind</c> unset; 2,000 tokens with the default preset's own loop,
    /// <c>gate.kind: posterior</c> or <c>paired</c>).
    /// </summary>
    /// <param name="ctx">The command's context.</param>
    /// <param name="console">Receives the warning.</param>
    /// <param name="skill">The initial skill, as <see cref="Load"/> read it.</param>
    public static void WarnOverTokenBudget(CommandContext ctx, TrainerConsole console, SkillDocument skill)
    {
        if (SkillFile.TokenBudgetWarning(skill, ctx.Options.ApplyPreset().Skill.TokenBudget ?? 0) is { } warning)
        {
            console.Warning(SkillFile.OverTokenBudgetCode, warning, ctx.SkillFile);
        }
    }
}
