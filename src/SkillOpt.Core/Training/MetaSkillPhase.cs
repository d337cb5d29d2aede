using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Training;

/// <summary>
/// The meta skill (docs/method.md, "One run", 3): one optimizer call at an epoch's end whose advice is added to the next
/// epoch's optimizer prompts; it never enters the skill. The default preset writes it from the epoch's gate decisions;
/// the <c>classic</c> preset as the reference does, from the skills, the epoch comparison and the previous meta skill.
/// </summary>
internal sealed class MetaSkillPhase(TrainingContext context, OptimizerModel optimizer, EpochComparison epochComparison)
{
    /// <summary>Writes the advice of epoch <paramref name="phase"/>.Epoch.</summary>
    public async Task<(RunState, HistoryRecord)> RunAsync(RunScope run, RunState state, Phase phase, CancellationToken ct)
    {
        var folder = context.Store.PhaseFolder($"epoch_{phase.Epoch.ToString("D2", CultureInfo.InvariantCulture)}_meta_skill");
        var sw = Stopwatch.StartNew();
        var reply = context.Settings.Reference.ReferenceMetaSkill
            ? await ReferenceAdviceAsync(run, state, phase, folder, ct).ConfigureAwait(false)
            : await optimizer.MetaSkillAsync(phase.Epoch, Decisions(run, phase), context.Settings.MetaSkill.MaxWords, ct).ConfigureAwait(false);
        context.Usage.AddWallTime(ChatStage.Meta, sw.Elapsed.TotalSeconds);
        AtomicFile.WriteJson(Path.Combine(folder, "meta_skill.json"), reply);
        context.Report(ChatStage.Meta, reply.Value is null ? $"meta skill unusable: {reply.Failure}" : "meta skill updated", phase.Epoch, 0, run.TotalSteps);
        var s = reply.Value is null ? state : state with { MetaAdvice = reply.Value.Advice.Trim() };
        return (s, new HistoryRecord
        {
            Kind = "meta_skill",
            Epoch = phase.Epoch,
            Action = reply.Value is null ? "skip" : "updated",
            Reason = reply.Failure,
            CurrentHash = s.CurrentHash,
            CurrentScore = context.IncumbentScore(s),
            BestScore = s.BestScore,
        });
    }

    /// <summary>
    /// The reference's input (<c>classic</c>): the skill at the end of the previous epoch, the skill after this epoch's last
    /// step (before its slow update), the previous meta skill, and the slow update's comparison of the two (or, when this epoch
    /// had none, the same comparison rolled out here).
    /// </summary>
    private async Task<StructuredReply<MetaSkillReply>> ReferenceAdviceAsync(RunScope run, RunState state, Phase phase, string folder, CancellationToken ct)
    {
        var store = context.Store;
        var previousHash = state.EpochEndHashes[phase.Epoch - 1];
        var lastStepHash = run.History.LastOrDefault(h => h.Kind == "step" && h.Epoch == phase.Epoch)?.CurrentHash ?? state.CurrentHash;
        var saved = Path.Combine(store.Root, "steps", $"epoch_{phase.Epoch.ToString("D2", CultureInfo.InvariantCulture)}_slow_update", EpochComparison.FileName);
        string comparison;
        if (File.Exists(saved))
        {
            comparison = await File.ReadAllTextAsync(saved, ct).ConfigureAwait(false);
        }
        else
        {
            (comparison, _) = await epochComparison.CompareAsync(run, previousHash, lastStepHash, phase.Epoch, ct).ConfigureAwait(false);
            AtomicFile.WriteAllText(Path.Combine(folder, EpochComparison.FileName), comparison);
        }
        return await optimizer.MetaSkillAsync(store.ReadSkill(previousHash), store.ReadSkill(lastStepHash), state.MetaAdvice, comparison, ct).ConfigureAwait(false);
    }

    /// <summary>The default preset's input: this epoch's gated candidates with their verdicts, scores and selected edits.</summary>
    private string Decisions(RunScope run, Phase phase)
    {
        var store = context.Store;
        var sb = new StringBuilder();
        foreach (var h in run.History.Where(h => h.Epoch == phase.Epoch && h.CandidateHash is not null))
        {
            var edits = AtomicFile.ReadJson<JsonElement?>(Path.Combine(store.Root, "steps", $"step_{(h.Step ?? 0).ToString("D4", CultureInfo.InvariantCulture)}", "selected_edits.json"));
            sb.Append("- ").Append(h.Kind).Append(h.Step is null ? "" : $" {h.Step}").Append(": ").Append(h.Action)
              .Append(h.Validation is null ? "" : $" (candidate {h.Validation.CandidateScore:0.###} vs current {h.Validation.IncumbentScore:0.###})").Append('\n');
            if (edits is { } e && e.TryGetProperty("edits", out var list))
            {
                foreach (var edit in list.EnumerateArray())
                {
                    sb.Append("  - ").Append(TextLimits.Short(edit.GetRawText(), 300)).Append('\n');
                }
            }
        }
        return sb.Length == 0 ? "No candidate was validated in this epoch." : sb.ToString();
    }
}
