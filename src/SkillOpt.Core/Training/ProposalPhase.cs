using System.Diagnostics;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Training;

/// <summary>One proposal of a step and, once pre-screened, its pre-screen result.</summary>
/// <param name="Index">0-based proposal number.</param>
/// <param name="Folder">Where its files go (the step folder, or <c>proposal_N/</c> in it).</param>
/// <param name="Record">Its reflection, merge and edit counts.</param>
/// <param name="Candidate">The candidate skill, or null when no edit applied.</param>
/// <param name="Edits">The edits that applied, in order.</param>
/// <param name="SkipReason">Why no candidate was built.</param>
internal sealed record Proposal(int Index, string Folder, HistoryRecord Record, SkillDocument? Candidate, IReadOnlyList<SkillEdit> Edits, string? SkipReason)
{
    /// <summary>The pre-screen's result, once screened.</summary>
    public PrescreenResult? Screen { get; init; }

    /// <summary>The edits selected for the candidate (before application).</summary>
    public IReadOnlyList<SkillEdit> Selected { get; init; } = [];

    /// <summary>The failure analysts' failure types, in minibatch order (when asked: <c>classic</c> preset).</summary>
    public IReadOnlyList<string> FailureTypes { get; init; } = [];
}

/// <summary>
/// A step's proposal (docs/method.md, "One run", 2.2–2.6): reflection over minibatches of the rollout's failures and
/// successes, the hierarchical merge, the rejected-edit and leak filters, ranking down to the learning rate, and the
/// selected edits applied to the current skill.
/// </summary>
internal sealed class ProposalPhase(TrainingContext context, OptimizerModel optimizer, EditApplier applier)
{
    /// <summary>
    /// Builds proposal <paramref name="k"/> of a step. Proposal k &gt; 0 (<c>training.proposals</c>) reflects on the same
    /// trajectories in its own seeded order, so its minibatches, and the optimizer's replies, differ from proposal 0's.
    /// </summary>
    public async Task<Proposal> ProposeAsync(RunScope run, RunState state, string current, SkillDocument currentDoc, Evaluation rollout, Phase phase, int lr,
        int k, string folder, CancellationToken ct)
    {
        var settings = context.Settings;
        var r = settings.Reflection;
        var reference = settings.Reference;
        var usage = context.Usage;
        var leakGuard = context.LeakGuard;
        Directory.CreateDirectory(folder);
        var shown = settings.AllowVerifierText ? rollout.Results : rollout.Results.Select(leakGuard.Redact).ToList();
        if (k > 0)
        {
            var order = context.Order(shown.Select(x => x.TaskId), $"proposal:{phase.Step}:{k}").Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);
            shown = [.. shown.OrderBy(x => order[x.TaskId])];
        }
        var failures = shown.Where(x => x.Outcome == TaskOutcome.Failed).ToList();
        var successes = r.ReflectSuccesses ? shown.Where(x => x.Outcome == TaskOutcome.Passed).ToList() : [];
        var sw = Stopwatch.StartNew();
        // default: each analyst asks for at most L_t edits and sees the rejected edits; classic (the reference): the configured
        // L and the step buffer of this epoch, and the failure analysts name their failure types for it
        var memory = reference.StepBuffer ? run.StepBuffer.Format(phase.Epoch) : OptimizerModel.FormatRejected(run.Buffer.Distinct());
        var reflection = await optimizer.ReflectAsync(new ReflectionRequest(current, failures, successes, r.MinibatchSize, reference.ReflectAtMaxRate ? r.LearningRate.Max : lr,
            state.MetaAdvice, memory, reference.MessageChars, reference.StepBuffer, reference.ShowSystemMessages), ct).ConfigureAwait(false);
        usage.AddWallTime(ChatStage.Reflect, sw.Elapsed.TotalSeconds);
        AtomicFile.WriteJson(Path.Combine(folder, "reflections.json"), reflection.Replies);
        var proposed = reflection.FailurePatches.Sum(p => p.Count) + reflection.SuccessPatches.Sum(p => p.Count);
        context.Report(ChatStage.Reflect, $"reflection: {reflection.Replies.Count} calls, {proposed} edits proposed", phase.Epoch, phase.Step, run.TotalSteps);

        sw.Restart();
        var merge = await optimizer.MergeAsync(current, reflection.FailurePatches, reflection.SuccessPatches, r.MergeFanIn, reference.CapMerges ? 2 * lr : null, state.MetaAdvice, ct).ConfigureAwait(false);
        usage.AddWallTime(ChatStage.Merge, sw.Elapsed.TotalSeconds);
        AtomicFile.WriteJson(Path.Combine(folder, "merge.json"), new { replies = merge.Replies, edits = merge.Edits });

        var (kept, filtered) = settings.RejectedEdits.Enforce ? run.Buffer.Filter(merge.Edits) : (merge.Edits, 0);
        var leaks = new List<object>();
        if (!settings.AllowVerifierText)
        {
            var clean = new List<SkillEdit>();
            foreach (var e in kept)
            {
                if (leakGuard.FindLeak(e) is { } literal)
                {
                    leaks.Add(new { edit = e, reason = $"contains the verifier literal '{literal}'" });
                }
                else
                {
                    clean.Add(e);
                }
            }
            kept = clean;
        }
        IReadOnlyList<SkillEdit> selected = kept;
        var ranked = false;
        if (kept.Count > lr)
        {
            sw.Restart();
            var (sel, rankReply) = await optimizer.RankAsync(current, kept, lr, reference.ReferenceMetaSkill ? state.MetaAdvice : "", ct).ConfigureAwait(false);
            usage.AddWallTime(ChatStage.Rank, sw.Elapsed.TotalSeconds);
            AtomicFile.WriteJson(Path.Combine(folder, "ranking.json"), rankReply);
            selected = sel;
            ranked = true;
        }
        AtomicFile.WriteJson(Path.Combine(folder, "selected_edits.json"), new { learning_rate = lr, filtered_as_rejected = filtered, rejected_as_leaks = leaks, edits = selected });
        context.Report(ChatStage.Merge, $"merge: {merge.Replies.Count} calls, {merge.Edits.Count} edits; {filtered} already rejected; {selected.Count} selected (L={lr})", phase.Epoch, phase.Step, run.TotalSteps);

        var record = new HistoryRecord
        {
            Kind = "step",
            ReflectionCalls = reflection.Replies.Count,
            FailurePatches = reflection.FailurePatches.Count,
            SuccessPatches = reflection.SuccessPatches.Count,
            EditsProposed = proposed,
            MergeCalls = merge.Replies.Count,
            EditsMerged = merge.Edits.Count,
            EditsFilteredAsRejected = filtered,
            EditsRejectedAsLeaks = leaks.Count,
            Ranked = ranked,
            EditsSelected = selected.Count,
            Action = "skip",
            CurrentHash = state.CurrentHash,
        };
        if (selected.Count == 0)
        {
            return new Proposal(k, folder, record, null, [], "no edits survived reflection, merge and the rejected-edit filter") { FailureTypes = reflection.FailureTypes };
        }
        var applied = applier.Apply(currentDoc, selected);
        AtomicFile.WriteJson(Path.Combine(folder, "edit_report.json"), new
        {
            applied = applied.Applied,
            rejected = applied.Rejected.Select(x => new { x.Index, x.Edit, reason = x.Reason.ToString(), x.Detail, x.Status }),
            tokens_before = applied.TokensBefore,
            tokens_after = applied.TokensAfter,
        });
        record = record with { EditsApplied = applied.Applied.Count, EditsRefused = applied.Rejected.Count };
        if (!applied.Changed)
        {
            return new Proposal(k, folder, record, null, [], "no selected edit could be applied: " + string.Join("; ", applied.Rejected.Select(x => $"{x.Reason}: {x.Detail}").Take(3)))
            {
                Selected = selected,
                FailureTypes = reflection.FailureTypes,
            };
        }
        return new Proposal(k, folder, record, applied.Result, [.. applied.Applied.Select(a => a.Edit)], null) { Selected = selected, FailureTypes = reflection.FailureTypes };
    }

    /// <summary>
    /// The proposal to gate among pre-screened ones (<c>training.proposals</c>): of those that passed, the one with the most
    /// fixed tasks net of broken ones on the step's own tasks, then the fewest applied edits (the smaller change), then the
    /// first. Returns its index in <paramref name="screens"/>, or −1 when none passed.
    /// </summary>
    public static int ChooseProposal(IReadOnlyList<(bool Passed, int Fixes, int Breaks, int Edits)> screens) =>
        Enumerable.Range(0, screens.Count).Where(i => screens[i].Passed)
            .OrderByDescending(i => screens[i].Fixes - screens[i].Breaks).ThenBy(i => screens[i].Edits).ThenBy(i => i)
            .DefaultIfEmpty(-1).First();

    /// <summary>A step's record with the chosen proposal's reflection, merge and edit counts (its call counts stay the sum over all proposals).</summary>
    public static HistoryRecord WithProposal(HistoryRecord step, Proposal p) => step with
    {
        FailurePatches = p.Record.FailurePatches,
        SuccessPatches = p.Record.SuccessPatches,
        EditsProposed = p.Record.EditsProposed,
        EditsMerged = p.Record.EditsMerged,
        EditsFilteredAsRejected = p.Record.EditsFilteredAsRejected,
        EditsRejectedAsLeaks = p.Record.EditsRejectedAsLeaks,
        Ranked = p.Record.Ranked,
        EditsSelected = p.Record.EditsSelected,
        EditsApplied = p.Record.EditsApplied,
        EditsRefused = p.Record.EditsRefused,
    };

    /// <summary>A proposal's line in <c>history.json</c>; <paramref name="built"/> holds the pre-screened copies of the proposals that built a candidate.</summary>
    public static ProposalSummary DescribeProposal(Proposal p, IReadOnlyList<Proposal> built, Proposal? chosen)
    {
        var b = built.FirstOrDefault(x => x.Index == p.Index) ?? p;
        var outcome = b.Candidate is null ? "skip" : chosen is not null && chosen.Index == p.Index ? "gated" : b.Screen is { Passed: false } ? "reject" : "not_chosen";
        return new ProposalSummary(p.Index + 1, b.Record.EditsSelected, b.Record.EditsApplied, b.Candidate?.Hash, b.Screen?.Fixes, b.Screen?.Breaks, outcome,
            b.Candidate is null ? b.SkipReason : b.Screen is { Passed: false } s ? "pre-screen: " + s.Reason : null);
    }
}
