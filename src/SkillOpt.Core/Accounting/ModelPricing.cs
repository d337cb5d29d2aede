using SkillOpt.Core.Configuration;

namespace SkillOpt.Core.Accounting;

/// <summary>
/// The one cost model: looks up a model's price in the <c>pricing</c> table and computes the cost of tokens in US dollars.
/// Used by the run's budget and summary (per stage) and by the providers' usage accounting (per call), so both price a
/// model id the same way.
/// </summary>
internal static class ModelPricing
{
    /// <summary>
    /// Finds the price of <paramref name="model"/>: an exact (case-insensitive) key first, else the longest key that
    /// the model id starts with followed by <c>-</c> (so <c>gpt-4o</c> prices <c>gpt-4o-2024-08-06</c>).
    /// </summary>
    /// <returns>The price, or <see langword="null"/> when none applies.</returns>
    public static ModelPrice? Find(IReadOnlyDictionary<string, ModelPrice>? prices, string? model)
    {
        if (prices is null || prices.Count == 0 || string.IsNullOrEmpty(model)) return null;
        if (prices.TryGetValue(model, out var exact)) return exact;
        ModelPrice? best = null;
        var bestLength = -1;
        foreach (var (key, price) in prices)
        {
            if (key.Equals(model, StringComparison.OrdinalIgnoreCase)) return price;
            if (key.Length > bestLength && model.Length > key.Length && model[key.Length] == '-'
                && model.StartsWith(key, StringComparison.OrdinalIgnoreCase))
            {
                best = price;
                bestLength = key.Length;
            }
        }
        return best;
    }

    /// <summary>
    /// Cost in US dollars: uncached input tokens at <see cref="ModelPrice.InputPerMillion"/>, cached input tokens at
    /// <see cref="ModelPrice.CachedInputPerMillion"/> (or the input price when unset) and output tokens at
    /// <see cref="ModelPrice.OutputPerMillion"/>, all per million tokens.
    /// </summary>
    /// <param name="price">The model's price.</param>
    /// <param name="inputTokens">Input tokens, cached ones included.</param>
    /// <param name="cachedInputTokens">Cached input tokens (clamped to <paramref name="inputTokens"/>).</param>
    /// <param name="outputTokens">Output tokens, reasoning tokens included.</param>
    public static double CostUsd(ModelPrice price, long inputTokens, long cachedInputTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(price);
        var cached = Math.Clamp(cachedInputTokens, 0, Math.Max(inputTokens, 0));
        var uncached = Math.Max(inputTokens, 0) - cached;
        return (uncached * price.InputPerMillion
                + cached * (price.CachedInputPerMillion ?? price.InputPerMillion)
                + Math.Max(outputTokens, 0) * price.OutputPerMillion) / 1_000_000d;
    }
}
