using System.Globalization;
using System.Text;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;

namespace SkillOpt.Trainer.Reports;

/// <summary>The HTML run report, part: the per-task outcomes (initial → best) and their transcripts.</summary>
internal static partial class HtmlRunReport
{
    private static void Tasks(StringBuilder h, RunFolder run, List<(string Id, string Title, RolloutResult Result)> transcripts)
    {
        h.Append("<section id=\"tasks\"><h2>Per-task outcomes: initial → best</h2>\n");
        if (run.InitialHash is null || run.BestHash is null)
        {
            h.Append("<p>The run has not finished its baseline.</p></section>\n");
            return;
        }
        string Link(RolloutResult? r, string role, string split)
        {
            if (r is null)
            {
                return "—";
            }
            var id = "tr-" + transcripts.Count.ToString(CultureInfo.InvariantCulture);
            transcripts.Add((id, $"{r.TaskId} · {role} skill · {split}", r));
            return $"<a href=\"#{id}\" class=\"outcome {Lower(r.Outcome)}\">{E(Lower(r.Outcome))}{(r.Outcome == TaskOutcome.Failed && r.Score > 0 ? E(string.Create(CultureInfo.InvariantCulture, $" ({r.Score:0.##})")) : "")}</a>";
        }
        var same = run.InitialHash == run.BestHash;
        foreach (var split in new[] { "test", "val" })
        {
            var initial = Latest(run.Evaluations(split, run.InitialHash));
            var best = Latest(run.Evaluations(split, run.BestHash));
            var ids = initial.Keys.Union(best.Keys).Order(StringComparer.Ordinal).ToList();
            var flips = ids.Where(id => initial.GetValueOrDefault(id)?.Outcome != best.GetValueOrDefault(id)?.Outcome).ToList();
            var shown = split == "test" ? ids : flips;
            h.Append("<h3>").Append(split == "test" ? "Test split" : "Validation split (flips only)").Append("</h3>\n<p>")
                .Append(E(split == "test"
                    ? $"{flips.Count} of {ids.Count} test tasks changed their outcome between the initial skill and the best one (one draw each)." + (same ? " The best skill is the initial skill." : "")
                    : $"{flips.Count} validation tasks changed their outcome between the initial skill's and the best skill's latest draw."))
                .Append("</p>\n");
            if (shown.Count == 0)
            {
                continue;
            }
            h.Append("<table class=\"tasks\" data-split=\"").Append(split).Append("\"><thead><tr><th>task</th><th>initial</th><th>best</th><th></th></tr></thead><tbody>\n");
            foreach (var id in shown)
            {
                var flip = flips.Contains(id);
                h.Append("<tr").Append(flip ? " class=\"flip\"" : "").Append("><td><code>").Append(E(id)).Append("</code></td><td>").Append(Link(initial.GetValueOrDefault(id), "initial", split))
                    .Append("</td><td>").Append(Link(best.GetValueOrDefault(id), "best", split)).Append("</td><td>").Append(flip ? "flip" : "").Append("</td></tr>\n");
            }
            h.Append("</tbody></table>\n");
        }
        h.Append("</section>\n");
    }

    private static Dictionary<string, RolloutResult> Latest(IReadOnlyList<Evaluation> evaluations)
    {
        var byId = new Dictionary<string, RolloutResult>(StringComparer.Ordinal);
        foreach (var e in evaluations)
        {
            foreach (var r in e.Results)
            {
                byId[r.TaskId] = r;
            }
        }
        return byId;
    }

    private static void Transcripts(StringBuilder h, List<(string Id, string Title, RolloutResult Result)> transcripts)
    {
        if (transcripts.Count == 0)
        {
            return;
        }
        h.Append("<section id=\"transcripts\"><h2>Transcripts</h2>\n<p>What the target model saw and answered, as the verifier recorded it; every text is shown as text.</p>\n");
        foreach (var (id, title, r) in transcripts)
        {
            h.Append("<details class=\"transcript\" id=\"").Append(id).Append("\"><summary>").Append(E(title)).Append(": ").Append(E(Lower(r.Outcome)))
                .Append("</summary>\n");
            if (r.Reason is { } reason)
            {
                h.Append("<p class=\"reason\">").Append(E(Cap(reason))).Append("</p>\n");
            }
            h.Append("<pre>");
            foreach (var m in r.Transcript)
            {
                h.Append("<b>").Append(E(m.Role)).Append(":</b> ").Append(E(Cap(m.Text ?? "")));
                foreach (var call in m.ToolCalls ?? [])
                {
                    h.Append("\n  → ").Append(E(call.Name)).Append('(').Append(E(Cap(call.Arguments))).Append(')');
                }
                h.Append('\n');
            }
            if (r.FinalAnswer is { } answer)
            {
                h.Append("<b>final answer:</b> ").Append(E(Cap(answer))).Append('\n');
            }
            h.Append("</pre></details>\n");
        }
        h.Append("</section>\n");
    }
}
