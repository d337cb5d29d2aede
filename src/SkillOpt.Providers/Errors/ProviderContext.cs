namespace SkillOpt.Providers;

/// <summary>
/// Who a model call is made for: the provider kind, the role (<c>target</c> or <c>optimizer</c>) and the model id.
/// Carried by the resilience clients so that every error names them; holds no secret.
/// </summary>
/// <param name="Provider">Provider kind as configured, for example <c>openai</c> or <c>anthropic</c>.</param>
/// <param name="Role">Role name, for example <c>target</c>.</param>
/// <param name="Model">Model id (for Azure OpenAI: the deployment name).</param>
/// <param name="ApiKeyEnv">
/// Name of the environment variable the API key was read from (never the key), used in hints such as
/// "check the key in OPENAI_API_KEY"; <see langword="null"/> when the provider needs no key.
/// </param>
public sealed record ProviderContext(string Provider, string Role, string Model, string? ApiKeyEnv = null)
{
    /// <summary>Returns <c>provider 'p' (role 'r', model 'm')</c>, the prefix used in error messages.</summary>
    public override string ToString() => $"provider '{Provider}' (role '{Role}', model '{Model}')";
}
