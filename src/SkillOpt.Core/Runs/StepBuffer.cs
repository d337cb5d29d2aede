using System.Globalization;
using System.Text;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Runs;

/// <summary>A failure pattern of a step's rollout: a group of failed tasks and what the analysts called it.</summary>
/// <param name="Pattern">The analysts' failure type and description (<c>type: description</c>), or the failure reasons' common prefix when they gave none.</param>
/// <param name="Count">Failed tasks in the group.</param>
/// <param name="TaskIds">Their ids.</param>
internal sealed record FailurePattern(string Pattern, int Count, IReadOnlyList<string> TaskIds);

/// <summary>An edit as the step buffer shows it.</summary>
/// <param name="Op">Operation name (<c>append</c>, <c>insert_after</c>, <c>replace</c>, <c>delete</c>).</param>
/// <param name="Target">Anchor text, if any.</param>
/// <param name="Content">Content text, if any.</param>
internal sealed record BufferedEdit(string Op, string? Target, string? Content);

/// <summary>One gated step in the step buffer.</summary>
/// <param name="Phase">Phase index of the step (used to roll back on resume).</param>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">1-based global step.</param>
/// <param name="Action">The gate's action: <c>accept_new_best</c>, <c>accept</c>, <c>reject</c> or <c>inconclusive</c>.</param>
/// <param name="Failed">Failed tasks of the step's rollout.</param>
/// <param name="Total">Tasks of the step's rollout.</param>
/// <param name="Patterns">The rollout's failure patterns.</param>
/// <param name="ScoreBefore">The current skill's validation score the candidate was compared with (rejections only), in [0,1].</param>
/// <param name="ScoreAfter">The candidate's validation score (rejections only), in [0,1].</param>
/// <param name="RejectedEdits">The candidate's selected edits (rejections only).</param>
/// <param name="TasksScored">Validation tasks behind <paramref name="ScoreAfter"/> (rejections only; null in buffers written before it was recorded).</param>
/// <param name="ValidationTasks">Tasks of the candidate's validation: scored, errored and left unscored (rejections only; null as above).</param>
/// <param name="TasksSkipped">Of them, the tasks the gate's futility stop left unscored (rejections only; 0 when the candidate was scored on the whole split).</param>
internal sealed record StepBufferEntry(int Phase, int Epoch, int Step, string Action, int Failed, int Total, IReadOnlyList<FailurePattern> Patterns,
    double? ScoreBefore, double? ScoreAfter, IReadOnlyList<BufferedEdit> RejectedEdits, int? TasksScored = null, int? ValidationTasks = null, int TasksSkipped = 0);

/// <summary>
/// The reference's per-epoch step buffer (<c>classic</c> preset): one entry per gated step — its action, its rollout's
/// failures out of its tasks, the failure patterns the analysts named, and for a rejected candidate its edits with the
/// validation score before → after — shown to the analysts of the later steps of the same epoch (a candidate the futility
/// stop turned away is shown with the share of the split its score is on, which the reference, scoring every candidate
/// on the whole split, never needs). Persisted in the run
/// folder (<c>step_buffer.json</c>) so a resumed run shows the same.
/// </summary>
/// <remarks>Not thread-safe; the loop uses it from one thread.</remarks>
internal sealed class StepBuffer
{
    private readonly List<StepBufferEntry> _entries = [];

    /// <summary>Every entry, in step order.</summary>
    public IReadOnlyList<StepBufferEntry> Entries => _entries;

    /// <summary>Records a gated step.</summary>
    public void Add(StepBufferEntry entry) => _entries.Add(entry);

    /// <summary>Drops entries of phases at or after <paramref name="phase"/> (resuming after an interrupted phase).</summary>
    public void RollBackTo(int phase) => _entries.RemoveAll(e => e.Phase >= phase);

    /// <summary>The prompt section of <paramref name="epoch"/>'s entries so far; empty before its first gated step.</summary>
    public string Format(int epoch)
    {
        var entries = _entries.Where(e => e.Epoch == epoch).ToList();
        if (entries.Count == 0)
        {
            return "";
        }
        var sb = new StringBuilder("\n## Earlier steps of this epoch\n\n");
        sb.Append("What happened at each earlier step of this epoch: use it to avoid repeating edits that did not work and to go after the failure patterns that remain.\n");
        foreach (var e in entries)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\n### Step {e.Step} — {e.Action.ToUpperInvariant()} ({e.Failed}/{e.Total} failed)\n");
            foreach (var p in e.Patterns)
            {
                sb.Append(CultureInfo.InvariantCulture, $"- \"{p.Pattern}\" (×{p.Count}, tasks: {string.Join(", ", p.TaskIds)})\n");
            }
            if (e.RejectedEdits.Count > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"- Rejected edits (validation score {Score(e.ScoreBefore)} → {Score(e.ScoreAfter)}");
                if (e.TasksScored is { } scored && e.ValidationTasks is { } tasks && scored < tasks)
                {
                    // a score on part of the split says so (0.25 on the first 4 tasks is not a collapse on all of them)
                    sb.Append(CultureInfo.InvariantCulture, $" on {scored} of {tasks} validation tasks");
                    if (e.TasksSkipped > 0)
                    {
                        sb.Append(", where scoring stopped: it could not, or was unlikely to, end above");
                    }
                }
                sb.Append("):\n");
                for (var i = 0; i < e.RejectedEdits.Count; i++)
                {
                    var edit = e.RejectedEdits[i];
                    sb.Append(CultureInfo.InvariantCulture, $"  {i + 1}. [{edit.Op}] ");
                    if (!string.IsNullOrEmpty(edit.Target))
                    {
                        sb.Append("target=\"").Append(OneLine(edit.Target)).Append("\" → ");
                    }
                    sb.Append('"').Append(OneLine(edit.Content ?? "")).Append("\"\n");
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// The failure patterns of a rollout, as the reference builds them: failed tasks grouped by their failure reason's text
    /// before the first colon (the whole reason when it has none, <c>unknown</c> when there is no reason), groups in order of
    /// first appearance; the i-th group is named by the i-th of <paramref name="analystDescriptions"/> (the failure analysts'
    /// <c>type: description</c> lines, in minibatch order) when there is one, else by its prefix.
    /// </summary>
    public static IReadOnlyList<FailurePattern> FailurePatterns(IEnumerable<RolloutResult> rollout, IReadOnlyList<string> analystDescriptions)
    {
        var groups = rollout.Where(r => r.Outcome == TaskOutcome.Failed)
            .GroupBy(r => Prefix(r.Reason), StringComparer.Ordinal).ToList();
        return [.. groups.Select((g, i) => new FailurePattern(i < analystDescriptions.Count ? analystDescriptions[i] : g.Key, g.Count(), [.. g.Select(r => r.TaskId)]))];
    }

    /// <summary>The selected edits of a rejected candidate, as the buffer shows them.</summary>
    public static IReadOnlyList<BufferedEdit> Describe(IEnumerable<SkillEdit> edits) =>
        [.. edits.Select(e => new BufferedEdit(SkillEdit.OperationName(e.Operation), e.Target, e.Content))];

    /// <summary>Writes the buffer to <paramref name="path"/> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteJson(path, new StepBufferFile(1, _entries));

    /// <summary>Loads a buffer from <paramref name="path"/>; empty when the file does not exist.</summary>
    /// <exception cref="System.Text.Json.JsonException">The file is malformed.</exception>
    public static StepBuffer Load(string path)
    {
        var buffer = new StepBuffer();
        buffer._entries.AddRange(AtomicFile.ReadJson<StepBufferFile>(path)?.Entries ?? []);
        return buffer;
    }

    private static string Prefix(string? reason)
    {
        if (reason is null)
        {
            return "unknown";
        }
        var colon = reason.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? reason : reason[..colon].Trim();
    }

    private static string Score(double? s) => s is { } v ? v.ToString("0.####", CultureInfo.InvariantCulture) : "?";

    private static string OneLine(string s) => s.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ');

    private sealed record StepBufferFile(int SchemaVersion, IReadOnlyList<StepBufferEntry> Entries);
}
