using System.Collections.Concurrent;
using System.Reflection;
using System.Text;

namespace SkillOpt.Core.Optimization;

/// <summary>
/// The optimizer prompts, embedded as Markdown resources (<c>src/SkillOpt.Core/Prompts/*.md</c>) with
/// <c>{{name}}</c> placeholders.
/// </summary>
internal static class PromptTemplates
{
    private static readonly ConcurrentDictionary<string, string> Cache = new(StringComparer.Ordinal);

    /// <summary>Returns the raw template <paramref name="name"/> (file name without <c>.md</c>).</summary>
    /// <exception cref="InvalidOperationException">No such embedded prompt.</exception>
    public static string Get(string name) => Cache.GetOrAdd(name, static n =>
    {
        var asm = typeof(PromptTemplates).Assembly;
        using var stream = asm.GetManifestResourceStream($"SkillOpt.Core.Prompts.{n}.md")
            ?? throw new InvalidOperationException($"The embedded prompt '{n}.md' is missing from {asm.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    });

    /// <summary>Renders template <paramref name="name"/>, replacing every <c>{{key}}</c> with its value.</summary>
    /// <exception cref="InvalidOperationException">A placeholder of the template has no value (the message names it).</exception>
    public static string Render(string name, IReadOnlyDictionary<string, string> values)
    {
        var template = Get(name);
        var sb = new StringBuilder(template.Length + 1024);
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0)
            {
                sb.Append(template, i, template.Length - i);
                break;
            }
            var close = template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                sb.Append(template, i, template.Length - i);
                break;
            }
            sb.Append(template, i, open - i);
            var key = template[(open + 2)..close];
            if (!values.TryGetValue(key, out var value))
            {
                throw new InvalidOperationException($"Prompt '{name}' needs a value for '{{{{{key}}}}}'.");
            }
            sb.Append(value);
            i = close + 2;
        }
        return sb.ToString();
    }

    /// <summary>Names of every embedded prompt.</summary>
    public static IReadOnlyList<string> Names() => typeof(PromptTemplates).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith("SkillOpt.Core.Prompts.", StringComparison.Ordinal))
        .Select(n => n["SkillOpt.Core.Prompts.".Length..^".md".Length]).Order(StringComparer.Ordinal).ToList();
}
