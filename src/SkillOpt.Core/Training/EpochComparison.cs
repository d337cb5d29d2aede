using System.Globalization;
using System.Text;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Training;

/// <summary>
/// The reference's epoch comparison (<c>classic</c> preset), shared by the slow update and the meta skill: the skill at the
/// end of the previous epoch and the current one on the same train tasks, each with its own samples (two independent
/// rollouts, even of equal skills), written as a summary and one section per category — regressions first, then
/// persistent failures, improvements and stable successes — with both trajectories, whole, of every task in the first three.
/// </summary>
internal sealed class EpochComparison(TrainingContext context, RolloutPhase rollouts)
{
    /// <summary>File name of the comparison in the slow update's folder, which the meta skill of the same epoch reads.</summary>
    public const string FileName = "comparison.md";

    /// <summary>Sample index of the previous skill's side (the default preset's slow-update sample, 100,000 + epoch).</summary>
    public static int PreviousSample(int epoch) => 100_000 + epoch;

    /// <summary>Sample index of the current skill's side: its own draw, as the reference rolls each skill out afresh.</summary>
    public static int CurrentSample(int epoch) => 300_000 + epoch;

    /// <summary>Rolls out both skills on the epoch's slow-update tasks and returns the comparison text and the task count.</summary>
    public async Task<(string Text, int Tasks)> CompareAsync(RunScope run, string previousHash, string currentHash, int epoch, CancellationToken ct)
    {
        var store = context.Store;
        var tasks = context.Order(run.Splits.Train, $"slow_update:{epoch}").Take(context.Settings.SlowUpdate.SampleSize).ToList();
        var before = await rollouts.RunTasksAsync(store.ReadSkill(previousHash), previousHash, tasks, PreviousSample(epoch), ChatStage.SlowUpdateRollout, reuse: true, ct).ConfigureAwait(false);
        var after = await rollouts.RunTasksAsync(store.ReadSkill(currentHash), currentHash, tasks, CurrentSample(epoch), ChatStage.SlowUpdateRollout, reuse: true, ct).ConfigureAwait(false);
        if (!context.Settings.AllowVerifierText)
        {
            before = before with { Results = before.Results.Select(context.LeakGuard.Redact).ToList() };
            after = after with { Results = after.Results.Select(context.LeakGuard.Redact).ToList() };
        }
        return (Format(before, after, context.Settings.Reference.MessageChars), tasks.Count);
    }

    /// <summary>The comparison text of two rollouts of the same tasks (tasks not scored on both sides are left out).</summary>
    public static string Format(Evaluation before, Evaluation after, int messageChars)
    {
        var b = before.Results.ToDictionary(r => r.TaskId, StringComparer.Ordinal);
        var pairs = after.Results.Where(a => a.IsScored && b.TryGetValue(a.TaskId, out var p) && p.IsScored).Select(a => (Before: b[a.TaskId], After: a)).ToList();
        var categories = new (string Name, string Title, bool Trajectories)[]
        {
            ("regressed", "Regressed (passed before, fails now): highest priority", true),
            ("still failing", "Still failing (failed before and now)", true),
            ("improved", "Improved (failed before, passes now)", true),
            ("still passing", "Still passing (passed before and now)", false),
        };
        var byCategory = pairs.GroupBy(p => Category(p.Before, p.After)).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        List<(RolloutResult Before, RolloutResult After)> Of(string name) => byCategory.GetValueOrDefault(name) ?? [];
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Tasks compared: {pairs.Count}. Improved: {Of("improved").Count}. Regressed: {Of("regressed").Count}. Still failing: {Of("still failing").Count}. Still passing: {Of("still passing").Count}.\n");
        foreach (var (name, title, trajectories) in categories)
        {
            sb.Append("\n### ").Append(title).Append("\n\n");
            var list = Of(name);
            if (list.Count == 0)
            {
                sb.Append("(none)\n");
                continue;
            }
            foreach (var (p, a) in list)
            {
                sb.Append("- ").Append(a.TaskId).Append(": ").Append(name).Append('\n');
                sb.Append("  - previous epoch: ").Append(Describe(p)).Append('\n');
                sb.Append("  - current: ").Append(Describe(a)).Append('\n');
                if (trajectories)
                {
                    sb.Append("\n  Previous epoch's trajectory:\n\n````text\n").Append(TrajectoryFormatter.Format([p], messageChars).TrimEnd()).Append("\n````\n");
                    sb.Append("\n  Current trajectory:\n\n````text\n").Append(TrajectoryFormatter.Format([a], messageChars).TrimEnd()).Append("\n````\n\n");
                }
            }
        }
        return sb.ToString().TrimEnd() + "\n";
    }

    private static string Category(RolloutResult before, RolloutResult after) => (before.Outcome == TaskOutcome.Passed, after.Outcome == TaskOutcome.Passed) switch
    {
        (false, true) => "improved",
        (true, false) => "regressed",
        (false, false) => "still failing",
        _ => "still passing",
    };

    private static string Describe(RolloutResult r)
    {
        var s = string.Create(CultureInfo.InvariantCulture, $"{(r.Outcome == TaskOutcome.Passed ? "PASS" : "FAIL")} (score {r.Score:0.##}), answer: {r.FinalAnswer ?? "n/a"}");
        return r.Outcome != TaskOutcome.Passed && !string.IsNullOrEmpty(r.Reason) ? s + "; failure reason: " + r.Reason : s;
    }
}
