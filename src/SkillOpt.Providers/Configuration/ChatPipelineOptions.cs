using Microsoft.Extensions.AI;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Providers;

/// <summary>Run-wide settings of the pipelines that <see cref="ChatClientFactory"/> builds (the per-role settings are in <see cref="ModelRoleOptions"/>).</summary>
public sealed class ChatPipelineOptions
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
    /// Backoff and circuit-breaker settings; <see langword="null"/> uses the defaults. <see cref="ResilienceOptions.MaxRetries"/>
    /// is always taken from the role's <see cref="ModelRoleOptions.MaxRetries"/>.
    /// </summary>
    public ResilienceOptions? Resilience { get; set; }

    /// <summary>
    /// Builds the client of the <c>scripted</c> provider (a deterministic fake supplied by tests or the simulator);
    /// it is wrapped in the same pipeline as a real provider.
    /// </summary>
    public Func<ModelRoleOptions, IChatClient>? ScriptedClientFactory { get; set; }
}
