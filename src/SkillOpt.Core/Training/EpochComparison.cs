using System.Globalization;
using System.Text;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Training;

/// <summary>
/// The reference's epoch comparison (the reference's loop: <c>classic</c>, and the default preset with its strict gate),
/// shared by the slow update and the meta skill: the skill at the end of the previous epoch and the current one on the same
/// train tasks, each with its own samples (two independent rollouts, even of equal skills; the default preset reads one side
/// from its steps' rollouts, <see cref="CompareAsync"/>), written as a summary and one section per category — regressions first, then
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

    /// <summary>
    /// Rolls out both skills on the epoch's slow-update tasks and returns the comparison text and the task count. With
    /// <c>training.slow_update.reuse_step_rollouts</c> (the default preset) one side is read from rollouts this epoch's steps
    /// already made of the same skill on the same tasks (<see cref="ReusedSide"/>), the other rolled out afresh on its own
    /// sample, so each task still has two independent rollouts; <c>classic</c> rolls both sides out, as the reference.
    /// </summary>
    public async Task<(string Text, int Tasks)> CompareAsync(RunScope run, string previousHash, string currentHash, int epoch, CancellationToken ct)
    {
        var size = context.Settings.SlowUpdate.SampleSize;
        var reused = context.Settings.SlowUpdate.ReuseStepRollouts ? ReusedSide(run, previousHash, currentHash, epoch, size) : null;
        var stepTasks = reused?.Steps.SelectMany(s => s.Tasks.Select(t => (Task: t, s.Step))).Take(size).ToList() ?? [];
        var fromSteps = stepTasks.Select(x => x.Task).ToHashSet(StringComparer.Ordinal);
        var tasks = stepTasks.Select(x => x.Task)
            .Concat(context.Order(run.Splits.Train, $"slow_update:{epoch}").Where(t => !fromSteps.Contains(t)))
            .Take(size).ToList();
        var texts = new[] { previousHash, currentHash }.Distinct(StringComparer.Ordinal).ToDictionary(h => h, context.Store.ReadSkill, StringComparer.Ordinal);
        Task<Evaluation> Run(string hash, IReadOnlyList<string> ids, int sample) =>
            rollouts.RunTasksAsync(texts[hash], hash, ids, sample, ChatStage.SlowUpdateRollout, reuse: true, ct);
        Task<Evaluation> Fresh(string hash, int sample) => Run(hash, tasks, sample);
        async Task<Evaluation> FromSteps(string hash, int sample)
        {
            // each step's tasks at that step's sample index (served by the rollout cache), the rest afresh on the side's sample
            var results = new List<RolloutResult>();
            foreach (var group in stepTasks.GroupBy(x => x.Step))
            {
                results.AddRange((await Run(hash, group.Select(x => x.Task).ToList(), group.Key).ConfigureAwait(false)).Results);
            }
            if (tasks.Count > stepTasks.Count)
            {
                results.AddRange((await Run(hash, tasks.Skip(stepTasks.Count).ToList(), sample).ConfigureAwait(false)).Results);
            }
            return new Evaluation(hash, sample, results.OrderBy(r => tasks.IndexOf(r.TaskId)).ToList());
        }
        // with equal skills only the current side is read from the steps (ReusedSide); the previous one is a fresh draw
        var before = reused?.Hash == previousHash && previousHash != currentHash
            ? await FromSteps(previousHash, PreviousSample(epoch)).ConfigureAwait(false)
            : await Fresh(previousHash, PreviousSample(epoch)).ConfigureAwait(false);
        var after = reused?.Hash == currentHash
            ? await FromSteps(currentHash, CurrentSample(epoch)).ConfigureAwait(false)
            : await Fresh(currentHash, CurrentSample(epoch)).ConfigureAwait(false);
        if (!context.Settings.AllowVerifierText)
        {
            before = before with { Results = before.Results.Select(context.LeakGuard.Redact).ToList() };
            after = after with { Results = after.Results.Select(context.LeakGuard.Redact).ToList() };
        }
        return (Format(before, after, context.Settings.Reference.MessageChars), tasks.Count);
    }

    /// <summary>
    /// The side of the comparison whose rollouts this epoch's steps already made: the skill (the current one, or the
    /// previous one when its steps rolled out more of the sample) and its steps, latest first, each with its batch; null when
    /// no finished step of the epoch rolled out either skill. When the two skills are equal only the current side is read
    /// from the steps; the previous side is rolled out afresh on its own sample, as the reference draws both.
    /// </summary>
    private (string Hash, List<(int Step, List<string> Tasks)> Steps)? ReusedSide(RunScope run, string previousHash, string currentHash, int epoch, int size)
    {
        List<(int Step, List<string> Tasks)> Batches(string hash) => SlowUpdatePhase.StepsThatRolledOut(run.History, epoch, hash)
            .Select(step => (step, context.Batch(run.Splits, epoch, (step - 1) % context.BatchesPerEpoch(run.Splits)))).ToList();
        var current = Batches(currentHash);
        var previous = previousHash == currentHash ? [] : Batches(previousHash);
        int Covered(List<(int Step, List<string> Tasks)> b) => Math.Min(size, b.Sum(x => x.Tasks.Count));
        return Covered(current) == 0 && Covered(previous) == 0 ? null
            : Covered(previous) > Covered(current) ? (previousHash, previous) : (currentHash, current);
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
