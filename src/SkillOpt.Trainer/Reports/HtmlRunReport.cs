using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;
using SkillOpt.Testing.Gate;

namespace SkillOpt.Trainer.Reports;

/// <summary>
/// The HTML report of one run (<c>skillopt report --html</c>, and <c>report.html</c> in the run folder after every
/// training): one self-contained file (Chart.js and the styles inlined; no network at view time) with the validation of
/// the current and best skill per step and every gated candidate coloured by verdict, the test scores of the initial and
/// best skill, cost per stage, per phase and cumulative, the step table with each verdict in plain words (statistics on
/// expand), the skill diff at every accepted step and initial → best, per-task outcomes with their transcripts, and the
/// configuration. Every text that comes from a model, a verifier or the skill is HTML-escaped; the chart data travels as
/// JSON whose <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c> and quotes are escaped, read with <c>JSON.parse</c> and drawn as canvas
/// text, never as markup.
/// </summary>
internal static partial class HtmlRunReport
{
    /// <summary>The report's file name in the run folder.</summary>
    public const string FileName = "report.html";

    /// <summary>Colours of the verdicts (chart points and table badges).</summary>
    internal static readonly IReadOnlyDictionary<string, string> VerdictColors = new Dictionary<string, string>
    {
        ["accept"] = "#2e7d32",
        ["reject"] = "#c62828",
        ["inconclusive"] = "#ef6c00",
        ["prescreen"] = "#757575",
    };

    private static readonly JsonSerializerOptions DataJson = new()
    {
        // the default encoder escapes < > & ' " and non-ASCII: the JSON cannot end the <script> element that holds it
        Encoder = JavaScriptEncoder.Default,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Renders the report.</summary>
    /// <param name="run">The run folder.</param>
    /// <returns>A complete HTML document (UTF-8 text, LF line endings).</returns>
    public static string Render(RunFolder run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var ci = CultureInfo.InvariantCulture;
        var h = new StringBuilder();
        var options = Options(run);
        var title = $"SkillOpt run report: skill '{run.Skill}'";
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(E(title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        h.Append("<h1>").Append(E(title)).Append("</h1>\n");
        if (run.Simulated is { } simulated)
        {
            h.Append("<div class=\"banner simulated\" id=\"simulated\"><strong>SIMULATED</strong>: ").Append(E(simulated))
                .Append(". No language model answered: none of these numbers is a model's result.</div>\n");
        }
        Overview(h, run, ci);
        Numbers(h, run, ci);
        ValidationSection(h, run);
        CostSection(h, run, options, ci);
        StepTable(h, run, ci);
        Diffs(h, run);
        var transcripts = new List<(string Id, string Title, RolloutResult Result)>();
        Tasks(h, run, transcripts);
        Transcripts(h, transcripts);
        Configuration(h, run);
        h.Append("<footer>Charts drawn with Chart.js (MIT licence, inlined below). Written by <code>skillopt report --html</code> from the run folder <code>")
            .Append(E(run.Name)).Append("</code>.</footer>\n");
        h.Append("<script type=\"application/json\" id=\"report-data\">").Append(JsonSerializer.Serialize(ChartData(run, options), DataJson)).Append("</script>\n");
        h.Append("<script>\n/* Chart.js, ").Append(LicenseNote).Append(" */\n").Append(ChartJs).Append("\n</script>\n");
        h.Append("<script>\n").Append(Script).Append("</script>\n</body>\n</html>\n");
        return h.ToString();
    }

    private static void Overview(StringBuilder h, RunFolder run, CultureInfo ci)
    {
        var s = run.Summary;
        h.Append("<section id=\"overview\"><h2>Run</h2>\n<table class=\"kv\">\n");
        void Row(string k, string v) => h.Append("<tr><th>").Append(E(k)).Append("</th><td>").Append(E(v)).Append("</td></tr>\n");
        Row("run folder", run.Name);
        Row("status", s?.Status ?? $"not finished ({run.History.Count} phases done)");
        if (run.Info is { } info)
        {
            Row("target model", info.Target + (info.Target.IsSimulated ? " (SIMULATED)" : ""));
            Row("optimizer model", info.Optimizer + (info.Optimizer.IsSimulated ? " (SIMULATED)" : ""));
            if (info.Verifier is not null)
            {
                Row("verifier", info.Verifier);
            }
        }
        if (s is not null)
        {
            Row("preset", s.Preset);
            Row("seed", s.Seed.ToString(ci));
            Row("splits", string.Join(", ", s.Splits.Select(kv => $"{kv.Value} {kv.Key}")));
            Row("steps", string.Create(ci, $"{s.Steps}: {s.Accepted} accepted, {s.Rejected} rejected, {s.Inconclusive} inconclusive"));
            Row("calls", string.Create(ci, $"target {s.TargetCalls:N0}, optimizer {s.OptimizerCalls:N0}; {s.CacheHits:N0} rollouts served from the cache"));
            Row("tokens", s.Usage.Values.Sum(u => u.InputTokens + u.OutputTokens).ToString("N0", ci) + (s.CostUsd is { } c ? string.Create(ci, $" (${c:0.00})") : " (cost unknown: no pricing table for these models)"));
            if (s.EarlyStopping is { } early)
            {
                Row("early stopping", early);
            }
        }
        Row("wall time", Trainer.Console.ProgressSnapshot.Duration(TimeSpan.FromSeconds(run.WallSeconds)));
        h.Append("</table></section>\n");
    }

    /// <summary>Every score with the skill (hash and role), the split and the task count it was measured on, and why receipts differ.</summary>
    private static void Numbers(StringBuilder h, RunFolder run, CultureInfo ci)
    {
        h.Append("<section id=\"numbers\"><h2>The numbers, and what each one measures</h2>\n<table>\n<thead><tr><th>score</th><th>skill</th><th>split</th><th>measured on</th></tr></thead><tbody>\n");
        var val = run.Splits.Values.Count(v => v == "val");
        var test = run.Splits.Values.Count(v => v == "test");
        void Row(string label, double? score, string? hash, string role, string split, string on) =>
            h.Append("<tr><td>").Append(score is { } x ? x.ToString("0.000", ci) : "n/a").Append(' ').Append(E(label)).Append("</td><td><code>").Append(E(hash is null ? "?" : hash[..12]))
                .Append("</code> (").Append(E(role)).Append(")</td><td>").Append(E(split)).Append("</td><td>").Append(E(on)).Append("</td></tr>\n");
        var baseline = run.History.FirstOrDefault(r => r.Kind == "baseline");
        if (baseline is not null)
        {
            Row("baseline validation", baseline.CurrentScore, baseline.CurrentHash, "initial", "val", string.Create(ci, $"{baseline.Validation?.Tasks ?? val} tasks, one draw"));
        }
        if (run.Summary is { } s)
        {
            foreach (var (label, scores, role) in new[] { ("validation", s.Initial, "initial"), ("validation", s.Best, "best"), ("validation", s.Final, "final (current)") })
            {
                var draws = run.Evaluations("val", scores.Hash).Count;
                Row(label, scores.Validation, scores.Hash, role, "val", string.Create(ci, $"mean over {draws} draw(s) of up to {val} tasks (every measurement of this skill in the run)"));
            }
            foreach (var (scores, role) in new[] { (s.Initial, "initial"), (s.Best, "best") })
            {
                Row("test", scores.Test, scores.Hash, role, "test", string.Create(ci, $"{scores.TestTasks} of {test} tasks, one draw"));
            }
        }
        h.Append("</tbody></table>\n<p class=\"note\">Why the numbers differ: the run's validation score of a skill pools every validation draw it had, and the best skill's draws include the ones that got it accepted, so it leans high. "
            + "The receipt (<code>SKILL.received.receipt.json</code>, after training) scores the best skill afresh, one draw on the validation and the test split, and <code>skillopt report</code> compares that receipt with the approved one, "
            + "whose skill is usually not this run's initial skill. Each of these is a different skill, split or draw; the table above names which.</p></section>\n");
    }

    private static void ValidationSection(StringBuilder h, RunFolder run)
    {
        h.Append("<section id=\"validation\"><h2>Validation per step</h2>\n<p>The lines are the validation score of the current skill and of the best skill after each phase (baseline at 0, step <i>n</i> at <i>n</i>, an epoch's slow update half a step after its last step). "
            + "Each dot is a candidate the gate decided on, at its score on the validation tasks it was compared on: green accepted, red rejected, orange inconclusive, grey rejected by the pre-screen (at its score on the step's own tasks, before any validation). "
            + "The triangles at <i>test</i> are the test scores of the initial and the best skill. Hover a point for its verdict.</p>\n")
            .Append("<div class=\"chart\"><canvas id=\"validation-chart\" aria-label=\"validation per step\"></canvas></div></section>\n");
    }

    private static void CostSection(StringBuilder h, RunFolder run, SkillOptOptions? options, CultureInfo ci)
    {
        h.Append("<section id=\"cost\"><h2>Cost</h2>\n<p>Tokens per phase, target and optimizer stacked (bars), and the cumulative total (line, right axis"
            + (options?.Pricing.Count > 0 ? ", in US dollars when the pricing table has both models" : ", in tokens: no pricing table") + ").</p>\n")
            .Append("<div class=\"chart\"><canvas id=\"cost-chart\" aria-label=\"cost per phase\"></canvas></div>\n");
        if (run.Summary is { } s)
        {
            var budget = options is null ? null : new RunBudget(options);
            h.Append("<table id=\"stage-table\"><thead><tr><th>stage</th><th>model</th><th>calls</th><th>input tokens</th><th>output tokens</th><th>rollouts</th><th>seconds</th><th>cost</th></tr></thead><tbody>\n");
            foreach (var (stage, u) in s.Usage)
            {
                var isTarget = ChatStage.TargetStages.Contains(stage);
                var cost = budget?.Measure(new Dictionary<string, StageUsage> { [stage] = u }, 0).CostUsd;
                h.Append("<tr><td>").Append(E(stage)).Append("</td><td>").Append(isTarget ? "target" : "optimizer").Append("</td><td>").Append((isTarget ? Math.Max(u.Calls, u.Tasks) : u.Calls).ToString("N0", ci))
                    .Append("</td><td>").Append(u.InputTokens.ToString("N0", ci)).Append("</td><td>").Append(u.OutputTokens.ToString("N0", ci)).Append("</td><td>").Append(u.Tasks.ToString("N0", ci))
                    .Append("</td><td>").Append(u.WallSeconds.ToString("0.0", ci)).Append("</td><td>").Append(cost is { } c ? c.ToString("$0.0000", ci) : "—").Append("</td></tr>\n");
            }
            h.Append("</tbody></table>\n");
        }
        h.Append("</section>\n");
    }

    private static void StepTable(StringBuilder h, RunFolder run, CultureInfo ci)
    {
        h.Append("<section id=\"steps\"><h2>Steps</h2>\n<p>One row per phase of <code>history.json</code>. The verdict is in plain words; open it for the gate's statistics.</p>\n")
            .Append("<table id=\"step-table\"><thead><tr><th>phase</th><th>epoch</th><th>step</th><th>learning rate</th><th>rollout passed</th><th>edits proposed / merged / selected / applied</th><th>verdict</th><th>current / best after</th><th>seconds</th></tr></thead><tbody>\n");
        foreach (var r in run.History)
        {
            var action = VerdictOf(r);
            h.Append("<tr data-phase=\"").Append(r.Phase.ToString(ci)).Append("\" data-kind=\"").Append(E(r.Kind)).Append("\" data-action=\"").Append(E(r.Action)).Append("\" data-step=\"")
                .Append(r.Step?.ToString(ci) ?? "").Append("\" data-learning-rate=\"").Append(r.LearningRate?.ToString(ci) ?? "").Append("\">")
                .Append("<td>").Append(E(r.Kind.Replace('_', ' '))).Append("</td><td>").Append(r.Epoch > 0 ? r.Epoch.ToString(ci) : "").Append("</td><td>").Append(r.Step?.ToString(ci) ?? "")
                .Append("</td><td>").Append(r.LearningRate?.ToString(ci) ?? "").Append("</td><td>").Append(r.Rollout is { } ro ? $"{ro.Passed}/{ro.Tasks}" + (ro.Errored > 0 ? $" ({ro.Errored} errored)" : "") : "")
                .Append("</td><td>").Append(r.Kind == "step" ? $"{r.EditsProposed} / {r.EditsMerged} / {r.EditsSelected} / {r.EditsApplied}" : "")
                .Append("</td><td><details><summary><span class=\"badge\" style=\"background:").Append(VerdictColors.GetValueOrDefault(action, "#455a64")).Append("\">").Append(E(r.Action)).Append("</span> ")
                .Append(E(WithoutVerdict(Plain(r), r.Action))).Append("</summary>").Append(Statistics(r, ci)).Append("</details></td><td>")
                .Append(r.CurrentScore.ToString("0.000", ci)).Append(" / ").Append(r.BestScore.ToString("0.000", ci)).Append("</td><td>").Append(r.Seconds.ToString("0.0", ci)).Append("</td></tr>\n");
        }
        h.Append("</tbody></table></section>\n");
    }

    private static string Statistics(HistoryRecord r, CultureInfo ci)
    {
        var s = new StringBuilder("<dl class=\"stats\">");
        void Item(string k, string? v)
        {
            if (!string.IsNullOrEmpty(v))
            {
                s.Append("<dt>").Append(E(k)).Append("</dt><dd>").Append(E(v)).Append("</dd>");
            }
        }
        Item("gate's reason", r.Reason);
        if (r.Validation is { } v)
        {
            Item("check", v.Gate);
            Item("candidate / current score", string.Create(ci, $"{v.CandidateScore:0.####} / {v.IncumbentScore:0.####} on {v.Tasks} measurement(s), {v.Errored} errored, {v.TasksSkipped} not needed"));
            if (v.Wins is { } w && v.Losses is { } l)
            {
                Item("wins / losses", string.Create(ci, $"{w} / {l} of {v.PairedTasks} paired"));
            }
            Item("p-value", v.PValue?.ToString("0.####", ci));
        }
        Item("candidate", r.CandidateHash?[..12]);
        if (r.Combination is { } c)
        {
            Item("combined candidate", string.Create(ci, $"steps {string.Join(", ", c.Steps)}: {c.Action}; {GateExplanation.Describe(c.Action, c.Validation, c.Reason)}"));
        }
        if (r.Proposals is { } proposals)
        {
            Item("proposals", string.Join("; ", proposals.Select(p => $"{p.Proposal}: {p.Outcome}" + (p.Fixes is { } f ? $" ({f} fixed, {p.Breaks} broken)" : ""))));
        }
        Item("usage", string.Join(", ", r.Usage.Select(kv => string.Create(ci, $"{kv.Key} {kv.Value.Calls} calls, {kv.Value.InputTokens + kv.Value.OutputTokens} tokens"))));
        return s.Append("</dl>").ToString();
    }

    private static void Diffs(StringBuilder h, RunFolder run)
    {
        h.Append("<section id=\"diffs\"><h2>Skill changes</h2>\n");
        var initial = run.ReadSkill(run.InitialHash);
        var best = run.ReadSkill(run.BestHash);
        if (initial is not null && best is not null)
        {
            h.Append("<h3>Initial → best</h3>\n").Append(Diff(initial, best, $"initial {run.InitialHash![..12]}", $"best {run.BestHash![..12]}"));
        }
        var previous = run.InitialHash;
        var any = false;
        foreach (var r in run.History)
        {
            if (r.CurrentHash != previous && previous is not null && (r.Action is "accept" or "applied_ungated" || r.Combination?.Action == "accept"))
            {
                var before = run.ReadSkill(previous);
                var after = run.ReadSkill(r.CurrentHash);
                if (before is not null && after is not null)
                {
                    any = true;
                    var where = r.Kind == "step" ? $"step {r.Step}" : $"{r.Kind.Replace('_', ' ')} of epoch {r.Epoch}";
                    h.Append("<details class=\"accepted\" data-step=\"").Append(r.Step?.ToString(CultureInfo.InvariantCulture) ?? "").Append("\"><summary>").Append(E(where)).Append(": ").Append(E(r.Action == "accept" ? "accepted" : r.Action.Replace('_', ' ')))
                        .Append("</summary>").Append(Diff(before, after, previous[..12], r.CurrentHash[..12])).Append("</details>\n");
                }
            }
            previous = r.CurrentHash;
        }
        if (!any)
        {
            h.Append("<p>No step changed the skill.</p>\n");
        }
        h.Append("</section>\n");
    }

    private static string Diff(string before, string after, string a, string b)
    {
        var diff = SkillDiff.Unified(before, after, a, b);
        if (diff.Length == 0)
        {
            return "<p>The text did not change.</p>\n";
        }
        var s = new StringBuilder("<pre class=\"diff\">");
        foreach (var line in diff.Split('\n'))
        {
            var cls = line.StartsWith("+++", StringComparison.Ordinal) || line.StartsWith("---", StringComparison.Ordinal) ? "h"
                : line.StartsWith('+') ? "add" : line.StartsWith('-') ? "del" : line.StartsWith("@@", StringComparison.Ordinal) ? "h" : "";
            s.Append("<span class=\"").Append(cls).Append("\">").Append(E(line)).Append("</span>\n");
        }
        return s.Append("</pre>\n").ToString();
    }

    private static void Configuration(StringBuilder h, RunFolder run)
    {
        h.Append("<section id=\"configuration\"><h2>Configuration</h2>\n");
        if (run.Info?.Configuration is { } config)
        {
            h.Append("<p>As loaded, preset applied (endpoints left out; keys are never stored).</p><pre>").Append(E(config.ToJsonString(SkillOptJson.Options))).Append("</pre>\n");
        }
        else
        {
            h.Append("<p>This run folder has no <code>run_info.json</code> (written by newer trainers).</p>\n");
        }
        h.Append("</section>\n");
    }

    private static SkillOptOptions? Options(RunFolder run)
    {
        try
        {
            return run.Info?.Configuration?.Deserialize<SkillOptOptions>(SkillOptJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static double Round(double v) => Math.Round(v, 4);

    private static string Lower(TaskOutcome o) => o.ToString().ToLowerInvariant();

    private static string Cap(string s) => s.Length <= 20_000 ? s : s[..20_000] + $"… ({s.Length - 20_000} more characters in the run folder)";

    /// <summary>HTML-escapes text (element content and quoted attribute values).</summary>
    internal static string E(string? text) => WebUtility.HtmlEncode(text ?? "");
}
