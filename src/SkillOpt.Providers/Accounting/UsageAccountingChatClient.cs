using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Providers;

/// <summary>
/// Records every call of one role in a <see cref="UsageLedger"/> under the stage found in
/// <see cref="ChatOptions.AdditionalProperties"/> (<see cref="ChatStage.PropertyKey"/>): tokens, wall time on a
/// <see cref="TimeProvider"/>, and the cost from an optional price table. Failed calls count as failures; calls
/// answered by <see cref="ReplayChatClient"/> count as replays (no tokens, no cost).
/// </summary>
/// <remarks>The price is looked up (see <see cref="ModelPricing.Find"/>) by the model id in the response, then by the
/// configured model. Streaming is served by one non-streaming call returned as updates.</remarks>
internal sealed class UsageAccountingChatClient : DelegatingChatClient
{
    private readonly TimeProvider _time;
    private readonly IReadOnlyDictionary<string, ModelPrice>? _prices;

    /// <summary>Wraps <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The client whose calls are recorded.</param>
    /// <param name="ledger">Where the calls are recorded.</param>
    /// <param name="role">Role the calls belong to, for example <c>target</c>.</param>
    /// <param name="model">Configured model id, used for pricing when the response names none that has a price.</param>
    /// <param name="prices">Prices by model id (US dollars per million tokens); <see langword="null"/> records no cost.</param>
    /// <param name="timeProvider">Clock for wall time; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="ledger"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="role"/> is empty.</exception>
    public UsageAccountingChatClient(IChatClient innerClient, UsageLedger ledger, string role, string? model = null,
        IReadOnlyDictionary<string, ModelPrice>? prices = null, TimeProvider? timeProvider = null)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentException.ThrowIfNullOrEmpty(role);
        Ledger = ledger;
        Role = role;
        Model = model;
        _prices = prices;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Where the calls are recorded.</summary>
    public UsageLedger Ledger { get; }

    /// <summary>Role the calls belong to.</summary>
    public string Role { get; }

    /// <summary>Configured model id.</summary>
    public string? Model { get; }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var stage = ChatStage.Get(options);
        var started = _time.GetTimestamp();
        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Ledger.Record(Role, stage, null, _time.GetElapsedTime(started), null, UsageCallOutcome.Failed);
            throw;
        }

        var wall = _time.GetElapsedTime(started);
        if (response.AdditionalProperties?.ContainsKey(ReplayChatClient.ReplayedPropertyKey) == true)
        {
            Ledger.Record(Role, stage, null, wall, null, UsageCallOutcome.Replayed);
            return response;
        }

        double? cost = null;
        var price = ModelPricing.Find(_prices, response.ModelId) ?? ModelPricing.Find(_prices, Model);
        if (price is not null)
        {
            var usage = response.Usage;
            cost = ModelPricing.CostUsd(price, usage?.InputTokenCount ?? 0, usage?.CachedInputTokenCount ?? 0, usage?.OutputTokenCount ?? 0);
        }
        Ledger.Record(Role, stage, response.Usage, wall, cost);
        return response;
    }

    /// <inheritdoc />
    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        SingleCallStreaming.StreamAsync(token => GetResponseAsync(messages, options, token), cancellationToken);
}
