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
/// epoch's optimizer prompts; it never enters the skill.
/// </summary>
internal sealed class MetaSkillPhase(TrainingContext context, OptimizerModel optimizer)
{
    /// <summary>Writes the advice of epoch <paramref name="phase"/>.Epoch from its gate decisions and the edits behind them.</summary>
    public async Task<(RunState, HistoryRecord)> RunAsync(RunScope run, RunState state, Phase phase, CancellationToken ct)
    {
        var store = context.Store;
        var folder = store.PhaseFolder($"epoch_{phase.Epoch.ToString("D2", CultureInfo.InvariantCulture)}_meta_skill");
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
        var decisions = sb.Length == 0 ? "No candidate was validated in this epoch." : sb.ToString();
        var sw = Stopwatch.StartNew();
        var reply = await optimizer.MetaSkillAsync(phase.Epoch, decisions, context.Settings.MetaSkill.MaxWords, ct).ConfigureAwait(false);
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
}
