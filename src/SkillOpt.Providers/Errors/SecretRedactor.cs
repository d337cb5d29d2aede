namespace SkillOpt.Providers;

/// <summary>Removes known secrets (API keys) from text before it reaches a message, a log or a file.</summary>
internal sealed class SecretRedactor
{
    /// <summary>Placeholder written instead of a secret.</summary>
    public const string Placeholder = "[REDACTED]";

    private readonly string[] _secrets;

    /// <summary>A redactor that knows no secrets.</summary>
    public static SecretRedactor None { get; } = new();

    public SecretRedactor(params string?[] secrets) =>
        _secrets = secrets.Where(s => !string.IsNullOrEmpty(s) && s.Length >= 4).Select(s => s!).Distinct().ToArray();

    public bool HasSecrets => _secrets.Length > 0;

    /// <summary>Returns <paramref name="text"/> with every known secret replaced by <see cref="Placeholder"/>.</summary>
    public string Redact(string text)
    {
        foreach (var s in _secrets)
            text = text.Replace(s, Placeholder, StringComparison.Ordinal);
        return text;
    }

    /// <summary>Whether <paramref name="text"/> contains a known secret.</summary>
    public bool Contains(string? text) =>
        text is not null && _secrets.Any(s => text.Contains(s, StringComparison.Ordinal));

    /// <summary>Whether the message of <paramref name="exception"/> or of any inner exception contains a known secret.</summary>
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
