using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Testing;

/// <summary>What the agent answered to one task: the final text, the conversation and what it cost.</summary>
public sealed partial class SkillReply
{
    internal SkillReply(string text, IReadOnlyList<ChatMessage> messages, int turns, TokenUsage usage, TimeSpan elapsed)
    {
        Text = text;
        Messages = messages;
        Turns = turns;
        Usage = usage;
        Elapsed = elapsed;
    }

    /// <summary>The text of the agent's last message (empty when it gave none).</summary>
    public string Text { get; }

    /// <summary>The whole conversation, system message first.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; }

    /// <summary>Model calls made (one per turn).</summary>
    public int Turns { get; }

    /// <summary>Tokens and calls spent.</summary>
    public TokenUsage Usage { get; }

    /// <summary>Wall time of the whole run.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>
    /// The final answer: the text after the last <c>Final answer:</c> or <c>Answer:</c> label, else the content of the last
    /// <c>\boxed{…}</c>, else the last non-empty line; Markdown emphasis and a trailing period are removed.
    /// </summary>
    public string FinalAnswer() => ExtractFinalAnswer(Text);

    /// <summary>The last number in <see cref="FinalAnswer"/> (thousands separators and a leading currency sign allowed), or <see langword="null"/>.</summary>
    public double? Number() => LastNumber(FinalAnswer());

    /// <summary>Returns <see cref="Text"/>.</summary>
    public override string ToString() => Text;

    internal static string ExtractFinalAnswer(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }
        string? answer = null;
        var labelled = AnswerLabel().Matches(text);
        if (labelled.Count > 0)
        {
            answer = labelled[^1].Groups["a"].Value;
        }
        else if (Boxed().Matches(text) is { Count: > 0 } boxed)
        {
            answer = boxed[^1].Groups["a"].Value;
        }
        answer ??= text.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? "";
        answer = answer.Trim().Trim('*', '_', '`').Trim();
        return answer.EndsWith('.') && !answer.EndsWith("..", StringComparison.Ordinal) ? answer[..^1].TrimEnd() : answer;
    }

    internal static double? LastNumber(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        var matches = NumberPattern().Matches(text);
        if (matches.Count == 0)
        {
            return null;
        }
        var raw = matches[^1].Value.Replace(",", "", StringComparison.Ordinal);
        return double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    [GeneratedRegex(@"(?im)^\W*(?:final\s+answer|answer)\s*(?:is)?\s*[:：]\s*(?<a>.+?)\s*$")]
    private static partial Regex AnswerLabel();

    [GeneratedRegex(@"\\boxed\{(?<a>[^{}]*)\}")]
    private static partial Regex Boxed();

    [GeneratedRegex(@"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")]
    private static partial Regex NumberPattern();
}
