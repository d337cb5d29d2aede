using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Text;
using Anthropic;
using Anthropic.Core;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Providers;

/// <summary>
/// Builds the <see cref="IChatClient"/> pipeline of a role (<c>target</c> or <c>optimizer</c>) from its
/// <see cref="ModelRoleOptions"/>, with environment variables overriding the file.
/// </summary>
/// <remarks>
/// <para>Environment overrides (ROLE is the role name in upper case, for example <c>TARGET</c> or <c>OPTIMIZER</c>):
/// <c>SKILLOPT_{ROLE}_PROVIDER</c>, <c>SKILLOPT_{ROLE}_MODEL</c>, <c>SKILLOPT_{ROLE}_ENDPOINT</c> and
/// <c>SKILLOPT_{ROLE}_API_KEY_ENV</c> (the name of the variable that holds the key). An empty variable counts as unset.</para>
/// <para>The API key is read from the environment variable named by <see cref="ModelRoleOptions.ApiKeyEnv"/>, or by the
/// provider's convention when unset: <c>OPENAI_API_KEY</c> (openai), <c>AZURE_OPENAI_API_KEY</c> (azure-openai),
/// <c>ANTHROPIC_API_KEY</c> (anthropic); <c>openai-compatible</c> and <c>simlab</c> send no key unless <c>api_key_env</c>
/// is set; <c>scripted</c> needs none. The key is read once, when the client is built, and is never written anywhere.</para>
/// <para>The pipeline is composed with Microsoft.Extensions.AI's <see cref="ChatClientBuilder"/>, outermost first:
/// <c>UseLogging</c> (when <see cref="ChatPipelineOptions.LoggerFactory"/> is set) → <see cref="UsageAccountingChatClient"/>
/// (when a ledger is given) → role defaults (temperature, max output tokens, seed, reasoning effort; <c>ConfigureOptions</c>)
/// → <see cref="RecordingChatClient"/> (when recording) → <c>UseOpenTelemetry</c> (one span per model call, GenAI semantic
/// conventions, source <see cref="ProviderTelemetry.ModelCallsSourceName"/>; only when a tracer listens while the pipeline
/// is built, see <see cref="ProviderTelemetry.IsListenedTo"/>) → <see cref="ResilientChatClient"/> (Polly.Core:
/// retry, circuit breaker, concurrency and requests-per-minute limits, per-attempt timeout) → an adapter that removes
/// <c>skillopt.*</c> options and adds strict JSON schema and string reasoning efforts → the provider's own client: the
/// official <c>AsIChatClient</c> of the OpenAI SDK's <c>ChatClient</c> (Microsoft.Extensions.AI.OpenAI) for <c>openai</c>,
/// <c>openai-compatible</c>, <c>simlab</c> and <c>azure-openai</c> (the <c>{endpoint}/openai/v1/</c> endpoint; a key is sent as
/// the <c>api-key</c> header, a Microsoft Entra token — a JWT, or a value starting with <c>Bearer </c> — as
/// <c>Authorization: Bearer</c>), or the Anthropic SDK's own <c>AsIChatClient</c> for <c>anthropic</c>. The SDKs' built-in
/// retries are switched off so that <see cref="ResilientChatClient"/> is the only retry layer. In
/// <see cref="RecordingMode.Replay"/> a <see cref="ReplayChatClient"/> takes the place of everything below the role
/// defaults: no provider client is built at all, so no key is needed.</para>
/// </remarks>
internal sealed class ChatClientFactory
{
    /// <summary>Provider kind <c>openai</c>.</summary>
    public const string OpenAIProvider = "openai";
    /// <summary>Provider kind <c>openai-compatible</c> (Ollama, vLLM, LM Studio, llama.cpp server).</summary>
    public const string OpenAICompatibleProvider = "openai-compatible";
    /// <summary>Provider kind <c>azure-openai</c> (the v1 endpoint).</summary>
    public const string AzureOpenAIProvider = "azure-openai";
    /// <summary>Provider kind <c>anthropic</c>.</summary>
    public const string AnthropicProvider = "anthropic";
    /// <summary>Provider kind <c>scripted</c> (see <see cref="ChatPipelineOptions.ScriptedClientFactory"/>).</summary>
    public const string ScriptedProvider = "scripted";
    /// <summary>
    /// Provider kind <c>simlab</c>: the simulated model server (OpenAI chat-completions wire protocol), reached like
    /// <c>openai-compatible</c> at its endpoint, without a key unless <c>api_key_env</c> is set. The provider name stays
    /// <c>simlab</c> in errors, recordings and metadata so that simulated results are never taken for model results.
    /// </summary>
    public const string SimLabProvider = "simlab";

    private static readonly string[] KnownProviders =
        [OpenAIProvider, OpenAICompatibleProvider, AzureOpenAIProvider, AnthropicProvider, ScriptedProvider, SimLabProvider];

    private readonly Func<string, string?> _environment;
    private readonly TimeProvider _time;

    /// <summary>Creates a factory.</summary>
    /// <param name="environment">Reads an environment variable by name (<see langword="null"/> when unset); <see langword="null"/> uses <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    /// <param name="timeProvider">Clock for timeouts, backoff, rate limits and wall time; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    public ChatClientFactory(Func<string, string?>? environment = null, TimeProvider? timeProvider = null)
    {
        _environment = environment ?? Environment.GetEnvironmentVariable;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Returns the name of the environment variable that overrides <paramref name="setting"/> of <paramref name="role"/>.</summary>
    /// <param name="role">Role name, for example <c>target</c>.</param>
    /// <param name="setting">Setting in upper case: <c>PROVIDER</c>, <c>MODEL</c>, <c>ENDPOINT</c> or <c>API_KEY_ENV</c>.</param>
    /// <returns>For example <c>SKILLOPT_TARGET_MODEL</c>.</returns>
    public static string EnvironmentVariableName(string role, string setting)
    {
        ArgumentException.ThrowIfNullOrEmpty(role);
        ArgumentException.ThrowIfNullOrEmpty(setting);
        var upper = new StringBuilder(role.Length);
        foreach (var c in role) upper.Append(char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_');
        return $"SKILLOPT_{upper}_{setting}";
    }

    /// <summary>
    /// Returns a copy of <paramref name="options"/> with the environment overrides applied and the provider name in lower
    /// case, after checking that it can produce a client (everything but the key, which <see cref="Create"/> reads).
    /// </summary>
    /// <param name="role">Role name, for example <c>target</c>.</param>
    /// <param name="options">The role's settings from the configuration file.</param>
    /// <exception cref="ProviderConfigurationException">No or an unknown provider, no model, a missing or invalid endpoint, or an out-of-range value.</exception>
    public ModelRoleOptions Resolve(string role, ModelRoleOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(role);
        ArgumentNullException.ThrowIfNull(options);
        var r = options.Clone();
        r.Provider = Override(role, "PROVIDER") ?? r.Provider;
        r.Model = Override(role, "MODEL") ?? r.Model;
        r.Endpoint = Override(role, "ENDPOINT") ?? r.Endpoint;
        r.ApiKeyEnv = Override(role, "API_KEY_ENV") ?? r.ApiKeyEnv;
        r.Provider = (r.Provider ?? "").Trim().ToLowerInvariant();
        r.Model = (r.Model ?? "").Trim();
        r.Endpoint = string.IsNullOrWhiteSpace(r.Endpoint) ? null : r.Endpoint.Trim();
        r.ApiKeyEnv = string.IsNullOrWhiteSpace(r.ApiKeyEnv) ? null : r.ApiKeyEnv.Trim();

        var providerVar = EnvironmentVariableName(role, "PROVIDER");
        if (r.Provider.Length == 0)
            throw new ProviderConfigurationException(
                $"Role '{role}' has no model provider: set models.{role}.provider in skillopt.yaml ({string.Join(", ", KnownProviders)}) "
                + $"or the environment variable {providerVar}.", role, $"models.{role}.provider");
        if (!KnownProviders.Contains(r.Provider))
            throw new ProviderConfigurationException(
                $"Role '{role}' has an unknown provider '{r.Provider}': use one of {string.Join(", ", KnownProviders)} "
                + $"(models.{role}.provider or {providerVar}).", role, $"models.{role}.provider");
        if (r.Model.Length == 0)
        {
            if (r.Provider == ScriptedProvider) r.Model = ScriptedProvider;
            else
                throw new ProviderConfigurationException(
                    $"Role '{role}' (provider '{r.Provider}') has no model: set models.{role}.model in skillopt.yaml or the environment "
                    + $"variable {EnvironmentVariableName(role, "MODEL")}"
                    + (r.Provider == AzureOpenAIProvider ? " (for Azure OpenAI: the deployment name)." : "."), role, $"models.{role}.model");
        }

        var endpointVar = EnvironmentVariableName(role, "ENDPOINT");
        if (r.Endpoint is null && r.Provider is OpenAICompatibleProvider or AzureOpenAIProvider or SimLabProvider)
            throw new ProviderConfigurationException(
                $"Role '{role}' uses provider '{r.Provider}', which needs an endpoint: set models.{role}.endpoint in skillopt.yaml or the "
                + $"environment variable {endpointVar} (for example " + r.Provider switch
                {
                    AzureOpenAIProvider => "https://my-resource.openai.azure.com",
                    SimLabProvider => "the address the SimLab server printed, such as http://127.0.0.1:5000/v1",
                    _ => "http://localhost:11434/v1",
                } + ").",
                role, endpointVar);
        if (r.Endpoint is not null
            && (!Uri.TryCreate(r.Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
            throw new ProviderConfigurationException(
                $"Role '{role}' has an invalid endpoint '{r.Endpoint}': it must be an absolute http:// or https:// URL "
                + $"(models.{role}.endpoint or {endpointVar}).", role, endpointVar);

        if (r.Concurrency < 1)
            throw Invalid(role, "concurrency", r.Concurrency, "at least 1");
        if (r.RequestsPerMinute is < 1)
            throw Invalid(role, "requests_per_minute", r.RequestsPerMinute, "at least 1, or unset for no limit");
        if (!(r.TimeoutSeconds > 0))
            throw Invalid(role, "timeout_seconds", r.TimeoutSeconds, "a positive number of seconds");
        if (r.MaxRetries < 0)
            throw Invalid(role, "max_retries", r.MaxRetries, "0 or more");
        if (r.Temperature is < 0 or > 2)
            throw Invalid(role, "temperature", r.Temperature, "between 0 and 2");
        if (r.MaxOutputTokens is < 1)
            throw Invalid(role, "max_output_tokens", r.MaxOutputTokens, "at least 1");
        if (r.ReasoningEffort is { } effort)
        {
            r.ReasoningEffort = effort.Trim().ToLowerInvariant();
            if (!TryParseEffort(r.ReasoningEffort, out _))
                throw Invalid(role, "reasoning_effort", effort, "one of none, minimal, low, medium, high, xhigh");
        }
        return r;
    }

    /// <summary>Builds the pipeline of <paramref name="role"/> (see the remarks on <see cref="ChatClientFactory"/>).</summary>
    /// <param name="role">Role name, for example <c>target</c>.</param>
    /// <param name="options">The role's settings from the configuration file (the environment overrides them).</param>
    /// <param name="pipeline">Run-wide settings: ledger, pricing, recording, resilience, logging, scripted client; <see langword="null"/> uses the defaults.</param>
    /// <returns>The client; disposing it releases its HTTP connections.</returns>
    /// <exception cref="ProviderConfigurationException">The configuration is incomplete or invalid, or the API key variable is unset.</exception>
    public IChatClient Create(string role, ModelRoleOptions options, ChatPipelineOptions? pipeline = null)
    {
        var r = Resolve(role, options);
        pipeline ??= new ChatPipelineOptions();
        if (pipeline.Recording != RecordingMode.Off && string.IsNullOrWhiteSpace(pipeline.RecordingDirectory))
            throw new ProviderConfigurationException(
                $"Role '{role}': recording mode {pipeline.Recording} needs a recordings folder (ChatPipelineOptions.RecordingDirectory).",
                role, "recording directory");

        TryParseEffort(r.ReasoningEffort, out var effort);
        var openAIStyle = r.Provider is OpenAIProvider or OpenAICompatibleProvider or AzureOpenAIProvider or SimLabProvider;
        string? effortOverride = null;
        if (r.ReasoningEffort == "minimal")
        {
            if (openAIStyle) { effort = null; effortOverride = "minimal"; }
            else effort = ReasoningEffort.Low;
        }
        var defaults = new RoleDefaults(r, effort, effortOverride);
        var logger = pipeline.LoggerFactory?.CreateLogger("SkillOpt.Providers." + role);

        if (pipeline.Recording == RecordingMode.Replay)
        {
            // No provider client at all: no key needed, no network, no model-call spans.
            var replay = new ChatClientBuilder(new ReplayChatClient(pipeline.RecordingDirectory!, r.Provider, r.Model));
            return Outer(replay, role, r, pipeline, defaults).Build();
        }

        var keyEnv = KeyVariable(r);
        var key = ReadKey(role, r, keyEnv);
        var endpoint = ProviderEndpoint(r);
        var context = new ProviderContext(r.Provider, role, r.Model, key is null ? null : keyEnv, ProviderContext.DisplayEndpoint(endpoint));
        var redactor = new SecretRedactor(key);
        var resilience = pipeline.Resilience?.Clone() ?? new ResilienceOptions();
        resilience.MaxRetries = r.MaxRetries;
        resilience.Timeout = TimeSpan.FromSeconds(r.TimeoutSeconds);
        resilience.MaxConcurrency = r.Concurrency;
        resilience.RequestsPerMinute = r.RequestsPerMinute;

        var builder = Outer(new ChatClientBuilder(CreateProviderClient(role, r, key, endpoint, openAIStyle, pipeline)), role, r, pipeline, defaults);
        if (pipeline.Recording is RecordingMode.Record or RecordingMode.RecordMissing)
            builder.Use(inner => new RecordingChatClient(inner, pipeline.RecordingDirectory!, r.Provider, r.Model, pipeline.Recording) { Redactor = redactor });
        if (ProviderTelemetry.IsListenedTo)
            builder.UseOpenTelemetry(pipeline.LoggerFactory, ProviderTelemetry.ModelCallsSourceName);
        builder.Use(inner => new ResilientChatClient(inner, context, resilience, _time, logger) { Redactor = redactor });
        return builder.Build();
    }

    /// <summary>Returns a description that never shows a secret: the type name only (a factory holds no key).</summary>
    public override string ToString() => nameof(ChatClientFactory);

    /// <summary>The outer steps every pipeline shares: logging, usage accounting, role defaults (outermost first).</summary>
    private ChatClientBuilder Outer(ChatClientBuilder builder, string role, ModelRoleOptions r, ChatPipelineOptions pipeline, RoleDefaults defaults)
    {
        if (pipeline.LoggerFactory is { } loggerFactory)
            builder.UseLogging(loggerFactory);
        if (pipeline.Ledger is { } ledger)
            builder.Use(inner => new UsageAccountingChatClient(inner, ledger, role, r.Model, pipeline.Pricing, _time));
        return builder.ConfigureOptions(defaults.Apply);
    }

    /// <summary>The provider's own <see cref="IChatClient"/> (the official SDKs' <c>AsIChatClient</c>) under <see cref="ProviderAdapterChatClient"/>.</summary>
    private static IChatClient CreateProviderClient(string role, ModelRoleOptions r, string? key, Uri? endpoint, bool openAIStyle,
        ChatPipelineOptions pipeline)
    {
        // The SDKs' own timeouts only back ours up (the resilience client's timeout runs on the injected clock).
        var backstop = TimeSpan.FromSeconds(Math.Min(r.TimeoutSeconds * 2 + 30, TimeSpan.FromDays(1).TotalSeconds));
        switch (r.Provider)
        {
            case ScriptedProvider:
                if (pipeline.ScriptedClientFactory is null)
                    throw new ProviderConfigurationException(
                        $"Role '{role}' uses provider 'scripted', a deterministic fake that tests or the simulator supply through "
                        + "ChatPipelineOptions.ScriptedClientFactory; none was given.", role, $"models.{role}.provider");
                return new ProviderAdapterChatClient(pipeline.ScriptedClientFactory(r), r.Provider, null, r.Model, openAIStyle: false);

            case AnthropicProvider:
            {
                var http = CreateHttpClient();
                var anthropic = new AnthropicClient(new ClientOptions
                {
                    ApiKey = key,
                    BaseUrl = endpoint!.ToString().TrimEnd('/'),
                    MaxRetries = 0,
                    Timeout = backstop,
                    HttpClient = http,
                });
                IDisposable[] owned = anthropic is IDisposable disposable ? [disposable, http] : [http];
                return new ProviderAdapterChatClient(anthropic.AsIChatClient(r.Model, r.MaxOutputTokens), r.Provider, endpoint, r.Model,
                    openAIStyle: false, owned);
            }

            default:
            {
                var http = CreateHttpClient();
                var clientOptions = new OpenAIClientOptions
                {
                    RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                    Transport = new HttpClientPipelineTransport(http),
                    NetworkTimeout = backstop,
                    UserAgentApplicationId = "skillopt",
                    Endpoint = endpoint,
                };
                AuthenticationPolicy auth;
                if (r.Provider == AzureOpenAIProvider)
                {
                    var bearer = AzureBearerToken(key!);
                    auth = bearer is not null
                        ? ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(bearer))
                        : ApiKeyAuthenticationPolicy.CreateHeaderApiKeyPolicy(new ApiKeyCredential(key!), "api-key");
                }
                else
                {
                    auth = key is null
                        ? new NoAuthenticationPolicy()
                        : ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(key));
                }
                var chat = new ChatClient(r.Model, auth, clientOptions);
                return new ProviderAdapterChatClient(chat.AsIChatClient(), r.Provider, endpoint, r.Model, openAIStyle, http);
            }
        }
    }

    /// <summary>The base URL calls of <paramref name="r"/> go to; <see langword="null"/> for <c>scripted</c>.</summary>
    internal static Uri? ProviderEndpoint(ModelRoleOptions r) => r.Provider switch
    {
        ScriptedProvider => null,
        AzureOpenAIProvider => AzureV1Endpoint(r.Endpoint!),
        AnthropicProvider => new Uri(AnthropicBaseUrl(r.Endpoint)),
        OpenAIProvider when r.Endpoint is null => new Uri("https://api.openai.com/v1"),
        _ => new Uri(r.Endpoint!.TrimEnd('/')),
    };

    private static HttpClient CreateHttpClient() =>
        new(new ResponseCaptureHandler(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    /// <summary>Azure OpenAI's v1 endpoint: <c>{endpoint}/openai/v1/</c> unless the endpoint already ends so.</summary>
    internal static Uri AzureV1Endpoint(string endpoint)
    {
        var trimmed = endpoint.TrimEnd('/');
        if (!trimmed.EndsWith("/openai/v1", StringComparison.OrdinalIgnoreCase))
            trimmed += trimmed.EndsWith("/openai", StringComparison.OrdinalIgnoreCase) ? "/v1" : "/openai/v1";
        return new Uri(trimmed + "/");
    }

    /// <summary>Anthropic's base URL: the endpoint without a trailing <c>/v1</c> (the SDK adds <c>/v1/messages</c>), or the public API.</summary>
    internal static string AnthropicBaseUrl(string? endpoint)
    {
        if (endpoint is null) return "https://api.anthropic.com";
        var trimmed = endpoint.TrimEnd('/');
        return trimmed.EndsWith("/v1", StringComparison.OrdinalIgnoreCase) ? trimmed[..^3] : trimmed;
    }

    /// <summary>Returns the token to send as <c>Authorization: Bearer</c> when the Azure credential is one (a JWT or <c>Bearer ...</c>); otherwise <see langword="null"/>.</summary>
    internal static string? AzureBearerToken(string key)
    {
        if (key.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return key[7..].Trim();
        return key.StartsWith("eyJ", StringComparison.Ordinal) && key.Count(c => c == '.') == 2 ? key : null;
    }

    private static string? KeyVariable(ModelRoleOptions r) => r.ApiKeyEnv ?? r.Provider switch
    {
        OpenAIProvider => "OPENAI_API_KEY",
        AzureOpenAIProvider => "AZURE_OPENAI_API_KEY",
        AnthropicProvider => "ANTHROPIC_API_KEY",
        _ => null,
    };

    private string? ReadKey(string role, ModelRoleOptions r, string? keyEnv)
    {
        if (keyEnv is null || r.Provider == ScriptedProvider) return null;
        var key = _environment(keyEnv);
        if (!string.IsNullOrWhiteSpace(key)) return key.Trim();
        throw new ProviderConfigurationException(
            $"Role '{role}' (provider '{r.Provider}', model '{r.Model}') needs an API key, but the environment variable {keyEnv} "
            + $"is not set or is empty. Set {keyEnv}, or name another variable with models.{role}.api_key_env in skillopt.yaml "
            + $"or {EnvironmentVariableName(role, "API_KEY_ENV")}.", role, keyEnv);
    }

    private string? Override(string role, string setting)
    {
        var value = _environment(EnvironmentVariableName(role, setting));
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private static ProviderConfigurationException Invalid(string role, string key, object? value, string expected) =>
        new($"Role '{role}' has an invalid {key} '{Convert.ToString(value, CultureInfo.InvariantCulture)}': it must be {expected} "
            + $"(models.{role}.{key} in skillopt.yaml).", role, $"models.{role}.{key}");

    private static bool TryParseEffort(string? value, out ReasoningEffort? effort)
    {
        effort = value switch
        {
            null => null,
            "none" => ReasoningEffort.None,
            "minimal" or "low" => ReasoningEffort.Low,
            "medium" => ReasoningEffort.Medium,
            "high" => ReasoningEffort.High,
            "xhigh" or "extra_high" or "extra-high" => ReasoningEffort.ExtraHigh,
            _ => (ReasoningEffort?)(-1),
        };
        if (effort == (ReasoningEffort)(-1))
        {
            effort = null;
            return false;
        }
        return true;
    }
}
