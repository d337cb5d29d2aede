using System.Globalization;
using System.Text;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer.Reports;

/// <summary>One run of a comparison: its folder and its best skill's per-task scores on the validation and test splits.</summary>
/// <param name="Run">The run folder.</param>
/// <param name="Validation">The best skill's validation score per task (mean over its stored draws).</param>
/// <param name="Test">The best skill's test score per task.</param>
internal sealed record ComparedRun(RunFolder Run, IReadOnlyDictionary<string, double> Validation, IReadOnlyDictionary<string, double> Test);

/// <summary>
/// <c>skillopt report --compare &lt;run&gt; &lt;run&gt; …</c>: one table of runs (skill, preset, models, seed, splits, best
/// validation and test scores, calls, tokens, cost, wall time) and, for every run after the first, its paired difference
/// from the first on the tasks both scored, with a 95% interval (<see cref="PairedDifference"/>). As Markdown and as
/// self-contained HTML.
/// </summary>
internal static class RunComparison
{
    /// <summary>Reads the best skill's per-task scores of each run.</summary>
    /// <param name="runs">The run folders, the first being the baseline of the differences.</param>
    public static IReadOnlyList<ComparedRun> Load(IReadOnlyList<RunFolder> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return [.. runs.Select(r => new ComparedRun(r, r.ScoresByTask("val", r.BestHash), r.ScoresByTask("test", r.BestHash)))];
    }

    /// <summary>The rows of the runs table, shared by both renderings: (header, cells per run).</summary>
    private static List<(string Header, Func<ComparedRun, int, string> Cell)> Columns(IReadOnlyList<ComparedRun> runs)
    {
        var ci = CultureInfo.InvariantCulture;
        var first = runs[0];
        string Diff(PairedDifference? d) => d is null ? "no shared tasks"
            : d.Lower is null ? string.Create(ci, $"{Signed(d.Mean)} on 1 task")
            : string.Create(ci, $"{Signed(d.Mean)} [{Signed(d.Lower.Value)}, {Signed(d.Upper!.Value)}] on {d.Tasks} tasks");
        return
        [
            ("run", (c, i) => $"{i + 1}: {c.Run.Name}"),
            ("skill", (c, _) => c.Run.Skill),
            ("preset", (c, _) => c.Run.Summary?.Preset ?? "?"),
            ("models", (c, _) => c.Run.Info is { } info ? $"target {info.Target}, optimizer {info.Optimizer}" + (c.Run.Simulated is null ? "" : " (SIMULATED)") : c.Run.Simulated is null ? "?" : "SIMULATED"),
            ("seed", (c, _) => c.Run.Summary?.Seed.ToString(ci) ?? "?"),
            ("splits", (c, _) => c.Run.Summary is { } s ? string.Join(", ", s.Splits.Select(kv => $"{kv.Value} {kv.Key}")) : "?"),
            ("best skill", (c, _) => c.Run.BestHash?[..12] ?? "?"),
            ("best validation", (c, _) => c.Run.Summary?.Best.Validation is { } v ? string.Create(ci, $"{v:0.000} ({c.Validation.Count} tasks)") : "n/a"),
            ("best test", (c, _) => c.Run.Summary?.Best.Test is { } t ? string.Create(ci, $"{t:0.000} ({c.Test.Count} tasks)") : "n/a"),
            ("validation − run 1 (95% interval)", (c, i) => i == 0 ? "—" : Diff(PairedDifference.Of(first.Validation, c.Validation))),
            ("test − run 1 (95% interval)", (c, i) => i == 0 ? "—" : Diff(PairedDifference.Of(first.Test, c.Test))),
            ("calls (target / optimizer)", (c, _) => c.Run.Summary is { } s ? string.Create(ci, $"{s.TargetCalls:N0} / {s.OptimizerCalls:N0}") : "?"),
            ("tokens", (c, _) => c.Run.Summary is { } s ? s.Usage.Values.Sum(u => u.InputTokens + u.OutputTokens).ToString("N0", ci) : "?"),
            ("cost", (c, _) => c.Run.Summary?.CostUsd is { } usd ? usd.ToString("$0.00", ci) : "unknown"),
            ("wall time", (c, _) => ProgressSnapshot.Duration(TimeSpan.FromSeconds(c.Run.WallSeconds))),
        ];
    }

    private const string Explanation =
        "Differences are run n minus run 1 on the tasks both runs scored, per task the best skill's score (validation: its mean over every draw it had; test: one draw), "
        + "with a two-sided 95% interval from Student's t distribution over the per-task differences (mean ± t(0.975, n−1)·s/√n). An interval that contains 0 does not show a difference.";

    /// <summary>The comparison as Markdown (runs as columns).</summary>
    /// <param name="runs">The runs, the first being the baseline.</param>
    public static string Markdown(IReadOnlyList<ComparedRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var sb = new StringBuilder("## SkillOpt: run comparison\n\n");
        if (runs.Any(r => r.Run.Simulated is not null))
        {
            sb.Append("> **SIMULATED**: ").Append(string.Join(", ", runs.Where(r => r.Run.Simulated is not null).Select(r => r.Run.Name)))
                .Append(" used simulated models; their numbers are not language-model results.\n\n");
        }
        sb.Append("| |").Append(string.Concat(runs.Select((_, i) => $" run {i + 1} |"))).Append("\n|---|").Append(string.Concat(runs.Select(_ => "---|"))).Append('\n');
        foreach (var (header, cell) in Columns(runs))
        {
            sb.Append("| ").Append(header).Append(" |").Append(string.Concat(runs.Select((r, i) => " " + cell(r, i).Replace("|", "\\|", StringComparison.Ordinal) + " |"))).Append('\n');
        }
        return sb.Append('\n').Append(Explanation).Append('\n').ToString();
    }

    /// <summary>The comparison as a self-contained HTML page.</summary>
    /// <param name="runs">The runs, the first being the baseline.</param>
    public static string Html(IReadOnlyList<ComparedRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        static string E(string s) => HtmlRunReport.E(s);
        var sb = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>SkillOpt run comparison</title>\n<style>\n")
            .Append("body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; } table { border-collapse: collapse; } th, td { border: 1px solid #ddd; padding: .3rem .6rem; text-align: left; } thead th { background: #f5f5f5; } .simulated { background: #fff3e0; border: 2px solid #ef6c00; padding: .6rem 1rem; }\n")
            .Append("</style>\n</head>\n<body>\n<h1>SkillOpt run comparison</h1>\n");
        if (runs.Any(r => r.Run.Simulated is not null))
        {
            sb.Append("<div class=\"simulated\"><strong>SIMULATED</strong>: ").Append(E(string.Join(", ", runs.Where(r => r.Run.Simulated is not null).Select(r => r.Run.Name))))
                .Append(" used simulated models; their numbers are not language-model results.</div>\n");
        }
        sb.Append("<table id=\"runs\"><thead><tr><th></th>").Append(string.Concat(runs.Select((_, i) => $"<th>run {i + 1}</th>"))).Append("</tr></thead><tbody>\n");
        foreach (var (header, cell) in Columns(runs))
        {
            sb.Append("<tr><th>").Append(E(header)).Append("</th>").Append(string.Concat(runs.Select((r, i) => "<td>" + E(cell(r, i)) + "</td>"))).Append("</tr>\n");
        }
        return sb.Append("</tbody></table>\n<p>").Append(E(Explanation)).Append("</p>\n</body>\n</html>\n").ToString();
    }

    private static string Signed(double d) => (d >= 0 ? "+" : "−") + Math.Abs(d).ToString("0.000", CultureInfo.InvariantCulture);
}
