using System.Globalization;
using System.Text;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Optimization;

/// <summary>
/// Renders trajectories for optimizer prompts. System messages (which carry the skill) are left out: the skill is
/// sent once per call, not once per trajectory.
/// </summary>
internal static class TrajectoryFormatter
{
    /// <summary>Renders <paramref name="results"/> as Markdown sections, each message cut to <paramref name="maxMessageChars"/> characters.</summary>
    public static string Format(IReadOnlyList<RolloutResult> results, int maxMessageChars = 2000) => Format(results, maxMessageChars, includeSystemMessages: false);

    /// <summary>
    /// Renders <paramref name="results"/>; <paramref name="includeSystemMessages"/> also shows each trajectory's system message
    /// (the skill, repeated in every trajectory, as the reference's analysts see it: <c>classic</c> preset).
    /// </summary>
    internal static string Format(IReadOnlyList<RolloutResult> results, int maxMessageChars, bool includeSystemMessages)
    {
        var sb = new StringBuilder();
        foreach (var r in results)
        {
            sb.Append("### Task ").Append(r.TaskId).Append(" — ").Append(r.Outcome.ToString().ToLowerInvariant())
              .Append(", score ").Append(r.Score.ToString("0.###", CultureInfo.InvariantCulture)).Append('\n');
            if (!string.IsNullOrWhiteSpace(r.Reason))
            {
                sb.Append("Verifier: ").Append(Cut(r.Reason, maxMessageChars)).Append('\n');
            }
            foreach (var m in r.Transcript.Where(m => includeSystemMessages || m.Role != "system"))
            {
                sb.Append("- **").Append(m.Role).Append("**");
                if (m.ToolCallId is not null)
                {
                    sb.Append(" (result of ").Append(m.ToolCallId).Append(')');
                }
                sb.Append(": ").Append(Cut(m.Text ?? "", maxMessageChars).Replace("\n", "\n  ", StringComparison.Ordinal)).Append('\n');
                foreach (var call in m.ToolCalls ?? [])
                {
                    sb.Append("  - calls `").Append(call.Name).Append("` ").Append(Cut(call.Arguments, maxMessageChars / 2)).Append('\n');
                }
            }
            if (r.FinalAnswer is not null && !r.Transcript.Any(m => m.Role == "assistant" && m.Text == r.FinalAnswer))
            {
                sb.Append("Final answer: ").Append(Cut(r.FinalAnswer, maxMessageChars)).Append('\n');
            }
            sb.Append('\n');
        }
        return sb.ToString().TrimEnd() + "\n";
    }

    private static string Cut(string s, int max) => s.Length <= max ? s : s[..max] + $"… [{s.Length - max} more characters]";
}
