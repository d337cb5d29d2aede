namespace SkillOpt.Core.Configuration;

/// <summary>
/// How to reach the model that plays one role (target or optimizer): the <c>models.target</c> and
/// <c>models.optimizer</c> sections of <c>skillopt.yaml</c>.
/// </summary>
/// <remarks>
/// Secrets are never held here: <see cref="ApiKeyEnv"/> names the environment variable that holds
/// the key, and the key itself is read from the environment only when a client is built.
/// </remarks>
public sealed class ModelRoleOptions
{
    /// <summary>
    /// Provider kind: <c>openai</c>, <c>openai-compatible</c> (Ollama, vLLM, LM Studio, llama.cpp server),
    /// <c>azure-openai</c> (the v1 endpoint), <c>anthropic</c>, or <c>scripted</c> (a deterministic fake for tests).
    /// Empty means "not configured".
    /// </summary>
    public string Provider { get; set; } = "";

    /// <summary>Model id sent to the provider (for Azure OpenAI: the deployment name).</summary>
    public string Model { get; set; } = "";

    /// <summary>Base URL of the API (required for <c>openai-compatible</c> and <c>azure-openai</c>; optional otherwise).</summary>
    public string? Endpoint { get; set; }

    /// <summary>
    /// Name of the environment variable that holds the API key (never the key itself). When empty the
    /// provider's conventional name is used (<c>OPENAI_API_KEY</c>, <c>AZURE_OPENAI_API_KEY</c>, <c>ANTHROPIC_API_KEY</c>).
    /// </summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>Sampling temperature in [0, 2]; <see langword="null"/> leaves the provider default.</summary>
    public float? Temperature { get; set; }

    /// <summary>Upper bound on output tokens per call; <see langword="null"/> leaves the provider default.</summary>
    public int? MaxOutputTokens { get; set; }

    /// <summary>Reasoning effort for reasoning models (<c>minimal</c>, <c>low</c>, <c>medium</c>, <c>high</c>); <see langword="null"/> leaves the default.</summary>
    public string? ReasoningEffort { get; set; }

    /// <summary>Sampling seed passed to providers that support one.</summary>
    public long? Seed { get; set; }

    /// <summary>Most calls in flight at once for this role (default 8).</summary>
    public int Concurrency { get; set; } = 8;

    /// <summary>Most requests started per minute for this role; <see langword="null"/> means no limit.</summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>Per-call timeout in seconds (default 120).</summary>
    public double TimeoutSeconds { get; set; } = 120;

    /// <summary>Most retries of one call on 429, 5xx, timeouts and dropped connections (default 6).</summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>Returns a shallow copy (all members are values or immutable strings).</summary>
    public ModelRoleOptions Clone() => (ModelRoleOptions)MemberwiseClone();
}

/// <summary>Price of one model in US dollars per million tokens (the <c>pricing</c> section of <c>skillopt.yaml</c>).</summary>
public sealed class ModelPrice
{
    /// <summary>Dollars per million uncached input tokens.</summary>
    public double InputPerMillion { get; set; }

    /// <summary>Dollars per million cached input tokens; when <see langword="null"/> cached tokens cost the input price.</summary>
    public double? CachedInputPerMillion { get; set; }

    /// <summary>Dollars per million output tokens (reasoning tokens included).</summary>
    public double OutputPerMillion { get; set; }
}

/// <summary>The two model roles of a run (<c>models</c> section).</summary>
public sealed class ModelsOptions
{
    /// <summary>The frozen model that does the tasks with the skill in its context.</summary>
    public ModelRoleOptions Target { get; set; } = new();

    /// <summary>The model that reflects on trajectories and proposes edits.</summary>
    public ModelRoleOptions Optimizer { get; set; } = new();
}
