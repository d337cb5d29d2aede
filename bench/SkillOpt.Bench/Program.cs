// Longer than 400 lines: the benchmark command: options, the run matrix, resume and the docs/benchmarks.md writer in one program.
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Training;
using SkillOpt.Providers;
using SkillOpt.SimLab;
using YamlDotNet.RepresentationModel;

// SkillOpt.Bench: full SkillOpt.Core trainings against SimLab (SIMULATED target and optimizer models, in process, over
// HTTP through the real OpenAI adapter of SkillOpt.Providers), N seeds per (shape, scenario, preset). All numbers are simulated.
return await SkillOpt.Bench.Bench.RunAsync(args);

namespace SkillOpt.Bench
{
    /// <summary>The parsed command line (defaults live on the options in <c>Bench</c>).</summary>
    internal sealed record BenchOptions
    {
        public required List<string> Scenarios { get; init; }
        public required List<string> Presets { get; init; }
        public required List<Shape> Shapes { get; init; }
        public required int Seeds { get; init; }
        public required int FirstSeed { get; init; }
        public int? LastTuningSeed { get; init; }
        public required int Minibatch { get; init; }
        public required int SlowUpdateSample { get; init; }
        public required int Concurrency { get; init; }
        public int Parallel { get; init; } = 1;
        public string? Out { get; init; }
        public string? Results { get; init; }
        public bool Resume { get; init; }
        public bool ReportOnly { get; init; }
        public bool PerSeed { get; init; }
        public string? Work { get; init; }
        public bool Keep { get; init; }
        public bool Quiet { get; init; }
        public bool Diagnose { get; init; }
        public IReadOnlyList<string> Settings { get; init; } = [];
        public int OptimizerDraw { get; init; }
        public bool MeasureApprovalSize { get; init; }
        public int TestDraws { get; init; } = 1;
        public required string CommandLine { get; init; }
    }

    /// <summary>One invocation of the bench, as the results file keeps it.</summary>
    internal sealed record Invocation(string Command, string Date, double Seconds, int Runs, int Cores);

    /// <summary>The results file (<c>--results</c>): every run measured so far, by (shape, scenario, preset, seed).</summary>
    internal sealed record ResultsFile
    {
        public int SchemaVersion { get; init; } = 1;
        public List<Invocation> Invocations { get; init; } = [];
        public List<RunResult> Runs { get; init; } = [];
    }

    internal static class Bench
    {
        private static readonly JsonSerializerOptions Json = new()
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };

        public static Task<int> RunAsync(string[] args)
        {
            var root = Command();
            root.SetAction((parse, _) => RunAsync(Options(parse, args)));
            return root.Parse(args).InvokeAsync();
        }

        private static async Task<int> RunAsync(BenchOptions o)
        {
            if (o.MeasureApprovalSize)
            {
                ApprovalSize.Run(Console.Out, o.Shapes, o.Scenarios, o.FirstSeed, o.Seeds, o.TestDraws);
                return 0;
            }
            var file = o.Results is not null && File.Exists(o.Results) ? JsonSerializer.Deserialize<ResultsFile>(File.ReadAllText(o.Results), Json) ?? new ResultsFile() : new ResultsFile();
            var results = file.Runs.ToDictionary(r => r.Key, StringComparer.Ordinal);
            var total = Stopwatch.StartNew();
            var ran = 0;
            if (!o.ReportOnly)
            {
                var work = o.Work ?? Path.Combine(Path.GetTempPath(), "skillopt-bench-" + Guid.NewGuid().ToString("N")[..8]);
                Directory.CreateDirectory(work);
                Console.Error.WriteLine($"SkillOpt.Bench: SIMULATED models (SimLab); runs in {work}");
                var matrix = (from shape in o.Shapes
                              from scenario in o.Scenarios
                              from preset in o.Presets
                              from seed in Enumerable.Range(o.FirstSeed, o.Seeds)
                              select (shape, scenario, preset, seed)).ToList();
                if (o.Resume)
                {
                    matrix = matrix.Where(m => !results.ContainsKey($"{m.shape.Name}|{m.scenario}|{Label(m.preset, o.OptimizerDraw)}|{m.seed}")).ToList();
                    Console.Error.WriteLine($"  --resume: {matrix.Count} runs to go");
                }
                var gate = new object();
                await Parallel.ForEachAsync(matrix, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, o.Parallel) }, async (m, _) =>
                {
                    var folder = Path.Combine(work, $"{m.shape.Name}-{m.scenario}-{Label(m.preset, o.OptimizerDraw)}-{m.seed:D3}");
                    var (r, diagnosis) = await RunOneAsync(o, m.shape, m.scenario, m.preset, m.seed, folder).ConfigureAwait(false);
                    if (!o.Keep && o.Work is null)
                    {
                        Directory.Delete(folder, recursive: true);
                    }
                    lock (gate)
                    {
                        results[r.Key] = r;
                        ran++;
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  [{ran}/{matrix.Count}] {m.shape.Name} {m.scenario}/{m.preset} seed {m.seed}: val {r.InitialVal:0.000}→{r.BestVal:0.000}, E[test] {r.ExpectedInitialTest:0.000}→{r.ExpectedBestTest:0.000}, accepted {r.Accepted}, rejected {r.Rejected}, inconclusive {r.Inconclusive}, {r.TargetCalls}+{r.OptimizerCalls} calls, {r.Seconds:0.0}s"));
                        if (diagnosis is not null)
                        {
                            Console.Error.Write(diagnosis);
                        }
                        if (o.Results is not null && (ran % 10 == 0 || ran == matrix.Count))
                        {
                            Save(o.Results, file with { Runs = [.. results.Values] });
                        }
                    }
                }).ConfigureAwait(false);
                if (!o.Keep && o.Work is null)
                {
                    Directory.Delete(work, recursive: true);
                }
                total.Stop();
                file.Invocations.Add(new Invocation(o.CommandLine, DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Math.Round(total.Elapsed.TotalSeconds), ran, Environment.ProcessorCount));
                if (o.Results is not null)
                {
                    Save(o.Results, file with { Runs = [.. results.Values] });
                    Console.Error.WriteLine($"wrote {o.Results}");
                }
            }

            var runs = results.Values.OrderBy(r => r.Shape, StringComparer.Ordinal).ThenBy(r => o.Scenarios.IndexOf(r.Scenario) is var i and >= 0 ? i : 99).ThenBy(r => r.Scenario, StringComparer.Ordinal)
                .ThenBy(r => Variant.All.ToList().FindIndex(v => v.Name == r.Preset)).ThenBy(r => r.Seed).ToList();
            var header = new List<string> { "Measured with:", "" };
            header.AddRange(file.Invocations.Select(i => string.Create(CultureInfo.InvariantCulture, $"- `{i.Command}` ({i.Date}, {i.Runs} runs, {i.Seconds:0} s on {i.Cores} cores)")));
            header.Add("");
            header.Add(ConfigDescription(o, runs.Select(r => r.Preset).Distinct().ToList()));
            var generated = BenchReport.Generate(runs, new ReportContext([Shape.Reference, Shape.Small, .. o.Shapes], o.LastTuningSeed, o.PerSeed, file.Invocations.Count > 0 ? header : []));
            if (o.Out is not null)
            {
                var existing = File.Exists(o.Out) ? File.ReadAllText(o.Out) : null;
                var page = BenchReport.Merge(existing, generated, "Benchmarks (simulated)");
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Out))!);
                File.WriteAllText(o.Out, page.Replace("\r\n", "\n", StringComparison.Ordinal), new UTF8Encoding(false));
                Console.Error.WriteLine($"wrote {o.Out}");
            }
            else
            {
                Console.Out.Write(generated);
            }
            return 0;
        }

        private static void Save(string path, ResultsFile file)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var temp = path + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(file, Json), new UTF8Encoding(false));
            File.Move(temp, path, overwrite: true);
        }

        private static string ConfigDescription(BenchOptions o, IReadOnlyList<string> presets)
        {
            var sb = new StringBuilder();
            sb.Append(string.Create(CultureInfo.InvariantCulture,
                $"Every run is a full `SkillTrainingLoop` against an in-process SimLab server over HTTP (the OpenAI adapter and resilience pipeline of SkillOpt.Providers); rollouts call the simulated target directly (no verifier processes). Training configuration besides the shape's epochs and batch, `preset` and `seed`: minibatch {o.Minibatch}, slow-update sample {o.SlowUpdateSample}, optimizer concurrency 4, rollout concurrency {o.Concurrency}; everything else is the preset's default. The seed is both the run seed and the SimLab scenario seed (another noise draw, task split and, in the small-effect worlds, another world)."));
            foreach (var v in Variant.All.Where(v => v.IsAblation && presets.Contains(v.Name)))
            {
                sb.Append($" `{v.Name}`: `default` with {string.Join(", ", v.Settings.Select(s => $"`{s}`"))}.");
            }
            return sb.ToString();
        }

        /// <summary>The run's skillopt.yaml; <paramref name="batch"/> is the shape's batch, scaled for a small scenario (see <see cref="Splits"/>).</summary>
        internal static string ConfigYaml(BenchOptions o, Shape shape, string variant, int seed, int batch)
        {
            var v = Variant.Find(variant) ?? throw new ArgumentException($"unknown preset '{variant}'", nameof(variant));
            var yaml = string.Create(CultureInfo.InvariantCulture, $"""
                preset: {v.Preset}
                seed: {seed}
                training:
                  epochs: {shape.Epochs}
                  batch_size: {batch}
                  minibatch_size: {o.Minibatch}
                  optimizer_concurrency: 4
                  slow_update:
                    sample_size: {o.SlowUpdateSample}
                rollouts:
                  concurrency: {o.Concurrency}
                """);
            var settings = v.Settings.Concat(SettingsFor(o, v)).ToList();
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

        private static async Task<(RunResult Result, string? Diagnosis)> RunOneAsync(BenchOptions o, Shape shape, string scenarioName, string preset, int seed, string folder)
        {
            var scenario = ScenarioLoader.Load(scenarioName).WithSeed(seed);
            scenario.Optimizer.Draw = o.OptimizerDraw;
            var (splits, batch) = shape.Splits(scenario, seed);
            var options = SkillOptConfigLoader.Parse(ConfigYaml(o, shape, preset, seed, batch), "bench.yaml");
            await using var server = await SimLabServer.StartAsync(scenario).ConfigureAwait(false);
            var factory = new ChatClientFactory(_ => null);
            using var target = factory.Create("target", Role(server, scenario.Models.Target, o.Concurrency));
            using var optimizer = factory.Create("optimizer", Role(server, scenario.Models.Optimizer, 4));
            var runner = new SimLabRolloutRunner(scenario, target, o.Concurrency);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
            var gate = Variant.Find(preset)?.ValuePrice is { } price ? new ValueOfInformationGate(price, 0.06) : null;
            var loop = new SkillTrainingLoop(options, runner, optimizer, folder, optimizerOptions: new ChatOptions { ModelId = scenario.Models.Optimizer }, gate: gate);
            var sw = Stopwatch.StartNew();
            var summary = await loop.RunAsync(scenario.InitialSkill, splits).ConfigureAwait(false);
            sw.Stop();
            var best = File.ReadAllText(Path.Combine(folder, "best_skill.md"));
            var candidates = Diagnosis.Candidates(scenario, splits, loop.Store);
            string? diagnosis = null;
            if (o.Diagnose)
            {
                var w = new StringWriter(CultureInfo.InvariantCulture);
                Diagnosis.Print(w, $"{shape.Name}/{scenarioName}/{preset}/{seed}", candidates);
                diagnosis = w.ToString();
            }
            var st = server.Statistics;
            ApprovalComparison? approval = null;
            if (summary.Best.Hash != summary.Initial.Hash && loop.Store.ReadEvaluation("test", summary.Best.Hash, 0) is { } received
                && loop.Store.ReadEvaluation("test", summary.Initial.Hash, 0) is { } committed)
            {
                var byTask = committed.Results.ToDictionary(r => r.TaskId, StringComparer.Ordinal);
                approval = ApprovalComparison.Compare(received.Results.Where(r => byTask.ContainsKey(r.TaskId)).Select(r => (r, byTask[r.TaskId])), options.Approval.Alpha, 1, summary.Initial.Hash);
            }
            return (new RunResult
            {
                Shape = shape.Name,
                Scenario = scenarioName,
                Preset = Label(preset, o.OptimizerDraw),
                Seed = seed,
                Seconds = Math.Round(sw.Elapsed.TotalSeconds, 2),
                TargetCalls = st.TargetCalls,
                OptimizerCalls = st.OptimizerCalls,
                PromptTokens = st.PromptTokens,
                CompletionTokens = st.CompletionTokens,
                InitialVal = summary.Initial.Validation ?? 0,
                BestVal = summary.Best.Validation ?? 0,
                InitialTest = summary.Initial.Test,
                BestTest = summary.Best.Test,
                ExpectedInitialTest = SimLabOracle.ExpectedScore(scenario, scenario.InitialSkill, splits.Test),
                ExpectedBestTest = SimLabOracle.ExpectedScore(scenario, best, splits.Test),
                Accepted = summary.Accepted,
                Rejected = summary.Rejected,
                Inconclusive = summary.Inconclusive,
                Steps = summary.Steps,
                BestSkillTokens = summary.BestSkillTokens,
                Faults = st.RateLimited + st.ServerErrors + st.Timeouts + st.MalformedBodies + st.Truncated,
                Splits = $"{splits.Train.Count}/{splits.Validation.Count}/{splits.Test.Count}, batch {batch}",
                FirstGateAccepted = candidates.Count == 0 ? null : candidates[0].Verdict == "accept",
                StoppedEarly = summary.EarlyStopping is not null,
                BestIsInitial = summary.Best.Hash == summary.Initial.Hash,
                ProceduresInBest = SimLabOracle.ProceduresIn(scenario, best).Count,
                Procedures = scenario.Procedures.Count,
                Candidates = candidates,
                ApprovalShownBetter = approval?.ShownBetter,
                ApprovalAlpha = approval?.Alpha,
                ApprovalPValue = approval?.PValue,
            }, diagnosis);
        }

        /// <summary>
        /// The name a run is recorded under: the preset, or for another draw of the simulated optimizer's randomness
        /// (<c>--optimizer-draw</c> n &gt; 0) "preset@draw{n}", a row of its own in the report.
        /// </summary>
        internal static string Label(string preset, int draw) => draw == 0 ? preset : $"{preset}@draw{draw}";

        private static ModelRoleOptions Role(SimLabServer server, string model, int concurrency) => new()
        {
            Provider = "openai-compatible",
            Model = model,
            Endpoint = server.BaseUrl,
            Concurrency = concurrency,
            TimeoutSeconds = 60,
            MaxRetries = 6,
        };

        private static readonly Option<string> ScenarioOption = new("--scenario") { Description = "Comma-separated SimLab scenarios.", DefaultValueFactory = _ => "gsm8k,null-optimizer" };
        private static readonly Option<string> PresetOption = new("--preset") { Description = "Comma-separated presets: classic, default, and the ablations default-no-early-stopping, default-no-prescreen, default-always-prescreen, default-no-cache, default-posterior, default-strict, default-strict-stop, default-strict-no-stop.", DefaultValueFactory = _ => "classic,default" };
        private static readonly Option<string?> ShapeOption = new("--shape") { Description = "Comma-separated run shapes: reference (400/200/200, batch 40, 4 epochs), small (120/60/60, batch 12, 2 epochs). Without it, --train/--val/--test/--batch/--epochs make one shape." };
        private static readonly Option<int> SeedsOption = Count("--seeds", "Seeds per (shape, scenario, preset).", 20);
        private static readonly Option<int> FirstSeedOption = Count("--first-seed", "First seed.", 1);
        private static readonly Option<int?> LastTuningSeedOption = new("--last-tuning-seed") { Description = "Seeds up to this one were used for tuning; the report gives the later ones apart, as the confirmation, and states the targets on them." };
        private static readonly Option<int> TrainOption = Count("--train", "Training tasks per run.", 80);
        private static readonly Option<int> ValOption = Count("--val", "Validation tasks per run.", 40);
        private static readonly Option<int> TestOption = Count("--test", "Test tasks per run.", 80);
        private static readonly Option<int?> TasksOption = new("--tasks") { Description = "Total tasks, split 40/30/30 into train/validation/test (overrides --train/--val/--test)." };
        private static readonly Option<int> EpochsOption = Count("--epochs", "Epochs.", 4);
        private static readonly Option<int> BatchOption = Count("--batch", "Training tasks per step (scaled down with the splits for a scenario with fewer tasks).", 20);
        private static readonly Option<int> MinibatchOption = Count("--minibatch", "Trajectories per reflection call.", 8);
        private static readonly Option<int> ParallelOption = Count("--parallel", "Runs side by side (each has its own SimLab server and run folder; results do not depend on it).", 1);

        /// <summary>The --set settings for one run: unprefixed ones, "preset:key=value" ones of its preset, and those naming the run's variant.</summary>
        private static List<string> SettingsFor(BenchOptions o, Variant v) =>
            [.. o.Settings.Where(s => PresetOf(s) is null || PresetOf(s) == v.Preset || PresetOf(s) == v.Name).Select(s => PresetOf(s) is { } p ? s[(p.Length + 1)..] : s)];

        private static string? PresetOf(string setting) =>
            setting.IndexOf(':', StringComparison.Ordinal) is var c and > 0 && c < setting.IndexOf('=', StringComparison.Ordinal) ? setting[..c] : null;

        private static readonly Option<int> SlowUpdateOption = Count("--slow-update-sample", "Training tasks of the slow update.", 20);
        private static readonly Option<int> ConcurrencyOption = Count("--concurrency", "Target calls side by side.", 8);
        private static readonly Option<string?> OutOption = new("--out") { Description = "Markdown page to write the report to: its generated part (between the bench markers) is replaced and the rest kept." };
        private static readonly Option<string?> ResultsOption = new("--results") { Description = "JSON file of every run measured (read first when it exists; a run measured again replaces its entry); the report covers every run in it." };
        private static readonly Option<bool> ResumeOption = new("--resume") { Description = "Skip the runs the --results file already holds." };
        private static readonly Option<bool> ReportOnlyOption = new("--report-only") { Description = "Run nothing: write the report of the --results file." };
        private static readonly Option<bool> PerSeedOption = new("--per-seed") { Description = "Add a table of every run to the report." };
        private static readonly Option<string?> WorkOption = new("--work") { Description = "Folder for the run folders (kept)." };
        private static readonly Option<bool> KeepOption = new("--keep") { Description = "Keep the temporary run folders." };
        private static readonly Option<bool> QuietOption = new("--quiet") { Description = "Less progress output." };
        private static readonly Option<int> OptimizerDrawOption = Count("--optimizer-draw", "Another independent draw of the simulated optimizer's randomness (0, the default, is the draw of every earlier run): the same worlds and method, different replies. Runs are recorded as \"preset@drawN\", so the report shows how far two runs of one preset differ by chance.", 0);
        private static readonly Option<bool> ApprovalSizeOption = new("--approval-size") { Description = "Train nothing: measure the approval check's size on pairs of equally good skills (each seed's test split, 5 pairs per seed, SimLab's target simulator, the trainer's default approval.alpha) and print a table per shape and scenario." };
        private static readonly Option<int> TestDrawsOption = TestDraws();
        private static readonly Option<bool> DiagnoseOption = new("--diagnose") { Description = "Print every gated candidate of each run with its true effect (SimLab's oracle) beside the gate's verdict, and the run's counts." };
        private static readonly Option<string[]> SetOption = SetSettings();

        private static Option<string[]> SetSettings()
        {
            var option = new Option<string[]>("--set") { Description = "A skillopt.yaml setting for every run, as dotted.key=value (repeatable), e.g. training.early_stopping.patience=20; preset:dotted.key=value for that preset's runs only (default: also its ablations), e.g. default:training.proposals=2.", Arity = ArgumentArity.ZeroOrMore };
            option.Validators.Add(r =>
            {
                foreach (var s in r.GetValueOrDefault<string[]>() ?? [])
                {
                    var key = PresetOf(s) is { } p ? s[(p.Length + 1)..] : s;
                    if (key.IndexOf('=', StringComparison.Ordinal) is <= 0 || key.Split('=')[0].Split('.').Any(k => k.Length == 0))
                    {
                        r.AddError($"--set needs dotted.key=value or preset:dotted.key=value, got '{s}'");
                    }
                    else if (PresetOf(s) is { } q && Variant.Find(q) is null)
                    {
                        r.AddError($"--set: unknown preset '{q}' in '{s}' ({string.Join(", ", Variant.All.Select(v => v.Name))})");
                    }
                }
            });
            return option;
        }

        private static Option<int> TestDraws()
        {
            var option = new Option<int>("--test-draws") { Description = "Test draws per skill for --approval-size (approval.test_draws).", DefaultValueFactory = _ => 1 };
            option.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<int>() < 1)
                {
                    r.AddError("--test-draws needs an integer of at least 1");
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
            var root = new RootCommand("SkillOpt.Bench: full trainings against SimLab (SIMULATED target and optimizer models), N seeds per (shape, scenario, preset).");
            foreach (var option in new Option[] { ScenarioOption, PresetOption, ShapeOption, SeedsOption, FirstSeedOption, LastTuningSeedOption, TrainOption, ValOption, TestOption, TasksOption, EpochsOption, BatchOption,
                MinibatchOption, SlowUpdateOption, ConcurrencyOption, ParallelOption, OutOption, ResultsOption, ResumeOption, ReportOnlyOption, PerSeedOption, WorkOption, KeepOption, QuietOption, DiagnoseOption, OptimizerDrawOption, SetOption, ApprovalSizeOption, TestDrawsOption })
            {
                root.Options.Add(option);
            }
            root.Validators.Add(r =>
            {
                foreach (var p in List(r.GetValue(PresetOption)).Where(p => Variant.Find(p) is null))
                {
                    r.AddError($"unknown preset '{p}' ({string.Join(", ", Variant.All.Select(v => v.Name))})");
                }
                foreach (var s in List(r.GetValue(ShapeOption)).Where(s => s is not ("reference" or "small")))
                {
                    r.AddError($"unknown shape '{s}' (reference, small)");
                }
                foreach (var s in List(r.GetValue(ScenarioOption)).Where(s => !ScenarioLoader.BuiltinNames.Contains(s) && !File.Exists(s)))
                {
                    r.AddError($"unknown scenario '{s}' (a scenario file or one of {string.Join(", ", ScenarioLoader.BuiltinNames)})");
                }
                if ((r.GetValue(ResumeOption) || r.GetValue(ReportOnlyOption)) && r.GetValue(ResultsOption) is null)
                {
                    r.AddError("--resume and --report-only need --results");
                }
            });
            return root;
        }

        private static List<string> List(string? value) => (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

        private static BenchOptions Options(ParseResult p, string[] args)
        {
            var (train, val, test) = (p.GetValue(TrainOption), p.GetValue(ValOption), p.GetValue(TestOption));
            if (p.GetValue(TasksOption) is { } n)
            {
                (train, val, test) = (n * 2 / 5, n * 3 / 10, n - n * 2 / 5 - n * 3 / 10);
            }
            var shapes = List(p.GetValue(ShapeOption)).Select(s => s == "reference" ? Shape.Reference : Shape.Small).ToList();
            if (shapes.Count == 0)
            {
                shapes.Add(new Shape("custom", train, val, test, p.GetValue(BatchOption), p.GetValue(EpochsOption)));
            }
            return new BenchOptions
            {
                Scenarios = List(p.GetValue(ScenarioOption)),
                Presets = List(p.GetValue(PresetOption)),
                Shapes = shapes,
                Seeds = p.GetValue(SeedsOption),
                FirstSeed = p.GetValue(FirstSeedOption),
                LastTuningSeed = p.GetValue(LastTuningSeedOption),
                Minibatch = p.GetValue(MinibatchOption),
                SlowUpdateSample = p.GetValue(SlowUpdateOption),
                Concurrency = p.GetValue(ConcurrencyOption),
                Parallel = Math.Max(1, p.GetValue(ParallelOption)),
                Out = p.GetValue(OutOption),
                Results = p.GetValue(ResultsOption),
                Resume = p.GetValue(ResumeOption),
                ReportOnly = p.GetValue(ReportOnlyOption),
                PerSeed = p.GetValue(PerSeedOption),
                Work = p.GetValue(WorkOption),
                Keep = p.GetValue(KeepOption),
                Quiet = p.GetValue(QuietOption),
                Diagnose = p.GetValue(DiagnoseOption),
                Settings = p.GetValue(SetOption) ?? [],
                OptimizerDraw = p.GetValue(OptimizerDrawOption),
                MeasureApprovalSize = p.GetValue(ApprovalSizeOption),
                TestDraws = p.GetValue(TestDrawsOption),
                CommandLine = "dotnet run -c Release --project bench/SkillOpt.Bench --" + string.Concat(args.Select(a => " " + (a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a))),
            };
        }
    }
}
