using SkillOpt.Core;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Configuration;
using SkillOpt.Providers;
using SkillOpt.Providers.Scripted;

namespace SkillOpt.Testing.Verifiers;

/// <summary>
/// Builds the <see cref="IChatClient"/> of a model role (<c>target</c> or <c>optimizer</c>) from <c>skillopt.yaml</c>
/// through <see cref="ChatClientFactory"/>, with the <c>scripted</c> provider mapped to <see cref="ScriptedChatClient"/>
/// (its <c>endpoint</c> is the rules file, relative to the configuration file's folder).
/// </summary>
internal static class RoleChatClients
{
    /// <summary>Builds the client of <paramref name="role"/>.</summary>
    /// <param name="role"><c>target</c> or <c>optimizer</c>.</param>
    /// <param name="options">The role's settings (environment overrides <c>SKILLOPT_{ROLE}_*</c> apply).</param>
    /// <param name="baseDirectory">Folder relative rules-file paths are resolved against (the configuration file's folder).</param>
    /// <param name="pipeline">Run-wide pipeline settings; <see langword="null"/> uses the defaults.</param>
    /// <exception cref="ProviderConfigurationException">The role is not configured or is invalid.</exception>
    /// <exception cref="ScriptedRulesException">The scripted provider's rules file is missing or invalid.</exception>
    public static IChatClient Create(string role, ModelRoleOptions options, string? baseDirectory, ChatPipelineOptions? pipeline = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        pipeline ??= new ChatPipelineOptions();
        // the key's value is a secret in every transcript and result file this process writes
        SecretRedaction.AddKeyVariables(options.ApiKeyEnv, Override(role, "API_KEY_ENV"));
        var provider = Override(role, "PROVIDER") ?? options.Provider;
        if (!string.Equals(provider?.Trim(), ChatClientFactory.ScriptedProvider, StringComparison.OrdinalIgnoreCase))
        {
            return new ChatClientFactory().Create(role, options, pipeline);
        }
        // The rules file is a path, not a URL: keep it out of the factory's endpoint validation.
        var endpoint = Override(role, "ENDPOINT") ?? options.Endpoint;
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            throw new ProviderConfigurationException(
                $"Role '{role}' uses provider 'scripted', which needs the path of its rules file in models.{role}.endpoint "
                + $"(or {ChatClientFactory.EnvironmentVariableName(role, "ENDPOINT")}).", role, $"models.{role}.endpoint");
        }
        var rulesPath = Path.IsPathRooted(endpoint) ? endpoint : Path.GetFullPath(Path.Combine(baseDirectory ?? Directory.GetCurrentDirectory(), endpoint));
        var rules = ScriptedRuleSet.Load(rulesPath);
        var scripted = options.Clone();
        scripted.Provider = ChatClientFactory.ScriptedProvider;
        scripted.Endpoint = null;
        var environment = (string name) => name == ChatClientFactory.EnvironmentVariableName(role, "ENDPOINT") || name == ChatClientFactory.EnvironmentVariableName(role, "PROVIDER")
            ? null
            : Environment.GetEnvironmentVariable(name);
        var withScripted = new ChatPipelineOptions
        {
            Ledger = pipeline.Ledger,
            Pricing = pipeline.Pricing,
            Recording = pipeline.Recording,
            RecordingDirectory = pipeline.RecordingDirectory,
            Resilience = pipeline.Resilience,
            ScriptedClientFactory = _ => new ScriptedChatClient(rules),
        };
        return new ChatClientFactory(environment).Create(role, scripted, withScripted);
    }

    private static string? Override(string role, string setting)
    {
        var v = Environment.GetEnvironmentVariable(ChatClientFactory.EnvironmentVariableName(role, setting));
        return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
    }
}
