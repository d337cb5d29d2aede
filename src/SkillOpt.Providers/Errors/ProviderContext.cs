namespace SkillOpt.Providers;

/// <summary>
/// Who a model call is made for and where it goes: the provider kind, the role (<c>target</c> or <c>optimizer</c>), the
/// model id and the endpoint. Carried by the resilience client so that every error names them; holds no secret.
/// </summary>
/// <param name="Provider">Provider kind as configured, for example <c>openai</c> or <c>anthropic</c>.</param>
/// <param name="Role">Role name, for example <c>target</c>.</param>
/// <param name="Model">Model id (for Azure OpenAI: the deployment name).</param>
/// <param name="ApiKeyEnv">
/// Name of the environment variable the API key was read from (never the key), used in hints such as
/// "check the key in OPENAI_API_KEY"; <see langword="null"/> when the provider needs no key.
/// </param>
/// <param name="Endpoint">
/// The base URL the calls go to, as <see cref="DisplayEndpoint"/> shows it (scheme, host, port and path only: never user
/// information or a query, where a credential could hide); <see langword="null"/> when there is none (scripted).
/// </param>
internal sealed record ProviderContext(string Provider, string Role, string Model, string? ApiKeyEnv = null, string? Endpoint = null)
{
    /// <summary>Returns <c>provider 'p' (role 'r', model 'm', endpoint 'e')</c>, the prefix used in error messages.</summary>
    public override string ToString() => Endpoint is { Length: > 0 } endpoint
        ? $"provider '{Provider}' (role '{Role}', model '{Model}', endpoint {endpoint})"
        : $"provider '{Provider}' (role '{Role}', model '{Model}')";

    /// <summary>
    /// Returns <paramref name="endpoint"/> reduced to scheme, host, port and path (user information, query and fragment
    /// dropped, so that no credential embedded in a URL reaches a message); <see langword="null"/> for <see langword="null"/>.
    /// </summary>
    /// <param name="endpoint">An absolute URL.</param>
    public static string? DisplayEndpoint(Uri? endpoint) =>
        endpoint is null ? null : endpoint.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
}
