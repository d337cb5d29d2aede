using System.Globalization;
using System.Text;
using SkillOpt.Testing.Gate;
using SkillOpt.Trainer.Reports;

namespace SkillOpt.Trainer.Approval;

/// <summary>One side of a report: a receipt and the skill text it describes (either may be missing).</summary>
/// <param name="Label">What this side is (<c>approved</c>, <c>received</c>, <c>origin/main</c>…).</param>
/// <param name="Receipt">The score receipt, if any.</param>
/// <param name="Skill">The skill text, if known.</param>
internal sealed record ReportSide(string Label, ScoreReceipt? Receipt, string? Skill);

/// <summary>
/// The Markdown summary of a skill change, fit for a pull-request comment or a GitHub job summary: the validation and test
/// scores before → after (each naming its skill's role and hash, its split and task count), a Mermaid <c>xychart-beta</c> of
/// the training run's validation per step when the run folder is known, why the run's and the receipt's scores differ, the
/// tasks whose outcome flipped, and the skill diff (DiffPlex, unified format).
/// </summary>
internal static class SkillReport
{
    /// <summary>Renders the report.</summary>
    /// <param name="skill">Skill name.</param>
    /// <param name="skillFile">The skill file's path as shown (relative to the repository when possible).</param>
    /// <param name="before">The baseline (may have no receipt: a new skill).</param>
    /// <param name="after">The state under review.</param>
    /// <param name="pending">A note on pending approval (the approve command), or <see langword="null"/>.</param>
    /// <param name="run">The training run whose best skill is <paramref name="after"/>, for the chart and the explanation of the scores; may be null.</param>
    /// <returns>Markdown text with LF line endings.</returns>
    public static string Render(string skill, string skillFile, ReportSide before, ReportSide after, string? pending, RunFolder? run = null)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("## SkillOpt: skill `").Append(skill).Append("`\n\n");
        sb.Append("`").Append(skillFile).Append("`");
        if (after.Receipt is { } ar)
        {
            sb.Append(" · target `").Append(ar.Target).Append('`');
            if (ar.Target.IsSimulated)
            {
                sb.Append(" · **simulated target (").Append(ar.Target.Provider).Append("): these are not language-model results**");
            }
            if (before.Receipt is { } br && (br.Target.Provider != ar.Target.Provider || br.Target.Model != ar.Target.Model))
            {
                sb.Append(" · baseline scored with `").Append(br.Target).Append('`');
            }
        }
        sb.Append("\n\n");

        var valTasks = after.Receipt?.ValidationTotals.Tasks ?? before.Receipt?.ValidationTotals.Tasks;
        var testTasks = after.Receipt?.TestTotals.Tasks ?? before.Receipt?.TestTotals.Tasks;
        sb.Append("| | skill | validation split").Append(valTasks is { } vt ? $" ({vt} tasks)" : "").Append(" | test split").Append(testTasks is { } tt ? $" ({tt} tasks)" : "")
            .Append(" |\n|---|---|---:|---:|\n");
        Row(sb, before, ci);
        Row(sb, after, ci);
        if (before.Receipt is { } b && after.Receipt is { } a)
        {
            sb.Append("| change | | ").Append(Delta(b.ValidationTotals, a.ValidationTotals, ci)).Append(" | ").Append(Delta(b.TestTotals, a.TestTotals, ci)).Append(" |\n");
        }
        sb.Append("\nEach receipt scores its skill once (sample ").Append(after.Receipt?.SampleIndex.ToString(ci) ?? "0").Append(") on every validation and test task: passed/scored in brackets.\n\n");
        if (run is not null)
        {
            Chart(sb, run, after, ci);
        }

        if (before.Receipt is { } b2 && after.Receipt is { } a2)
        {
            var flips = Flips("val", b2.Validation, a2.Validation).Concat(Flips("test", b2.Test, a2.Test)).ToList();
            sb.Append("### Per-task flips (").Append(flips.Count).Append(")\n\n");
            if (flips.Count == 0)
            {
                sb.Append("No validation or test task changed its outcome.\n\n");
            }
            else
            {
                sb.Append("| task | split | before | after |\n|---|---|---|---|\n");
                foreach (var (id, split, from, to) in flips)
                {
                    sb.Append("| `").Append(id).Append("` | ").Append(split).Append(" | ").Append(from).Append(" | ").Append(to).Append(" |\n");
                }
                sb.Append('\n');
            }
        }

        sb.Append("### Skill diff\n\n");
        if (before.Skill is null || after.Skill is null)
        {
            sb.Append(before.Skill is null ? "No baseline skill text to compare with.\n\n" : "No skill text to compare.\n\n");
        }
        else
        {
            var diff = SkillDiff.Unified(before.Skill, after.Skill, before.Label, after.Label);
            if (diff.Length == 0)
            {
                sb.Append("The skill text did not change.\n\n");
            }
            else
            {
                var (added, removed) = SkillDiff.Count(before.Skill, after.Skill);
                var fence = diff.Contains("```", StringComparison.Ordinal) ? "~~~~" : "```";
                sb.Append("<details open><summary>").Append(added).Append(" lines added, ").Append(removed).Append(" removed</summary>\n\n");
                sb.Append(fence).Append("diff\n").Append(diff).Append(fence).Append("\n\n</details>\n\n");
            }
        }
        if (pending is not null)
        {
            sb.Append("> ").Append(pending).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The run's validation per step as a Mermaid <c>xychart-beta</c> (GitHub renders it), and why its scores differ from the receipt's.</summary>
    private static void Chart(StringBuilder sb, RunFolder run, ReportSide after, CultureInfo ci)
    {
        var points = run.History.Where(h => h.Kind is "baseline" or "step").ToList();
        if (points.Count == 0)
        {
            return;
        }
        sb.Append("### Validation per step (run `").Append(run.Name).Append("`)").Append(run.Simulated is null ? "" : " — SIMULATED").Append("\n\n");
        sb.Append("```mermaid\nxychart-beta\n    title \"Validation of the current and best skill\"\n    x-axis \"step\" [")
            .Append(string.Join(", ", points.Select(h => h.Kind == "baseline" ? "0" : h.Step!.Value.ToString(ci)))).Append("]\n    y-axis \"validation score\" 0 --> 1\n    line [")
            .Append(string.Join(", ", points.Select(h => h.CurrentScore.ToString("0.###", ci)))).Append("]\n    line [")
            .Append(string.Join(", ", points.Select(h => h.BestScore.ToString("0.###", ci)))).Append("]\n```\n\n");
        var gated = points.Count(h => h.Kind == "step" && h.CandidateHash is not null && h.Validation is not null);
        sb.Append("First line: the current skill after each step; second: the best skill. ").Append(gated.ToString(ci)).Append(" candidates were gated: ")
            .Append(string.Join(", ", points.Where(h => h.Kind == "step").GroupBy(h => h.Action).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"))).Append(".\n\n");
        if (run.Summary is { } s && after.Receipt is { } r)
        {
            var same = s.Best.Hash == r.SkillSha256;
            sb.Append("The run measured ").Append(same ? "this" : "its").Append(" best skill `").Append(s.Best.Hash[..12]).Append("` at validation ")
                .Append(s.Best.Validation?.ToString("0.000", ci) ?? "n/a").Append(", its mean over every validation draw it had in training (those that got it accepted included, so it leans high)");
            if (same)
            {
                sb.Append("; the receipt above scores the same skill afresh, once: ").Append(Score(r.ValidationTotals, ci)).Append(" on validation");
            }
            else
            {
                sb.Append("; the receipt above is of another skill (`").Append(r.SkillSha256[..12]).Append("`)");
            }
            sb.Append(". The initial skill of the run (`").Append(s.Initial.Hash[..12]).Append("`, validation ").Append(s.Initial.Validation?.ToString("0.000", ci) ?? "n/a")
                .Append(") is not necessarily the approved one compared here.\n\n");
        }
    }

    private static void Row(StringBuilder sb, ReportSide side, CultureInfo ci)
    {
        var r = side.Receipt;
        var hash = r?.SkillSha256 ?? (side.Skill is null ? null : ScoreReceipt.Sha256(side.Skill));
        sb.Append("| ").Append(side.Label).Append(" | ").Append(hash is null ? "—" : $"`{hash[..12]}`").Append(" | ")
            .Append(r is null ? "—" : Score(r.ValidationTotals, ci)).Append(" | ").Append(r is null ? "—" : Score(r.TestTotals, ci)).Append(" |\n");
    }

    private static string Score(ReceiptTotals t, CultureInfo ci) =>
        t.Scored == 0 ? "n/a" : $"{t.MeanScore.ToString("0.000", ci)} ({t.Passed}/{t.Scored})";

    private static string Delta(ReceiptTotals b, ReceiptTotals a, CultureInfo ci)
    {
        if (b.Scored == 0 || a.Scored == 0)
        {
            return "n/a";
        }
        var d = a.MeanScore - b.MeanScore;
        return (d >= 0 ? "+" : "−") + Math.Abs(d).ToString("0.000", ci);
    }

    private static IEnumerable<(string Id, string Split, string From, string To)> Flips(string split, IReadOnlyDictionary<string, ReceiptTask> before, IReadOnlyDictionary<string, ReceiptTask> after)
    {
        foreach (var id in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
        {
            before.TryGetValue(id, out var b);
            after.TryGetValue(id, out var a);
            if (b?.ToString() != a?.ToString())
            {
                yield return (id, split, b?.ToString() ?? "—", a?.ToString() ?? "—");
            }
        }
    }
}
