using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SkillOpt.Core;

/// <summary>
/// Removes secrets from text before SkillOpt stores or shows it: captured verifier output, transcripts and result files,
/// error messages, diagnostics and reports. Two kinds of secret are replaced by <see cref="Placeholder"/>:
/// <list type="bullet">
/// <item>the values (8 characters or more) of the key variables: <c>OPENAI_API_KEY</c>, <c>AZURE_OPENAI_API_KEY</c>,
/// <c>ANTHROPIC_API_KEY</c>, the variables that <c>SKILLOPT_TARGET_API_KEY_ENV</c> / <c>SKILLOPT_OPTIMIZER_API_KEY_ENV</c>
/// and <c>SKILLOPT_SECRET_VARIABLES</c> (comma-separated) name, those registered with <see cref="AddKeyVariables"/> (a
/// configuration's <c>api_key_env</c>), and every variable whose name ends in <c>API_KEY</c>, <c>APIKEY</c>,
/// <c>ACCESS_KEY</c>, <c>SECRET</c>, <c>SECRET_KEY</c>, <c>TOKEN</c> or <c>PASSWORD</c>;</item>
/// <item>strings shaped like provider keys and credentials: <c>sk-…</c> (OpenAI, Anthropic; 32 characters or more after
/// the dash with at least 3 digits), <c>AIza…</c> (Google), <c>ghp_…</c>/<c>github_pat_…</c> (GitHub), <c>hf_…</c>
/// (Hugging Face), <c>AKIA…</c> (AWS), <c>xox?-…</c> (Slack), and a value with a digit after <c>Bearer</c>,
/// <c>api-key:</c> or <c>x-api-key:</c>.</item>
/// </list>
/// Thread-safe. The variables are read when first needed and again after <see cref="AddKeyVariables"/> or
/// <see cref="Refresh"/>.
/// </summary>
internal static partial class SecretRedaction
{
    /// <summary>What a secret is replaced by.</summary>
    public const string Placeholder = "[REDACTED]";

    /// <summary>An environment variable holding further names (comma-separated) of variables whose values are secrets; the trainer passes its configuration's key variables to verifier processes in it.</summary>
    public const string SecretVariablesVariable = "SKILLOPT_SECRET_VARIABLES";

    /// <summary>The providers' conventional key variables.</summary>
    public static IReadOnlyList<string> ConventionalKeyVariables { get; } = ["OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY"];

    private const int MinimumLength = 8;
    private static readonly object Gate = new();
    private static readonly HashSet<string> Registered = new(StringComparer.Ordinal);
    private static string[]? _values;

    /// <summary>Treats the values of <paramref name="names"/> as secrets from now on (empty and <see langword="null"/> names are ignored).</summary>
    /// <param name="names">Environment variable names, e.g. a configuration's <c>api_key_env</c>.</param>
    public static void AddKeyVariables(params string?[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        lock (Gate)
        {
            foreach (var n in names)
            {
                if (!string.IsNullOrWhiteSpace(n))
                {
                    Registered.Add(n.Trim());
                }
            }
            _values = null;
        }
    }

    /// <summary>Reads the key variables again (after the environment changed).</summary>
    public static void Refresh()
    {
        lock (Gate)
        {
            _values = null;
        }
    }

    /// <summary>The names of the variables whose values are treated as secrets now (set ones only), sorted.</summary>
    public static IReadOnlyList<string> KeyVariableNames() => [.. Variables().Select(v => v.Name).Order(StringComparer.Ordinal)];

    /// <summary>Returns <paramref name="text"/> with every secret replaced by <see cref="Placeholder"/>.</summary>
    /// <param name="text">Any text; <see langword="null"/> stays <see langword="null"/>.</param>
    [return: NotNullIfNotNull(nameof(text))]
    public static string? Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }
        foreach (var secret in Values())
        {
            if (text.Contains(secret, StringComparison.Ordinal))
            {
                text = text.Replace(secret, Placeholder, StringComparison.Ordinal);
            }
        }
        return KeyShaped().Replace(text, m => m.Groups["prefix"].Success
            ? m.Groups["prefix"].Value + Placeholder
            : m.Value.StartsWith("sk-", StringComparison.Ordinal) && m.Value.Count(char.IsAsciiDigit) < 3 ? m.Value : Placeholder);
    }

    /// <summary>Whether <paramref name="text"/> holds a secret <see cref="Redact"/> would replace.</summary>
    /// <param name="text">Any text.</param>
    public static bool ContainsSecret(string? text) => text is not null && Redact(text) != text;

    /// <summary>
    /// Redacts every string value of <paramref name="node"/> in place (object keys stay, and so do the values of the keys
    /// in <paramref name="keep"/>, such as ids that must match), and returns it.
    /// </summary>
    /// <param name="node">A JSON tree.</param>
    /// <param name="keep">Object keys whose string values are left as they are.</param>
    public static JsonNode? RedactStrings(JsonNode? node, params string[] keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj.ToList())
                {
                    if (child is JsonValue v && v.TryGetValue<string>(out var s))
                    {
                        if (!keep.Contains(key, StringComparer.Ordinal) && Redact(s) is var r && r != s)
                        {
                            obj[key] = r;
                        }
                    }
                    else
                    {
                        RedactStrings(child, keep);
                    }
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue v && v.TryGetValue<string>(out var s))
                    {
                        if (Redact(s) is var r && r != s)
                        {
                            array[i] = r;
                        }
                    }
                    else
                    {
                        RedactStrings(array[i], keep);
                    }
                }
                break;
        }
        return node;
    }

    private static string[] Values()
    {
        lock (Gate)
        {
            // longest first, so that a secret containing another is replaced whole
            return _values ??= [.. Variables().Select(v => v.Value).Distinct(StringComparer.Ordinal).OrderByDescending(v => v.Length)];
        }
    }

    private static List<(string Name, string Value)> Variables()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (e.Key is string k && e.Value is string v)
            {
                env[k] = v;
            }
        }
        var names = new HashSet<string>(ConventionalKeyVariables, StringComparer.Ordinal);
        lock (Gate)
        {
            names.UnionWith(Registered);
        }
        foreach (var pointer in new[] { "SKILLOPT_TARGET_API_KEY_ENV", "SKILLOPT_OPTIMIZER_API_KEY_ENV" })
        {
            if (env.GetValueOrDefault(pointer) is { Length: > 0 } named)
            {
                names.Add(named.Trim());
            }
        }
        if (env.GetValueOrDefault(SecretVariablesVariable) is { Length: > 0 } list)
        {
            names.UnionWith(list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        names.UnionWith(env.Keys.Where(k => SecretName().IsMatch(k)));
        return [.. names.Where(n => env.TryGetValue(n, out var v) && v.Trim().Length >= MinimumLength).Select(n => (n, env[n].Trim()))];
    }

    [GeneratedRegex(@"(API_?KEY|ACCESS_KEY|SECRET|SECRET_KEY|TOKEN|PASSWORD)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    // Character classes never include '"' or '\', so a replacement inside JSON text keeps it valid JSON.
    [GeneratedRegex(
        @"(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{32,}|AIza[0-9A-Za-z_-]{35}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|hf_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}|xox[abposr]-[A-Za-z0-9-]{10,})"
        + @"|(?<prefix>(?i:\bBearer[ \t]+|\b(?:x-)?api-key:[ \t]*))(?!\[REDACTED\])(?=[A-Za-z._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,}",
        RegexOptions.CultureInvariant)]
    private static partial Regex KeyShaped();
}
