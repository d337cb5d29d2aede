using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Training;
using SkillOpt.Providers;
using SkillOpt.SimLab;
using YamlDotNet.RepresentationModel;

// SkillOpt.Bench: full SkillOpt.Core trainings against SimLab (SIMULATED target and optimizer models, in process, over
// HTTP through the real OpenAI adapter of SkillOpt.Providers), N seeds per (scenario, preset). All numbers are simulated.
return await SkillOpt.Bench.Bench.RunAsync(args);

namespace SkillOpt.Bench
{
    /// <summary>The parsed command line (defaults live on the options in <c>Bench</c>).</summary>
    internal sealed record BenchOptions
    {
        public required List<string> Scenarios { get; init; }
        public required List<string> Presets { get; init; }
        public required int Seeds { get; init; }
        public required int FirstSeed { get; init; }
        public required int Train { get; init; }
        public required int Val { get; init; }
        public required int Test { get; init; }
        public required int Epochs { get; init; }
        public required int Batch { get; init; }
        public required int Minibatch { get; init; }
        public required int SlowUpdateSample { get; init; }
        public required int Concurrency { get; init; }
        public string? Out { get; init; }
        public string? Work { get; init; }
        public bool Keep { get; init; }
        public bool Quiet { get; init; }
        public bool Diagnose { get; init; }
        public IReadOnlyList<string> Settings { get; init; } = [];
        public required string CommandLine { get; init; }
    }

    internal sealed record RunResult(string Scenario, string Preset, int Seed, double Seconds, long TargetCalls, long OptimizerCalls, long PromptTokens, long CompletionTokens,
        double InitialVal, double BestVal, double? InitialTest, double? BestTest, double ExpectedInitialTest, double ExpectedBestTest, int Accepted, int Rejected, int Inconclusive,
        int Steps, int BestSkillTokens, long Faults, string Splits, bool? FirstGateAccepted);

    internal static class Bench
    {
        public static Task<int> RunAsync(string[] args)
        {
            var root = Command();
            root.SetAction((parse, _) => RunAsync(Options(parse, args)));
            return root.Parse(args).InvokeAsync();
        }

        private static async Task<int> RunAsync(BenchOptions o)
        {
            var work = o.Work ?? Path.Combine(Path.GetTempPath(), "skillopt-bench-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(work);
            Console.Error.WriteLine($"SkillOpt.Bench: SIMULATED models (SimLab); runs in {work}");
            var results = new List<RunResult>();
            var total = Stopwatch.StartNew();
            foreach (var scenarioName in o.Scenarios)
            {
                foreach (var preset in o.Presets)
                {
                    for (var seed = o.FirstSeed; seed < o.FirstSeed + o.Seeds; seed++)
                    {
                        var r = await RunOneAsync(o, scenarioName, preset, seed, Path.Combine(work, $"{scenarioName}-{preset}-{seed:D3}")).ConfigureAwait(false);
                        results.Add(r);
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  {scenarioName}/{preset} seed {seed}: val {r.InitialVal:0.000}→{r.BestVal:0.000}, test {r.InitialTest:0.000}→{r.BestTest:0.000}, accepted {r.Accepted}, rejected {r.Rejected}, inconclusive {r.Inconclusive}, {r.TargetCalls}+{r.OptimizerCalls} calls, {r.Seconds:0.0}s"));
                    }
                }
            }
            total.Stop();
            var md = Report(o, results, total.Elapsed.TotalSeconds);
            Console.Out.Write(md);
            if (o.Out is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Out))!);
                File.WriteAllText(o.Out, md.Replace("\r\n", "\n", StringComparison.Ordinal), new UTF8Encoding(false));
                Console.Error.WriteLine($"wrote {o.Out}");
            }
            if (!o.Keep && o.Work is null)
            {
                Directory.Delete(work, recursive: true);
            }
            return 0;
        }

        /// <summary>The run's skillopt.yaml; <paramref name="batch"/> overrides <c>--batch</c> (a small scenario's scaled batch, see <see cref="Splits"/>).</summary>
        internal static string ConfigYaml(BenchOptions o, string preset, int seed, int? batch = null)
        {
            var yaml = string.Create(CultureInfo.InvariantCulture, $"""
                preset: {preset}
                seed: {seed}
                training:
                  epochs: {o.Epochs}
                  batch_size: {batch ?? o.Batch}
                  minibatch_size: {o.Minibatch}
                  optimizer_concurrency: 4
                  slow_update:
                    sample_size: {o.SlowUpdateSample}
                rollouts:
                  concurrency: {o.Concurrency}
                """);
            var settings = SettingsFor(o, preset);
            if (settings.Count == 0)
            {
                return yaml;
            }
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            var root = (YamlMappingNode)stream.Documents[0].RootNode;
            foreach (var setting in settings)
            {
                var eq = setting.IndexOf('=', StringComparison.Ordinal);
                var keys = setting[..eq].Split('.');
                var node = root;
                foreach (var key in keys[..^1])
                {
                    if (!node.Children.TryGetValue(key, out var child))
                    {
                        node.Add(key, child = new YamlMappingNode());
                    }
                    node = (YamlMappingNode)child;
                }
                node.Children[new YamlScalarNode(keys[^1])] = new YamlScalarNode(setting[(eq + 1)..]);
            }
            var writer = new StringWriter(CultureInfo.InvariantCulture);
            stream.Save(writer, assignAnchors: false);
            return writer.ToString().Replace("...", "", StringComparison.Ordinal).TrimEnd();
        }

        private static async Task<RunResult> RunOneAsync(BenchOptions o, string scenarioName, string preset, int seed, string folder)
        {
            var scenario = ScenarioLoader.Load(scenarioName).WithSeed(seed);
            var (splits, batch) = Splits(scenario, o, seed);
            var options = SkillOptConfigLoader.Parse(ConfigYaml(o, preset, seed, batch), "bench.yaml");
            await using var server = await SimLabServer.StartAsync(scenario).ConfigureAwait(false);
            var factory = new ChatClientFactory(_ => null);
            using var target = factory.Create("target", Role(server, scenario.Models.Target, o.Concurrency));
            using var optimizer = factory.Create("optimizer", Role(server, scenario.Models.Optimizer, 4));
            var runner = new SimLabRolloutRunner(scenario, target, o.Concurrency);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
            var loop = new SkillTrainingLoop(options, runner, optimizer, folder, optimizerOptions: new ChatOptions { ModelId = scenario.Models.Optimizer });
            var sw = Stopwatch.StartNew();
            var summary = await loop.RunAsync(scenario.InitialSkill, splits).ConfigureAwait(false);
            sw.Stop();
            var best = File.ReadAllText(Path.Combine(folder, "best_skill.md"));
            if (o.Diagnose)
            {
                Diagnose(scenario, splits, loop.Store, folder, $"{scenarioName}/{preset}/{seed}");
            }
            var st = server.Statistics;
            return new RunResult(scenarioName, preset, seed, sw.Elapsed.TotalSeconds, st.TargetCalls, st.OptimizerCalls, st.PromptTokens, st.CompletionTokens,
                summary.Initial.Validation ?? 0, summary.Best.Validation ?? 0, summary.Initial.Test, summary.Best.Test,
                SimLabOracle.ExpectedScore(scenario, scenario.InitialSkill, splits.Test), SimLabOracle.ExpectedScore(scenario, best, splits.Test),
                summary.Accepted, summary.Rejected, summary.Inconclusive, summary.Steps, summary.BestSkillTokens,
                st.RateLimited + st.ServerErrors + st.Timeouts + st.MalformedBodies + st.Truncated,
                $"{splits.Train.Count}/{splits.Validation.Count}/{splits.Test.Count}, batch {batch}", FirstGateAccepted(folder));
        }

        /// <summary>
        /// --diagnose: every gated candidate with its true effect on the validation tasks (SimLab's expected score, candidate
        /// minus current skill), so the gate's decisions can be read against the ground truth.
        /// </summary>
        private static void Diagnose(Scenario scenario, TaskSplits splits, SkillOpt.Core.Runs.RunStore store, string folder, string label)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "history.json")));
            string? current = null;
            // one gated candidate: a phase record's own, or the combination a step gated after it
            void Print(System.Text.Json.JsonElement e, string kind, int step, string candidate)
            {
                var delta = SimLabOracle.ExpectedScore(scenario, store.ReadSkill(candidate), splits.Validation) - SimLabOracle.ExpectedScore(scenario, store.ReadSkill(current!), splits.Validation);
                var tasks = e.TryGetProperty("validation", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Object && v.TryGetProperty("tasks", out var t) ? t.GetInt32() : 0;
                var reason = e.TryGetProperty("reason", out var r) ? r.GetString() ?? "" : "";
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    diag {label} {kind} {step}: true Δ {delta:+0.000;-0.000;0.000} {e.GetProperty("action").GetString()} after {tasks} tasks: {reason[..Math.Min(90, reason.Length)]}"));
            }
            foreach (var record in doc.RootElement.EnumerateArray())
            {
                var action = record.TryGetProperty("action", out var a) ? a.GetString() : null;
                var step = record.TryGetProperty("step", out var st) && st.ValueKind == System.Text.Json.JsonValueKind.Number ? st.GetInt32() : 0;
                if (current is not null && record.TryGetProperty("candidate_hash", out var c) && c.GetString() is { } candidate && action is "accept" or "reject" or "inconclusive")
                {
                    Print(record, record.GetProperty("kind").GetString()!, step, candidate);
                }
                if (current is not null && record.TryGetProperty("combination", out var combo) && combo.ValueKind == System.Text.Json.JsonValueKind.Object
                    && combo.TryGetProperty("candidate_hash", out var ch) && ch.GetString() is { } comboHash)
                {
                    Print(combo, "combination", step, comboHash);
                }
                if (record.TryGetProperty("current_hash", out var h) && h.GetString() is { } hash)
                {
                    current = hash;
                }
            }
        }

        /// <summary>Whether the run's first gate decision accepted (null when no candidate was gated).</summary>
        private static bool? FirstGateAccepted(string folder)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "history.json")));
            foreach (var record in doc.RootElement.EnumerateArray())
            {
                var action = record.TryGetProperty("action", out var a) ? a.GetString() : null;
                if (action is "accept" or "reject" or "inconclusive")
                {
                    return action == "accept";
                }
            }
            return null;
        }

        private static ModelRoleOptions Role(SimLabServer server, string model, int concurrency) => new()
        {
            Provider = "openai-compatible",
            Model = model,
            Endpoint = server.BaseUrl,
            Concurrency = concurrency,
            TimeoutSeconds = 60,
            MaxRetries = 6,
        };

        /// <summary>
        /// Train / validation / test task ids (the scenario's tasks ordered by SHA-256 of (seed, id), then cut) and the
        /// training batch. A scenario with fewer tasks than the three splits ask for gets all three scaled down by the same
        /// factor, and the batch too, so one validation still costs the same multiple of a step's rollouts as asked for
        /// (without it, 60 tasks at 400/200/200 with batch 40 gave 30/15/15 with every training task in each step: validation at
        /// 0.5× a step's rollouts instead of 5×).
        /// </summary>
        internal static (TaskSplits Splits, int Batch) Splits(Scenario scenario, BenchOptions o, int seed)
        {
            var ordered = scenario.ResolvedTasks.Select(t => t.Id)
                .OrderBy(id => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}|split|{id}"))), StringComparer.Ordinal).ToList();
            var (train, val, test, batch) = (o.Train, o.Val, o.Test, o.Batch);
            if (train + val + test > ordered.Count)
            {
                // a small scenario: scale the three sizes and the batch down proportionally
                var f = (double)ordered.Count / (train + val + test);
                (train, val) = ((int)(train * f), (int)(val * f));
                test = Math.Min((int)(test * f), ordered.Count - train - val);
                batch = Math.Max(1, (int)Math.Round(batch * f, MidpointRounding.AwayFromZero));
            }
            return (new TaskSplits(ordered.Take(train).ToList(), ordered.Skip(train).Take(val).ToList(), ordered.Skip(train + val).Take(test).ToList()), batch);
        }

        private static readonly Option<string> ScenarioOption = new("--scenario") { Description = "Comma-separated SimLab scenarios.", DefaultValueFactory = _ => "gsm8k,null-optimizer" };
        private static readonly Option<string> PresetOption = new("--preset") { Description = "Comma-separated presets: classic, default.", DefaultValueFactory = _ => "classic,default" };
        private static readonly Option<int> SeedsOption = Count("--seeds", "Seeds per (scenario, preset).", 20);
        private static readonly Option<int> FirstSeedOption = Count("--first-seed", "First seed.", 1);
        private static readonly Option<int> TrainOption = Count("--train", "Training tasks per run.", 80);
        private static readonly Option<int> ValOption = Count("--val", "Validation tasks per run.", 40);
        private static readonly Option<int> TestOption = Count("--test", "Test tasks per run.", 80);
        private static readonly Option<int?> TasksOption = new("--tasks") { Description = "Total tasks, split 40/30/30 into train/validation/test (overrides --train/--val/--test)." };
        private static readonly Option<int> EpochsOption = Count("--epochs", "Epochs.", 4);
        private static readonly Option<int> BatchOption = Count("--batch", "Training tasks per step (scaled down with the splits for a scenario with fewer tasks).", 20);
        private static readonly Option<int> MinibatchOption = Count("--minibatch", "Trajectories per reflection call.", 8);
        /// <summary>The --set settings for one preset: unprefixed ones, and "preset:key=value" ones of that preset.</summary>
        private static List<string> SettingsFor(BenchOptions o, string preset) =>
            [.. o.Settings.Where(s => PresetOf(s) is null || PresetOf(s) == preset).Select(s => PresetOf(s) is { } p ? s[(p.Length + 1)..] : s)];

        private static string? PresetOf(string setting) =>
            setting.IndexOf(':', StringComparison.Ordinal) is var c and > 0 && c < setting.IndexOf('=', StringComparison.Ordinal) ? setting[..c] : null;

        private static readonly Option<int> SlowUpdateOption = Count("--slow-update-sample", "Training tasks of the slow update.", 20);
        private static readonly Option<int> ConcurrencyOption = Count("--concurrency", "Target calls side by side.", 8);
        private static readonly Option<string?> OutOption = new("--out") { Description = "Markdown file to write the report to." };
        private static readonly Option<string?> WorkOption = new("--work") { Description = "Folder for the run folders (kept)." };
        private static readonly Option<bool> KeepOption = new("--keep") { Description = "Keep the temporary run folders." };
        private static readonly Option<bool> QuietOption = new("--quiet") { Description = "Less progress output." };
        private static readonly Option<bool> DiagnoseOption = new("--diagnose") { Description = "Print every gated candidate with its true effect (SimLab's oracle) beside the gate's verdict." };
        private static readonly Option<string[]> SetOption = SetSettings();

        private static Option<string[]> SetSettings()
        {
            var option = new Option<string[]>("--set") { Description = "A skillopt.yaml setting for every run, as dotted.key=value (repeatable), e.g. training.early_stopping.patience=20; preset:dotted.key=value for that preset's runs only, e.g. default:training.proposals=2.", Arity = ArgumentArity.ZeroOrMore };
            option.Validators.Add(r =>
            {
                foreach (var s in r.GetValueOrDefault<string[]>() ?? [])
                {
                    var key = PresetOf(s) is { } p ? s[(p.Length + 1)..] : s;
                    if (key.IndexOf('=', StringComparison.Ordinal) is <= 0 || key.Split('=')[0].Split('.').Any(k => k.Length == 0))
                    {
                        r.AddError($"--set needs dotted.key=value or preset:dotted.key=value, got '{s}'");
                    }
                    else if (PresetOf(s) is { } q && q is not ("classic" or "default"))
                    {
                        r.AddError($"--set: unknown preset '{q}' in '{s}' (classic, default)");
                    }
                }
            });
            return option;
        }

        private static Option<int> Count(string name, string description, int defaultValue)
        {
            var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
            option.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<int>() < 0)
                {
                    r.AddError($"{name} needs a non-negative integer");
                }
            });
            return option;
        }

        private static RootCommand Command()
        {
            var root = new RootCommand("SkillOpt.Bench: full trainings against SimLab (SIMULATED target and optimizer models), N seeds per (scenario, preset).");
            foreach (var option in new Option[] { ScenarioOption, PresetOption, SeedsOption, FirstSeedOption, TrainOption, ValOption, TestOption, TasksOption, EpochsOption, BatchOption,
                MinibatchOption, SlowUpdateOption, ConcurrencyOption, OutOption, WorkOption, KeepOption, QuietOption, DiagnoseOption, SetOption })
            {
                root.Options.Add(option);
            }
            root.Validators.Add(r =>
            {
                foreach (var p in List(r.GetValue(PresetOption)).Where(p => p is not ("classic" or "default")))
                {
                    r.AddError($"unknown preset '{p}' (classic, default)");
                }
            });
            return root;
        }

        private static List<string> List(string? value) => (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

        private static BenchOptions Options(ParseResult p, string[] args)
        {
            var o = new BenchOptions
            {
                Scenarios = List(p.GetValue(ScenarioOption)),
                Presets = List(p.GetValue(PresetOption)),
                Seeds = p.GetValue(SeedsOption),
                FirstSeed = p.GetValue(FirstSeedOption),
                Train = p.GetValue(TrainOption),
                Val = p.GetValue(ValOption),
                Test = p.GetValue(TestOption),
                Epochs = p.GetValue(EpochsOption),
                Batch = p.GetValue(BatchOption),
                Minibatch = p.GetValue(MinibatchOption),
                SlowUpdateSample = p.GetValue(SlowUpdateOption),
                Concurrency = p.GetValue(ConcurrencyOption),
                Out = p.GetValue(OutOption),
                Work = p.GetValue(WorkOption),
                Keep = p.GetValue(KeepOption),
                Quiet = p.GetValue(QuietOption),
                Diagnose = p.GetValue(DiagnoseOption),
                Settings = p.GetValue(SetOption) ?? [],
                CommandLine = "dotnet run -c Release --project bench/SkillOpt.Bench --" + string.Concat(args.Select(a => " " + (a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a))),
            };
            return p.GetValue(TasksOption) is { } n ? o with { Train = n * 2 / 5, Val = n * 3 / 10, Test = n - n * 2 / 5 - n * 3 / 10 } : o;
        }

        // ------------------------------------------------------------------ report

        private static string Report(BenchOptions o, List<RunResult> results, double seconds)
        {
            var sb = new StringBuilder();
            var inv = CultureInfo.InvariantCulture;
            sb.AppendLine("# Benchmarks (simulated)");
            sb.AppendLine();
            sb.AppendLine("**All numbers on this page are SIMULATED: they were produced against SimLab, a deterministic simulation of a target model and an optimizer model (`src/SkillOpt.SimLab`), not against any language model. They measure the optimisation loop's mechanics (calls, tokens, gate decisions) in a world with known ground truth; they say nothing about real model quality.**");
            sb.AppendLine();
            sb.AppendLine("Each run is a full `SkillTrainingLoop` (SkillOpt.Core) against an in-process SimLab server over HTTP, through the OpenAI adapter and resilience pipeline of SkillOpt.Providers (`openai-compatible`). Rollouts call the simulated target directly (`SimLabRolloutRunner`): no verifier processes are involved, so process start-up and test-framework time are not included.");
            sb.AppendLine();
            sb.AppendLine("Command:");
            sb.AppendLine();
            sb.AppendLine("```");
            sb.AppendLine(o.CommandLine);
            sb.AppendLine("```");
            sb.AppendLine();
            sb.AppendLine(string.Create(inv, $"Date: {DateTime.UtcNow:yyyy-MM-dd} (UTC). Seeds {o.FirstSeed}–{o.FirstSeed + o.Seeds - 1} (the seed is both the run seed and the SimLab scenario seed, so each seed is a different noise draw and task split). Splits per run: {o.Train} train / {o.Val} validation / {o.Test} test tasks drawn from the scenario by seed (scaled down proportionally for scenarios with fewer tasks, the batch with them); batch {o.Batch}, so one validation of the whole split costs {o.Val / (double)Math.Max(1, o.Batch):0.#}× a step's rollouts (the reference's default 400/200 split with batch 40: 5×). Total wall time {seconds:0} s on {Environment.ProcessorCount} cores."));
            sb.AppendLine();
            sb.AppendLine("Training configuration (besides `preset` and `seed`, everything else is the preset's default):");
            sb.AppendLine();
            sb.AppendLine("```yaml");
            sb.AppendLine(ConfigYaml(o, "<preset>", 0).Replace("seed: 0", "seed: <seed>", StringComparison.Ordinal));
            sb.AppendLine("```");
            foreach (var only in o.Settings.Where(x => PresetOf(x) is not null))
            {
                sb.AppendLine();
                sb.AppendLine($"The `{PresetOf(only)}` preset's runs also set `{only[(PresetOf(only)!.Length + 1)..]}`.");
            }
            sb.AppendLine();
            sb.AppendLine("Columns: means over seeds (± standard deviation). *calls* are HTTP requests SimLab completed (faults excluded; optimizer repairs included); *tokens* are SimLab's simulated counts (about 4 characters a token). *val*/*test* are measured scores of the initial → best skill. *E[test]* is the simulation's ground truth: the expected test score of the skill (mean success probability over the test tasks), free of sampling noise. *false-accept rate* = accepted candidates / gated candidates, pooled over seeds; it is only a false-accept rate on `null-optimizer`, where no edit can change any success probability. *first-gate accept rate* = share of runs whose first gated candidate was accepted (on `null-optimizer`: the false-accept probability of one useless edit against a freshly measured incumbent).");
            sb.AppendLine();
            sb.AppendLine("| scenario | preset | seeds | tasks (train/val/test), batch | target calls | optimizer calls | tokens (in / out) | wall s | val initial → best | test initial → best | E[test] initial → best | accepted | rejected | inconclusive | accept rate (false-accept on null) | first-gate accept rate | best skill tokens |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var g in results.GroupBy(r => (r.Scenario, r.Preset)))
            {
                var rs = g.ToList();
                var gated = rs.Sum(r => r.Accepted + r.Rejected + r.Inconclusive);
                var firsts = rs.Where(r => r.FirstGateAccepted is not null).ToList();
                var first = firsts.Count == 0 ? "n/a" : string.Create(inv, $"{firsts.Count(r => r.FirstGateAccepted == true) / (double)firsts.Count:0.00} ({firsts.Count(r => r.FirstGateAccepted == true)}/{firsts.Count})");
                var rate = gated == 0 ? "n/a" : string.Create(inv, $"{(double)rs.Sum(r => r.Accepted) / gated:0.000} ({rs.Sum(r => r.Accepted)}/{gated})");
                sb.AppendLine(string.Create(inv,
                    $"| {g.Key.Scenario} | {g.Key.Preset} | {rs.Count} | {string.Join(", ", rs.Select(r => r.Splits).Distinct())} | {M(rs, r => r.TargetCalls, "0")} | {M(rs, r => r.OptimizerCalls, "0")} | {Mean(rs, r => r.PromptTokens):0} / {Mean(rs, r => r.CompletionTokens):0} | {M(rs, r => r.Seconds, "0.0")} | {Mean(rs, r => r.InitialVal):0.000} → {M(rs, r => r.BestVal, "0.000")} | {Mean(rs, r => r.InitialTest ?? 0):0.000} → {M(rs, r => r.BestTest ?? 0, "0.000")} | {Mean(rs, r => r.ExpectedInitialTest):0.000} → {M(rs, r => r.ExpectedBestTest, "0.000")} | {M(rs, r => r.Accepted, "0.00")} | {M(rs, r => r.Rejected, "0.00")} | {M(rs, r => r.Inconclusive, "0.00")} | {rate} | {first} | {M(rs, r => r.BestSkillTokens, "0")} |"));
            }
            sb.AppendLine();
            Compare(sb, results);
            sb.AppendLine("Per-seed results:");
            sb.AppendLine();
            sb.AppendLine("| scenario | preset | seed | val initial → best | test initial → best | E[test] initial → best | accepted / rejected / inconclusive | target + optimizer calls | wall s |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var r in results)
            {
                sb.AppendLine(string.Create(inv,
                    $"| {r.Scenario} | {r.Preset} | {r.Seed} | {r.InitialVal:0.000} → {r.BestVal:0.000} | {r.InitialTest ?? 0:0.000} → {r.BestTest ?? 0:0.000} | {r.ExpectedInitialTest:0.000} → {r.ExpectedBestTest:0.000} | {r.Accepted} / {r.Rejected} / {r.Inconclusive} | {r.TargetCalls} + {r.OptimizerCalls} | {r.Seconds:0.0} |"));
            }
            sb.AppendLine();
            sb.AppendLine("*Simulated with SimLab; not model results.*");
            return sb.ToString();
        }

        /// <summary>
        /// The default preset against classic per scenario, over the seeds both ran: change in mean target calls (and the seeds
        /// where default used fewer), mean test and E[test] differences with a paired 95% t interval over seeds, and accept rates.
        /// </summary>
        private static void Compare(StringBuilder sb, List<RunResult> results)
        {
            var inv = CultureInfo.InvariantCulture;
            var scenarios = results.Select(r => r.Scenario).Distinct().ToList();
            var rows = new List<string>();
            foreach (var scenario in scenarios)
            {
                var classic = results.Where(r => r.Scenario == scenario && r.Preset == "classic").ToDictionary(r => r.Seed);
                var paired = results.Where(r => r.Scenario == scenario && r.Preset == "default" && classic.ContainsKey(r.Seed)).Select(r => (C: classic[r.Seed], D: r)).ToList();
                if (paired.Count == 0)
                {
                    continue;
                }
                var cCalls = paired.Average(p => (double)p.C.TargetCalls);
                var dCalls = paired.Average(p => (double)p.D.TargetCalls);
                var fewer = paired.Count(p => p.D.TargetCalls < p.C.TargetCalls);
                string Diff(Func<RunResult, double> f)
                {
                    var d = paired.Select(p => f(p.D) - f(p.C)).ToList();
                    var m = d.Average();
                    var half = d.Count < 2 ? 0 : MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, d.Count - 1, 0.975) * Math.Sqrt(d.Sum(x => (x - m) * (x - m)) / (d.Count - 1) / d.Count);
                    return string.Create(inv, $"{paired.Average(p => f(p.C)):0.000} → {paired.Average(p => f(p.D)):0.000} ({m:+0.000;-0.000;0.000}, 95% CI [{m - half:+0.000;-0.000;0.000}, {m + half:+0.000;-0.000;0.000}])");
                }
                string Rate(Func<(RunResult C, RunResult D), RunResult> pick)
                {
                    var gated = paired.Sum(p => pick(p).Accepted + pick(p).Rejected + pick(p).Inconclusive);
                    return gated == 0 ? "n/a" : string.Create(inv, $"{(double)paired.Sum(p => pick(p).Accepted) / gated:0.000}");
                }
                rows.Add(string.Create(inv, $"| {scenario} | {paired.Count} | {cCalls:0} → {dCalls:0} ({(dCalls - cCalls) / cCalls:+0%;-0%}; fewer in {fewer}/{paired.Count} seeds) | {Diff(r => r.BestTest ?? 0)} | {Diff(r => r.ExpectedBestTest)} | {Rate(p => p.C)} → {Rate(p => p.D)} |"));
            }
            if (rows.Count == 0)
            {
                return;
            }
            sb.AppendLine("Default against classic (same seeds, so the same task splits and SimLab noise draws; differences are default − classic, with a paired 95% t interval over seeds):");
            sb.AppendLine();
            sb.AppendLine("| scenario | seeds | target calls classic → default | test score of the best skill | E[test] of the best skill | accept rate (false-accept on null) |");
            sb.AppendLine("|---|---|---|---|---|---|");
            rows.ForEach(r => sb.AppendLine(r));
            sb.AppendLine();
        }

        private static double Mean(List<RunResult> rs, Func<RunResult, double> f) => rs.Count == 0 ? 0 : rs.Average(f);

        private static string M(List<RunResult> rs, Func<RunResult, double> f, string format)
        {
            var m = Mean(rs, f);
            var sd = rs.Count < 2 ? 0 : Math.Sqrt(rs.Sum(r => Math.Pow(f(r) - m, 2)) / (rs.Count - 1));
            return m.ToString(format, CultureInfo.InvariantCulture) + " ± " + sd.ToString(format, CultureInfo.InvariantCulture);
        }
    }
}
