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
internal static class HtmlRunReport
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

    /// <summary>The data the charts draw, in the JSON island <c>#report-data</c>.</summary>
    internal static object ChartData(RunFolder run, SkillOptOptions? options)
    {
        var phases = new List<object>();
        var candidates = new List<object>();
        var cost = new List<object>();
        var budget = options is null ? null : new RunBudget(options);
        var priced = budget is not null && options!.Pricing.Count > 0;
        double cumulative = 0;
        var lastStep = 0.0;
        foreach (var r in run.History)
        {
            if (r.Kind is "meta_skill" or "test")
            {
                continue;
            }
            var x = r.Kind == "baseline" ? 0 : r.Kind == "step" ? r.Step ?? 0 : lastStep + 0.5;
            if (r.Kind == "step")
            {
                lastStep = x;
            }
            var label = r.Kind == "step" ? $"step {r.Step}" : r.Kind == "baseline" ? "baseline" : $"slow update, epoch {r.Epoch}";
            phases.Add(new { x, label, current = Round(r.CurrentScore), best = Round(r.BestScore) });
            if (r.Kind != "baseline" && r.CandidateHash is not null && r.Validation is { } v)
            {
                candidates.Add(Candidate(x, label, VerdictOf(r), v, Plain(r), r.Reason));
            }
            if (r.Combination is { Validation: { } cv } c)
            {
                candidates.Add(Candidate(x + 0.15, $"{label}, combined candidate of steps {string.Join(", ", c.Steps)}", c.Action, cv, GateExplanation.Describe(c.Action, cv, c.Reason), c.Reason));
            }
        }
        var tests = new List<object>();
        if (run.Summary is { } s)
        {
            var right = lastStep + 1;
            if (s.Initial.Test is { } ti)
            {
                tests.Add(new { x = right, y = Round(ti), tip = string.Create(CultureInfo.InvariantCulture, $"test, initial skill {s.Initial.Hash[..12]}: {ti:0.###} on {s.Initial.TestTasks} tasks") });
            }
            if (s.Best.Test is { } tb)
            {
                tests.Add(new { x = right, y = Round(tb), tip = string.Create(CultureInfo.InvariantCulture, $"test, best skill {s.Best.Hash[..12]}: {tb:0.###} on {s.Best.TestTasks} tasks") });
            }
        }
        foreach (var r in run.History)
        {
            long target = 0, optimizer = 0, targetCalls = 0, optimizerCalls = 0;
            foreach (var (stage, u) in r.Usage)
            {
                if (ChatStage.TargetStages.Contains(stage))
                {
                    target += u.InputTokens + u.OutputTokens;
                    targetCalls += Math.Max(u.Calls, u.Tasks);
                }
                else
                {
                    optimizer += u.InputTokens + u.OutputTokens;
                    optimizerCalls += u.Calls;
                }
            }
            var usd = priced ? budget!.Measure(r.Usage, 0).CostUsd : null;
            cumulative += usd ?? target + optimizer;
            var label = r.Kind == "step" ? $"step {r.Step}" : r.Epoch > 0 ? $"{r.Kind.Replace('_', ' ')} {r.Epoch}" : r.Kind;
            cost.Add(new { label, target_tokens = target, optimizer_tokens = optimizer, target_calls = targetCalls, optimizer_calls = optimizerCalls, usd, cumulative = Math.Round(cumulative, 6) });
        }
        return new { colors = VerdictColors, phases, candidates, tests, cost, cumulative_unit = priced ? "usd" : "tokens", x_max = lastStep + 1.25, test_x = lastStep + 1 };
    }

    private static object Candidate(double x, string label, string verdict, ValidationSummary v, string plain, string? reason) => new
    {
        x,
        y = Round(v.CandidateScore),
        verdict,
        tip = $"{label}: {plain}",
        stats = reason ?? "",
    };

    /// <summary>The verdict a record's candidate is coloured by: <c>prescreen</c> for a pre-screen rejection, else its action.</summary>
    internal static string VerdictOf(HistoryRecord r) => r.Validation?.Gate == "prescreen" ? "prescreen" : r.Action;

    private static string Plain(HistoryRecord r) => r.Kind is "baseline" or "test" or "meta_skill"
        ? r.Kind == "baseline" ? "the initial skill's validation" : r.Kind == "test" ? "the test split scored" : r.Action == "updated" ? "advice for the optimizer updated" : "no advice"
        : GateExplanation.Describe(r.Action, r.Validation, r.Reason);

    private static string WithoutVerdict(string plain, string action) =>
        plain.StartsWith(action + " — ", StringComparison.Ordinal) ? plain[(action.Length + 3)..] : plain;

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

    private static string ChartJs => Resource("SkillOpt.Trainer.Reports.chart.umd.min.js");

    private static string LicenseNote => "released under the MIT License: " + Resource("SkillOpt.Trainer.Reports.chart.js.LICENSE.md").Replace("*/", "* /", StringComparison.Ordinal).Trim();

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name) ?? throw new InvalidOperationException($"missing resource {name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private const string Css = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #212121; }
        h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
        table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .92rem; }
        th, td { border: 1px solid #e0e0e0; padding: .3rem .5rem; text-align: left; vertical-align: top; }
        thead th { background: #f5f5f5; } table.kv th { width: 12rem; background: #fafafa; }
        .banner.simulated { background: #fff3e0; border: 2px solid #ef6c00; padding: .7rem 1rem; margin: 1rem 0; font-size: 1.05rem; }
        .chart { position: relative; height: 360px; }
        .badge { color: #fff; border-radius: 3px; padding: 0 .35rem; font-size: .8rem; }
        pre { background: #fafafa; border: 1px solid #eee; padding: .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; font-size: .85rem; }
        pre.diff .add { background: #e8f5e9; color: #1b5e20; } pre.diff .del { background: #ffebee; color: #b71c1c; } pre.diff .h { color: #616161; }
        tr.flip { background: #fffde7; } .outcome.passed { color: #2e7d32; } .outcome.failed { color: #c62828; } .outcome.errored { color: #6a1b9a; }
        dl.stats { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; margin: .4rem 0; } dl.stats dt { color: #616161; }
        .note { color: #424242; } footer { margin-top: 3rem; color: #757575; font-size: .85rem; }
        """;

    private const string Script = """
        (function () {
          var data = JSON.parse(document.getElementById('report-data').textContent);
          var names = { accept: 'accepted', reject: 'rejected', inconclusive: 'inconclusive', prescreen: 'pre-screen reject' };
          var tip = { callbacks: { label: function (c) { return c.raw.tip || (c.dataset.label + ': ' + c.parsed.y); }, afterLabel: function (c) { return c.raw.stats || ''; } } };
          var datasets = [
            { type: 'line', label: 'current skill', data: data.phases.map(function (p) { return { x: p.x, y: p.current, tip: p.label + ': current skill ' + p.current }; }), stepped: 'before', borderColor: '#1565c0', backgroundColor: '#1565c0', pointRadius: 2 },
            { type: 'line', label: 'best skill', data: data.phases.map(function (p) { return { x: p.x, y: p.best, tip: p.label + ': best skill ' + p.best }; }), stepped: 'before', borderColor: '#6a1b9a', backgroundColor: '#6a1b9a', borderDash: [6, 4], pointRadius: 0 }
          ];
          Object.keys(names).forEach(function (v) {
            datasets.push({ type: 'scatter', label: 'candidate: ' + names[v], verdict: v, data: data.candidates.filter(function (c) { return c.verdict === v; }), backgroundColor: data.colors[v], borderColor: data.colors[v], pointRadius: 6, pointHoverRadius: 8 });
          });
          datasets.forEach(function (d) { d.clip = false; });
          datasets.push({ type: 'scatter', clip: false, label: 'test: initial, best', data: data.tests, pointStyle: 'triangle', pointRadius: 8, backgroundColor: '#00838f', borderColor: '#00838f' });
          window.validationChart = new Chart(document.getElementById('validation-chart'), {
            data: { datasets: datasets },
            options: { maintainAspectRatio: false, animation: false, scales: { x: { type: 'linear', min: 0, max: data.x_max, title: { display: true, text: 'step' }, ticks: { stepSize: 1, callback: function (v) { return v === data.test_x ? 'test' : Number.isInteger(v) ? v : ''; } } }, y: { min: 0, max: 1, title: { display: true, text: 'score' } } }, plugins: { tooltip: tip } }
          });
          var usd = data.cumulative_unit === 'usd';
          window.costChart = new Chart(document.getElementById('cost-chart'), {
            data: {
              labels: data.cost.map(function (c) { return c.label; }),
              datasets: [
                { type: 'bar', label: 'target tokens', data: data.cost.map(function (c) { return c.target_tokens; }), backgroundColor: '#90caf9', stack: 'tokens', yAxisID: 'y' },
                { type: 'bar', label: 'optimizer tokens', data: data.cost.map(function (c) { return c.optimizer_tokens; }), backgroundColor: '#ce93d8', stack: 'tokens', yAxisID: 'y' },
                { type: 'line', label: usd ? 'cumulative cost (US$)' : 'cumulative tokens', data: data.cost.map(function (c) { return c.cumulative; }), borderColor: '#37474f', backgroundColor: '#37474f', yAxisID: 'y2' }
              ]
            },
            options: { maintainAspectRatio: false, animation: false, scales: { y: { stacked: true, title: { display: true, text: 'tokens per phase' } }, y2: { position: 'right', title: { display: true, text: usd ? 'US$ so far' : 'tokens so far' }, grid: { drawOnChartArea: false } } },
              plugins: { tooltip: { callbacks: { afterBody: function (items) { var c = data.cost[items[0].dataIndex]; return 'calls: target ' + c.target_calls + ', optimizer ' + c.optimizer_calls + (c.usd != null ? ', $' + c.usd.toFixed(4) : ''); } } } } }
          });
          function openHash() { var el = location.hash && document.getElementById(location.hash.slice(1)); if (el && el.tagName === 'DETAILS') { el.open = true; } }
          window.addEventListener('hashchange', openHash); openHash();
        })();
        """;
}
