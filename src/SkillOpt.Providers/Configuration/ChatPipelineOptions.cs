using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Providers;

/// <summary>Run-wide settings of the pipelines that <see cref="ChatClientFactory"/> builds (the per-role settings are in <see cref="ModelRoleOptions"/>).</summary>
internal sealed class ChatPipelineOptions
{
    /// <summary>Ledger that records every call's tokens, wall time and cost; <see langword="null"/> records nothing.</summary>
    public UsageLedger? Ledger { get; set; }

    /// <summary>Prices by model id (the <c>pricing</c> section of <c>skillopt.yaml</c>); <see langword="null"/> records no cost.</summary>
    public IReadOnlyDictionary<string, ModelPrice>? Pricing { get; set; }

    /// <summary>Recording or replay of responses (default <see cref="RecordingMode.Off"/>).</summary>
    public RecordingMode Recording { get; set; } = RecordingMode.Off;

    /// <summary>Folder of recordings; required unless <see cref="Recording"/> is <see cref="RecordingMode.Off"/>.</summary>
    public string? RecordingDirectory { get; set; }

    /// <summary>
    /// Backoff and circuit-breaker settings; <see langword="null"/> uses the defaults. <see cref="ResilienceOptions.MaxRetries"/>,
    /// <see cref="ResilienceOptions.Timeout"/>, <see cref="ResilienceOptions.MaxConcurrency"/> and
    /// <see cref="ResilienceOptions.RequestsPerMinute"/> are always taken from the role's settings.
    /// </summary>
    public ResilienceOptions? Resilience { get; set; }

    /// <summary>
    /// Logging of every call (Microsoft.Extensions.AI's <c>UseLogging</c>), of retries and of the circuit breaker, and the
    /// logger of the model-call spans; <see langword="null"/> logs nothing. Never receives a key.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Builds the client of the <c>scripted</c> provider (a deterministic fake supplied by tests or the simulator);
    /// it is wrapped in the same pipeline as a real provider.
    /// </summary>
    public Func<ModelRoleOptions, IChatClient>? ScriptedClientFactory { get; set; }
}
