using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SkillOpt.Core.Runs;
using SkillOpt.SimLab;
using SkillOpt.Testing.Tests.Gate;
using SkillOpt.Testing.Tests.Infrastructure;

namespace SkillOpt.Testing.Tests.Reports;

/// <summary>
/// The HTML report of a real training against SimLab (SIMULATED models), rendered by Debian's chromium through Playwright:
/// the chart's points, the step table against <c>history.json</c>, transcripts that stay text, no network.
/// </summary>
public class HtmlReportTests
{
    /// <summary>Debian's chromium: <c>.ci/run</c> installs it. Missing in CI is a failure; elsewhere the test says why it did not run.</summary>
    private static string RequireChromium()
    {
        const string path = "/usr/bin/chromium";
        if (File.Exists(path))
        {
            return path;
        }
        const string why = "Debian's chromium is not installed at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it)";
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail(why);
        }
        Assert.Skip(why);
        return path;
    }

    [Fact]
    public void Model_and_verifier_text_is_escaped_and_the_chart_data_cannot_end_its_script_element()
    {
        using var dir = new TempFolder();
        const string evil = "</script><script>alert('x')</script> & <b>bold</b>";
        var folder = ComparisonTests.Run(dir.Combine("run"), 'a', seed: 1, test: [0, 1], extraTest: false, costUsd: null, transcript: evil);
        var html = SkillOpt.Trainer.Reports.HtmlRunReport.Render(SkillOpt.Trainer.Reports.RunFolder.Open(folder));
        Assert.Equal(3, Regex.Matches(html, "<script").Count); // the data island, Chart.js, the report's own
        Assert.Contains("&lt;/script&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;", html);
        Assert.DoesNotContain(evil, html);
        var island = Regex.Match(html, "<script type=\"application/json\" id=\"report-data\">(.*?)</script>", RegexOptions.Singleline).Groups[1].Value;
        Assert.DoesNotContain('<', island);
        Assert.Contains("\\u003C/script\\u003E", island); // the gate's reason, a tooltip of the chart, escaped in the JSON
        Assert.Equal(2, Regex.Matches(html, "<tr data-phase=").Count); // the step table: one row per history record
        Assert.Contains("SIMULATED", html);
    }

    [Fact]
    public async Task The_report_of_a_SimLab_run_shows_every_candidate_the_step_table_of_history_json_and_transcripts_as_text()
    {
        var chromium = RequireChromium();
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempFolder();
        File.Copy(SimMath.Scenario, dir.Combine("scenario.yaml"));
        File.Copy(Path.Combine(SimMath.Folder, "skillopt.yaml"), dir.Combine("skillopt.yaml"));
        var scenario = SimMath.LoadScenario();
        var skill = dir.Combine("SKILL.md");
        File.WriteAllText(skill, scenario.InitialSkill);
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: ct);
        var env = new Dictionary<string, string?> { ["SKILLOPT_TARGET_ENDPOINT"] = server.BaseUrl, ["SKILLOPT_OPTIMIZER_ENDPOINT"] = server.BaseUrl };

        // a generous limit: the verifier processes are slow on a busy machine, and nothing here is timed
        var train = await Tool.RunAsync(ToolPaths.Trainer, dir.Path, env, TimeSpan.FromMinutes(5), null, "train", "--verifier", ToolPaths.SampleVerifiers, "--skill", "simmath", "--skill-file", skill, "--config", dir.Combine("skillopt.yaml"), "--run", "run");
        Assert.True(train.ExitCode == 0, train.ToString());
        // redirected output: plain lines, gate verdicts in plain words with the way to their statistics
        Assert.DoesNotContain('\u001b', train.Stdout + train.Stderr);
        Assert.DoesNotContain('\r', train.Stdout);
        Assert.Matches(new Regex(@"skillopt: \[epoch 1 step 1/1\] gate: (accept|reject|inconclusive) — the candidate scored .* on 10 validation tasks.* \(details: steps/step_0001/decision\.json\)"), train.Stdout);
        Assert.DoesNotContain("SPRT", train.Stdout);
        Assert.Contains($"skillopt: report: {dir.Combine("run", "report.html")}", train.Stdout);
        var history = AtomicFile.ReadJson<List<HistoryRecord>>(dir.Combine("run", "history.json"))!;
        var gated = history.Count(h => h.Kind != "baseline" && h.CandidateHash is not null && h.Validation is not null) + history.Count(h => h.Combination?.Validation is not null);
        Assert.True(gated >= 1, train.ToString());

        // a transcript that holds markup and script, as a model might answer
        var summary = AtomicFile.ReadJson<RunSummary>(dir.Combine("run", "summary.json"))!;
        var evaluation = dir.Combine("run", "evaluations", $"test_{summary.Best.Hash[..16]}_s0.json");
        var json = JsonNode.Parse(File.ReadAllText(evaluation))!;
        json["results"]![0]!["transcript"]![1]!["text"] = "<script>window.__pwned = true;</script><img src=x onerror=\"window.__pwned = true\"> & </pre></details><b>bold?</b>";
        File.WriteAllText(evaluation, json.ToJsonString());
        var report = await Tool.SkilloptAsync(dir.Path, null, "report", "--html", "--run", "run", "--out", "injected.html");
        Assert.True(report.ExitCode == 0, report.ToString());

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchPersistentContextAsync(dir.Combine("chromium-profile"), new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            ViewportSize = new ViewportSize { Width = 1200, Height = 900 },
        });
        var page = await browser.NewPageAsync();
        var network = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith("file:", StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                network.Add(request.Url);
            }
        };
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(new Uri(dir.Combine("injected.html")).AbsoluteUri);
        await page.WaitForFunctionAsync("() => window.validationChart && window.costChart");

        // one point per gated candidate, drawn by the chart (Chart.js's own element count, not the page's data)
        var points = await page.EvaluateAsync<int>("() => { const c = window.validationChart; return c.data.datasets.reduce((n, d, i) => n + (d.verdict ? c.getDatasetMeta(i).data.length : 0), 0); }");
        Assert.Equal(gated, points);
        var byVerdict = await page.EvaluateAsync<JsonElement>("() => Object.fromEntries(window.validationChart.data.datasets.filter(d => d.verdict).map(d => [d.verdict, d.data.length]))");
        foreach (var verdict in new[] { "accept", "reject", "inconclusive" })
        {
            Assert.Equal(history.Count(h => h.Kind != "baseline" && h.CandidateHash is not null && h.Validation is { Gate: not "prescreen" } && h.Action == verdict), byVerdict.GetProperty(verdict).GetInt32());
        }

        // the step table is history.json, row for row
        var rows = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('#step-table tbody tr')].map(r => [r.dataset.kind, r.dataset.step, r.dataset.learningRate, r.dataset.action].join('|'))");
        Assert.Equal(history.Select(h => $"{h.Kind}|{h.Step}|{h.LearningRate}|{h.Action}"), rows);

        // the transcript is text: its script never ran, its markup is not elements
        Assert.False(await page.EvaluateAsync<bool>("() => window.__pwned === true"));
        Assert.Equal(3, await page.EvaluateAsync<int>("() => document.scripts.length")); // the data island, Chart.js, the report's own
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('#transcripts img, #transcripts script').length"));
        Assert.False(await page.EvaluateAsync<bool>("() => [...document.querySelectorAll('#transcripts b')].some(b => b.textContent === 'bold?')"));
        var transcripts = await page.EvaluateAsync<string>("() => document.getElementById('transcripts').textContent");
        Assert.Contains("<script>window.__pwned = true;</script><img src=x onerror=\"window.__pwned = true\"> & </pre></details><b>bold?</b>", transcripts);
        Assert.True(await page.IsVisibleAsync("#simulated"));
        Assert.Empty(network);
        Assert.Empty(errors);

        var shot = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
        var artifacts = Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(artifacts);
        await File.WriteAllBytesAsync(Path.Combine(artifacts, "html-report.png"), shot, ct);
        TestContext.Current.AddAttachment("html-report.png", shot, "image/png");

        // the pull-request summary of the same run: a Mermaid chart of validation per step beside the receipt diff
        var markdown = await Tool.SkilloptAsync(dir.Path, null, "report", "--skill-file", skill, "--run", "run", "--out", "summary.md");
        Assert.True(markdown.ExitCode == 0, markdown.ToString());
        var md = File.ReadAllText(dir.Combine("summary.md"));
        Assert.Contains("```mermaid\nxychart-beta\n", md);
        Assert.Contains($"    x-axis \"step\" [{string.Join(", ", history.Where(h => h.Kind is "baseline" or "step").Select(h => h.Step ?? 0))}]\n", md);
        Assert.Contains($"The run measured this best skill `{summary.Best.Hash[..12]}`", md);
        Assert.Contains("```diff\n", md);
    }
}
