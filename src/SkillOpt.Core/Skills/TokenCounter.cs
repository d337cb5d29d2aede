namespace SkillOpt.Core.Skills;

/// <summary>Counts the tokens a piece of text costs in a model's context (used for the skill's token budget).</summary>
internal interface ITokenCounter
{
    /// <summary>Returns the number of tokens in <paramref name="text"/>.</summary>
    /// <param name="text">The text to measure; must not be <see langword="null"/>.</param>
    /// <returns>A non-negative token count; 0 for the empty string.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    int CountTokens(string text);
}

/// <summary>
/// Tokenizer-free estimate: <c>ceil(chars / 4)</c>, where chars is the number of UTF-16 code units.
/// This is OpenAI's published rule of thumb "1 token ≈ 4 characters of English text"
/// (https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them); it is exact
/// enough for a length budget and needs no model-specific vocabulary. Use <see cref="Instance"/>.
/// </summary>
internal sealed class ApproximateTokenCounter : ITokenCounter
{
    /// <summary>Characters per token assumed by the estimate (4, from OpenAI's rule of thumb).</summary>
    public const int CharactersPerToken = 4;

    private ApproximateTokenCounter()
    {
    }

    /// <summary>The shared, stateless, thread-safe instance.</summary>
    public static ApproximateTokenCounter Instance { get; } = new();

    /// <inheritdoc/>
    /// <remarks>Returns <c>ceil(text.Length / 4)</c>.</remarks>
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return (int)(((long)text.Length + CharactersPerToken - 1) / CharactersPerToken);
    }
}
