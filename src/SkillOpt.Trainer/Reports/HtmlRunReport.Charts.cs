using System.Globalization;
using System.Reflection;
using System.Text;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;

namespace SkillOpt.Trainer.Reports;

/// <summary>The HTML run report, part: the data the charts draw, and the inlined Chart.js, styles and script.</summary>
internal static partial class HtmlRunReport
{
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
