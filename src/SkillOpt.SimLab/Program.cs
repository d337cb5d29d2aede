using System.Globalization;
using SkillOpt.SimLab;

namespace SkillOpt.SimLab
{
    /// <summary>
    /// SkillOpt.SimLab: a SIMULATED model server. No language model runs here; every reply is computed from a scenario file.
    /// <code>
    ///   serve    --scenario &lt;file|builtin-name&gt; [--port N] [--seed S]   serve until Ctrl+C
    ///   describe --scenario &lt;file|builtin-name&gt; [--seed S]             print the scenario's tasks and procedures
    ///   list                                                           print the built-in scenario names
    /// </code>
    /// An explicit entry point (no top-level statements), so that no global <c>Program</c> type reaches the projects
    /// that reference SimLab through the trainer.
    /// </summary>
    internal static class SimLabProgram
    {
        private static Task<int> Main(string[] args) => SimLabCommand.RunAsync(args, Console.Out, Console.Error);
    }

    /// <summary>The <c>SkillOpt.SimLab</c> command line.</summary>
    internal static class SimLabCommand
    {
        public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                stdout.WriteLine("Usage: SkillOpt.SimLab serve --scenario <file|builtin-name> [--port N] [--seed S]");
                stdout.WriteLine("       SkillOpt.SimLab describe --scenario <file|builtin-name> [--seed S]");
                stdout.WriteLine("       SkillOpt.SimLab list");
                stdout.WriteLine("SimLab simulates a target and an optimizer model; its results are simulations, not model results.");
                return args.Length == 0 ? 2 : 0;
            }
            try
            {
                var options = ParseOptions(args.Skip(1).ToArray());
                switch (args[0])
                {
                    case "list":
                        foreach (var name in ScenarioLoader.BuiltinNames)
                        {
                            stdout.WriteLine(name);
                        }
                        return 0;
                    case "describe":
                        Describe(Load(options), stdout);
                        return 0;
                    case "serve":
                        var scenario = Load(options);
                        var port = options.TryGetValue("port", out var p) ? int.Parse(p, CultureInfo.InvariantCulture) : 0;
                        using (var stop = new CancellationTokenSource())
                        {
                            Console.CancelKeyPress += (_, e) =>
                            {
                                e.Cancel = true;
                                stop.Cancel();
                            };
                            await using var server = await SimLabServer.StartAsync(scenario, port).ConfigureAwait(false);
                            stdout.WriteLine($"SimLab (simulated models) listening on {server.BaseUrl}");
                            stdout.WriteLine($"scenario {scenario.Name} (seed {scenario.Seed}): target model '{scenario.Models.Target}', optimizer model '{scenario.Models.Optimizer}'; every reply is simulated");
                            stdout.Flush();
                            try
                            {
                                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
                            }
                            catch (OperationCanceledException)
                            {
                            }
                            stdout.WriteLine($"SimLab stopped after {server.Statistics.TargetCalls} target and {server.Statistics.OptimizerCalls} optimizer calls (simulated).");
                        }
                        return 0;
                    default:
                        stderr.WriteLine($"error: unknown command '{args[0]}' (serve, describe, list)");
                        return 2;
                }
            }
            catch (ScenarioException ex)
            {
                stderr.WriteLine(ex.Message);
                return 1;
            }
            catch (ArgumentException ex)
            {
                stderr.WriteLine("error: " + ex.Message);
                return 2;
            }
        }

        private static Scenario Load(Dictionary<string, string> options)
        {
            if (!options.TryGetValue("scenario", out var name))
            {
                throw new ArgumentException("--scenario <file|builtin-name> is required (built-in: " + string.Join(", ", ScenarioLoader.BuiltinNames) + ")");
            }
            var s = ScenarioLoader.Load(name);
            return options.TryGetValue("seed", out var seed) ? s.WithSeed(long.Parse(seed, CultureInfo.InvariantCulture)) : s;
        }

        private static Dictionary<string, string> ParseOptions(string[] args)
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    throw new ArgumentException($"unexpected argument '{args[i]}'");
                }
                d[args[i][2..]] = args[++i];
            }
            return d;
        }

        internal static void Describe(Scenario s, TextWriter w)
        {
            var inv = CultureInfo.InvariantCulture;
            w.WriteLine($"scenario {s.Name} (seed {s.Seed}) — simulated; {s.Description}");
            w.WriteLine($"tasks: {s.ResolvedTasks.Count}; flaky (flakiness >= 0.1): {s.ResolvedTasks.Count(t => t.Flakiness >= 0.1)}");
            if (s.ResolvedTasks.Any(t => t.BaseSuccess is not null))
            {
                var bases = s.ResolvedTasks.Select(t => t.BaseSuccess ?? s.Target.BaseSuccessRate).Order().ToList();
                w.WriteLine(string.Create(inv, $"base success (every needed procedure in the skill): mean {bases.Average():0.000}, deciles {string.Join(" ", Enumerable.Range(1, 9).Select(i => bases[i * (bases.Count - 1) / 10].ToString("0.00", inv)))}"));
            }
            if (s.Target.FlakyGroups is not null)
            {
                var groups = s.ResolvedTasks.GroupBy(t => t.Group).ToList();
                w.WriteLine($"flakiness groups: {groups.Count}, of which flaky: {groups.Count(g => g.First().Flakiness >= 0.1)}");
            }
            var initial = SimLabOracle.ExpectedScore(s, s.InitialSkill, s.ResolvedTasks.Select(t => t.Id));
            w.WriteLine(string.Create(inv, $"initial skill: expected score {initial:0.000} over all tasks"));
            foreach (var p in s.Procedures)
            {
                var gain = SimLabOracle.ExpectedScore(s, s.InitialSkill + "\n" + p.Texts[0] + "\n", s.ResolvedTasks.Select(t => t.Id)) - initial;
                w.WriteLine(string.Create(inv, $"  {p.Name,-24} needed by {s.ResolvedTasks.Count(t => t.Needs.Contains(p.Name)),4} tasks, penalty {s.ProcedurePenalties[p.Name]:0.000}; alone it adds {gain:+0.000;-0.000;0.000} to the initial skill"));
            }
            foreach (var g in s.GenericRules)
            {
                w.WriteLine(string.Create(inv, $"  generic {g.Name,-16} effect {s.GenericEffects[g.Name]:+0.0000;-0.0000;0.0000} on every task"));
            }
            foreach (var g in s.ResolvedTasks.GroupBy(t => t.Needs.Count).OrderBy(g => g.Key))
            {
                w.WriteLine($"  {g.Count(),4} tasks need {g.Key} procedures");
            }
        }
    }
}
