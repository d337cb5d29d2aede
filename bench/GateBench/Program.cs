using System.CommandLine;
using System.Globalization;
using System.Text;
using MathNet.Numerics.Distributions;
using SkillOpt.Core.Gates;

// GateBench: a gate-level simulation of training runs (SIMULATED worlds, no model, no loop): the sequence of gated candidates
// of a run, decided by the reference's strict gate or by SkillOpt.Core's paired gates, in worlds with many small effects.
return GateBench.Cli.Run(args);

namespace GateBench
{
    internal static class Cli
    {
        public static int Run(string[] args)
        {
            var worlds = new Option<string[]>("--world") { Description = $"Worlds ({string.Join(", ", WorldConfig.All.Select(w => w.Name))}); default small-effects.", AllowMultipleArgumentsPerToken = true };
            var shapes = new Option<string[]>("--shape") { Description = "Shapes: small (120/60/60, batch 12, 2 epochs), reference (400/200/200, batch 40, 4 epochs), small-long (small splits, 4 epochs) and reference-short (reference splits, 2 epochs), or train/val/test/batch/epochs (e.g. 240/100/100/24/2); default small.", AllowMultipleArgumentsPerToken = true };
            var policies = new Option<string[]>("--policy") { Description = "Policies, name:key=value,…; a|b alternatives expand (default: reference default posterior).", AllowMultipleArgumentsPerToken = true };
            var seeds = new Option<int>("--seeds") { Description = "Seeds per (world, shape, policy) (default 20).", DefaultValueFactory = _ => 20 };
            var firstSeed = new Option<int>("--first-seed") { Description = "First seed (default 1; docs/method.md tuned on 1–300 and confirmed on 1001–1100 and 2001–2300).", DefaultValueFactory = _ => 1 };
            var approvalDraws = new Option<int>("--approval-draws") { Description = "Draws of the test split per skill in the approval comparison (default 1).", DefaultValueFactory = _ => 1 };
            var approvalAlpha = new Option<double>("--approval-alpha") { Description = "One-sided α of the approval's sign test (default 0.05).", DefaultValueFactory = _ => 0.05 };
            var diagnose = new Option<bool>("--diagnose") { Description = "Print every gated candidate with its true gain and win share beside the verdict." };
            var sort = new Option<bool>("--sort") { Description = "Sort each table by E[test] (for tuning grids)." };
            var output = new Option<string?>("--out") { Description = "Also write the Markdown report to this file." };
            var root = new RootCommand("Gate-level simulation of training runs' accept decisions (SIMULATED).")
            {
                worlds, shapes, policies, seeds, firstSeed, approvalDraws, approvalAlpha, diagnose, sort, output,
            };
            root.SetAction(parse =>
            {
                var ws = (parse.GetValue(worlds) is { Length: > 0 } w ? w : ["small-effects"]).Select(WorldConfig.Named).ToList();
                var ss = (parse.GetValue(shapes) is { Length: > 0 } s ? s : ["small"]).Select(Shape.Named).ToList();
                var ps = (parse.GetValue(policies) is { Length: > 0 } p ? p : ["reference", "default", "posterior"]).SelectMany(PolicySpec.Expand).Select(PolicySpec.Parse).ToList();
                var report = Execute(ws, ss, ps, parse.GetValue(firstSeed), parse.GetValue(seeds), parse.GetValue(approvalDraws), parse.GetValue(approvalAlpha), parse.GetValue(diagnose), parse.GetValue(sort), args);
                Console.Out.Write(report);
                if (parse.GetValue(output) is { } file)
                {
                    File.WriteAllText(file, report, new UTF8Encoding(false));
                }
                return 0;
            });
            return root.Parse(args).Invoke();
        }

        private static string Execute(List<WorldConfig> worlds, List<Shape> shapes, List<PolicySpec> policies, int firstSeed, int seeds, int approvalDraws, double approvalAlpha,
            bool diagnose, bool sort, string[] args)
        {
            var ci = CultureInfo.InvariantCulture;
            var sb = new StringBuilder();
            sb.Append("# GateBench (SIMULATED)\n\n`dotnet run -c Release --project bench/GateBench -- ").Append(string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a))).Append("`\n\n");
            sb.Append(ci, $"Seeds {firstSeed}–{firstSeed + seeds - 1}. E[test]: the true expected test score of the returned skill (mean ± sd over seeds); Δ: paired difference to the first policy (mean and 95% t interval); ")
              .Append("calls: target calls of training (rollouts, pre-screen, validation, test) and of them validation; good: gated candidates whose true validation gain is above +0.02 (accepted / gated); ")
              .Append("useless acc.: share of gated candidates with true gain ≤ 0 that were accepted; approval: runs whose received skill the test-split sign test shows better / runs that changed the skill (of which truly better on the test split).\n\n");
            foreach (var world in worlds)
            {
                foreach (var shape in shapes)
                {
                    var runs = policies.Select(p => Enumerable.Range(firstSeed, seeds).Select(seed =>
                    {
                        var w = new World(world, shape, seed);
                        return new Simulation(w, shape, p, seed, diagnose, approvalDraws, approvalAlpha).Run();
                    }).ToList()).ToList();
                    if (diagnose)
                    {
                        foreach (var r in runs.SelectMany(x => x))
                        {
                            foreach (var line in r.Diagnostics)
                            {
                                Console.Error.WriteLine($"  {r.Policy} seed {r.Seed}: {line}");
                            }
                        }
                    }
                    sb.Append(ci, $"## {world.Name}, {shape.Name} ({shape})\n\n{world.Description}.\n\n");
                    var all = runs.SelectMany(x => x).ToList();
                    var good = all.Sum(r => r.GoodGated);
                    sb.Append(ci, $"Initial E[test] {all.Average(r => r.InitialTest):0.000}; gated good candidates: mean true gain {(good == 0 ? 0 : all.Sum(r => r.GoodGainSum) / good):+0.000}, mean win share of their discordant pairs {(good == 0 ? 0 : all.Sum(r => r.GoodWinShareSum) / good):0.00}.\n\n");
                    sb.Append("| policy | E[test] | Δ E[test] | calls | val calls (incumbent) | × calls | acc./run | good acc. | useless acc. | harmful acc. | procedures | edits | approval shown | stopped early |\n");
                    sb.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
                    var baseline = runs[0];
                    var rows = runs.Select(r => (Runs: r, Mean: r.Average(x => x.FinalTest))).ToList();
                    if (sort)
                    {
                        rows = [rows[0], .. rows.Skip(1).OrderByDescending(x => x.Mean)];
                    }
                    foreach (var (r, _) in rows)
                    {
                        var diffs = r.Zip(baseline, (a, b) => a.FinalTest - b.FinalTest).ToList();
                        var (dm, dh) = MeanHalfWidth(diffs);
                        var calls = r.Average(x => (double)x.TrainingCalls);
                        var gGood = r.Sum(x => x.GoodGated);
                        var gNon = r.Sum(x => x.NonImprovingGated);
                        var gHarm = r.Sum(x => x.HarmfulGated);
                        var compared = r.Count(x => x.ApprovalCompared);
                        sb.Append(ci, $"| `{r[0].Policy}` | {r.Average(x => x.FinalTest):0.000} ± {Sd(r.Select(x => x.FinalTest)):0.000} | {dm:+0.000;-0.000;0.000} [{dm - dh:+0.000;-0.000;0.000}, {dm + dh:+0.000;-0.000;0.000}] | {calls:0} | {r.Average(x => (double)x.ValidationCalls):0} ({r.Average(x => (double)x.IncumbentCalls):0}) | {calls / baseline.Average(x => (double)x.TrainingCalls):0.00} | ")
                          .Append(ci, $"{r.Average(x => (double)x.Accepted):0.0} | {r.Sum(x => x.GoodAccepted)}/{gGood} | {Share(r.Sum(x => x.NonImprovingAccepted), gNon)} | {r.Sum(x => x.HarmfulAccepted)}/{gHarm} | {r.Average(x => (double)x.UsefulProcedures):0.0} | {r.Average(x => (double)x.FinalEdits):0.0} | ")
                          .Append(ci, $"{r.Count(x => x.ApprovalShownBetter)}/{compared} ({r.Count(x => x.ApprovalCompared && x.TrulyBetter)}) | {r.Count(x => x.StoppedAfterStep is not null)}/{r.Count} |\n");
                    }
                    sb.Append('\n');
                    if (world.Procedures == 0)
                    {
                        // the approval's false-accept rate on the null world: received judged better when it is not
                        sb.Append("Approval false accepts on the null world (received skill judged better when it is not; one-sided 95% Clopper–Pearson upper bound):\n\n");
                        sb.Append("| policy | per run | per comparison |\n|---|---:|---:|\n");
                        foreach (var r in runs)
                        {
                            var fa = r.Count(x => x.ApprovalShownBetter && !x.TrulyBetter);
                            var cmp = r.Count(x => x.ApprovalCompared);
                            sb.Append(ci, $"| `{r[0].Policy}` | {fa}/{r.Count} = {(double)fa / r.Count:0.0000} (≤ {PairedStatistics.FailureRateUpperBound(fa, r.Count, 0.05):0.0000}) | {fa}/{cmp} = {(cmp == 0 ? 0 : (double)fa / cmp):0.0000} (≤ {(cmp == 0 ? 1 : PairedStatistics.FailureRateUpperBound(fa, cmp, 0.05)):0.0000}) |\n");
                        }
                        sb.Append('\n');
                    }
                }
            }
            return sb.ToString();
        }

        private static string Share(int k, int n) => n == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{(double)k / n:0.00} ({k}/{n})");

        private static double Sd(IEnumerable<double> xs)
        {
            var list = xs.ToList();
            if (list.Count < 2)
            {
                return 0;
            }
            var m = list.Average();
            return Math.Sqrt(list.Sum(x => (x - m) * (x - m)) / (list.Count - 1));
        }

        private static (double Mean, double HalfWidth) MeanHalfWidth(IReadOnlyList<double> xs)
        {
            var m = xs.Average();
            return xs.Count < 2 ? (m, 0) : (m, StudentT.InvCDF(0, 1, xs.Count - 1, 0.975) * Sd(xs) / Math.Sqrt(xs.Count));
        }
    }
}
