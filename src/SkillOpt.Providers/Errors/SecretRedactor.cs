using SkillOpt.Core;

namespace SkillOpt.Providers;

/// <summary>
/// Removes secrets from text before it reaches a message, a log or a file: the keys this redactor was given (the model
/// roles' API keys, 4 characters or more), then everything the shared <see cref="SecretRedaction"/> removes — the values of
/// the conventional and secret-named environment variables and key-shaped strings (<c>sk-…</c>, <c>Bearer …</c>, …).
/// </summary>
internal sealed class SecretRedactor
{
    /// <summary>Placeholder written instead of a secret (the same as <see cref="SecretRedaction.Placeholder"/>).</summary>
    public const string Placeholder = SecretRedaction.Placeholder;

    private readonly string[] _secrets;

    /// <summary>A redactor that knows no key of its own (it still applies <see cref="SecretRedaction"/>).</summary>
    public static SecretRedactor None { get; } = new();

    public SecretRedactor(params string?[] secrets) =>
        _secrets = secrets.Where(s => !string.IsNullOrEmpty(s) && s.Length >= 4).Select(s => s!).Distinct().OrderByDescending(s => s.Length).ToArray();

    /// <summary>Whether this redactor was given a key of its own.</summary>
    public bool HasSecrets => _secrets.Length > 0;

    /// <summary>Returns <paramref name="text"/> with every known secret and every key-shaped string replaced by <see cref="Placeholder"/>.</summary>
    public string Redact(string text)
    {
        foreach (var s in _secrets)
            text = text.Replace(s, Placeholder, StringComparison.Ordinal);
        return SecretRedaction.Redact(text);
    }

    /// <summary>Whether <paramref name="text"/> contains a known secret or a key-shaped string.</summary>
    public bool Contains(string? text) =>
        text is not null && (_secrets.Any(s => text.Contains(s, StringComparison.Ordinal)) || SecretRedaction.ContainsSecret(text));

    /// <summary>Whether the message of <paramref name="exception"/> or of any inner exception contains a secret.</summary>
    public bool Leaks(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (Contains(e.Message)) return true;
            if (e is AggregateException agg && agg.InnerExceptions.Any(Leaks)) return true;
        }
        return false;
    }

    /// <summary>Returns a description that never shows a secret.</summary>
    public override string ToString() => $"SecretRedactor({_secrets.Length} secret(s))";
}
