using System.Globalization;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;
using SkillOpt.SimLab;

namespace SkillOpt.Bench;

/// <summary>
/// <c>--approval-size</c>: the approval check's size measured directly, without training. For each (shape, scenario, seed)
/// it takes the run's test split (the split a full run of that seed gets) and <see cref="PairsPerSeed"/> pairs of skills
/// that differ only by a rule the world gives no effect (the initial skill with two different such rules), scores both on
/// the test split at samples 0 … D − 1 with SimLab's target simulator (the draw a rollout of that skill, task and sample
/// gets), and applies the trainer's own check (<see cref="ApprovalComparison"/> at the default <c>approval.alpha</c>). A pair whose received skill
/// is not truly better (SimLab's expected test score) and is shown better is a false approval. Nothing is trained, so
/// this measures the check alone: the rate is its size when the two skills are equally good, whatever the world's
/// correlation between tasks. Every number is SIMULATED.
/// </summary>
internal static class ApprovalSize
{
    /// <summary>Skill pairs per seed: each pair has its own two texts, so pairs share no draw.</summary>
    public const int PairsPerSeed = 5;

    private const double Alpha = SkillOpt.Core.Configuration.ApprovalOptions.DefaultAlpha;

    /// <summary>One (shape, scenario): pairs whose received skill is not truly better, how many the check showed better, the
    /// mean number of discordant pairs per comparison, and the variance of z = (wins − losses) / √(wins + losses) over the
    /// comparisons (about 1 when tasks pass or fail independently; above 1 when they go together).</summary>
    public sealed record Row(string Shape, string Scenario, int TestTasks, int Pairs, int ShownBetter, double MeanDiscordant, double ZVariance);

    /// <summary>Measures every (shape, scenario) over seeds <paramref name="firstSeed"/> … <paramref name="firstSeed"/> + <paramref name="seeds"/> − 1 with <paramref name="draws"/> test draws.</summary>
    public static List<Row> Measure(IEnumerable<Shape> shapes, IReadOnlyList<string> scenarios, int firstSeed, int seeds, int draws)
    {
        var rows = new List<Row>();
        foreach (var shape in shapes)
        {
            foreach (var name in scenarios)
            {
                var (n, k, discordant, z, tasks) = (0, 0, 0L, new List<double>(), 0);
                var loaded = ScenarioLoader.Load(name);
                for (var seed = firstSeed; seed < firstSeed + seeds; seed++)
                {
                    var scenario = loaded.WithSeed(seed);
                    var world = new SimWorld(scenario);
                    var target = new TargetSimulator(world);
                    var test = shape.Splits(scenario, seed).Splits.Test.Select(id => world.TaskById(id)!).ToList();
                    tasks = test.Count;
                    for (var pair = 0; pair < PairsPerSeed; pair++)
                    {
                        var committed = $"{scenario.InitialSkill.TrimEnd()}\n- Note {seed}.{pair}: keep the work tidy.\n";
                        var received = $"{scenario.InitialSkill.TrimEnd()}\n- Note {seed}.{pair}: keep the work neat.\n";
                        if (Expected(world, received, test) > Expected(world, committed, test))
                        {
                            continue;
                        }
                        var pairs = new List<(RolloutResult, RolloutResult)>();
                        for (var sample = 0; sample < draws; sample++)
                        {
                            pairs.AddRange(test.Select(t => (Result(target, received, t, sample), Result(target, committed, t, sample))));
                        }
                        var check = ApprovalComparison.Compare(pairs, Alpha, draws, "0");
                        n++;
                        k += check.ShownBetter ? 1 : 0;
                        discordant += check.Wins + check.Losses;
                        z.Add((check.Wins - check.Losses) / Math.Sqrt(Math.Max(1, check.Wins + check.Losses)));
                    }
                }
                var mean = z.Count > 0 ? z.Average() : 0;
                rows.Add(new Row(shape.Name, name, tasks, n, k, n == 0 ? 0 : (double)discordant / n, z.Count > 1 ? z.Sum(x => (x - mean) * (x - mean)) / (z.Count - 1) : double.NaN));
            }
        }
        return rows;
    }

    /// <summary>Measures (<see cref="Measure"/>) and prints a markdown table, one row per shape and scenario, to standard output.</summary>
    public static void Run(TextWriter output, IReadOnlyList<Shape> shapes, IReadOnlyList<string> scenarios, int firstSeed, int seeds, int draws)
    {
        output.WriteLine($"Approval check's size (SIMULATED): pairs of equally good skills, α = {Alpha.ToString(CultureInfo.InvariantCulture)}, {draws} test draw(s), seeds {firstSeed}–{firstSeed + seeds - 1}, {PairsPerSeed} pairs per seed.");
        output.WriteLine();
        output.WriteLine("| shape | scenario | test tasks | pairs not truly better | shown better (false approvals) | 95% interval | discordant pairs (mean) | variance of z |");
        output.WriteLine("|---|---|---:|---:|---:|---|---:|---:|");
        foreach (var r in Measure(shapes, scenarios, firstSeed, seeds, draws))
        {
            var (low, high) = BenchStats.ClopperPearson(r.ShownBetter, r.Pairs);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Shape} | `{r.Scenario}` | {r.TestTasks} | {r.Pairs} | {r.ShownBetter} ({(r.Pairs == 0 ? 0 : 100.0 * r.ShownBetter / r.Pairs):0.0}%) | [{100 * low:0.0}%, {100 * high:0.0}%] | {r.MeanDiscordant:0.0} | {r.ZVariance:0.000} |"));
        }
        output.WriteLine();
        output.WriteLine("z = (wins − losses) / √(wins + losses) per pair: its variance is about 1 when tasks pass or fail independently, and above 1 when they go together (the sign test then counts them as more evidence than they are).");
    }

    private static double Expected(SimWorld world, string skill, IReadOnlyList<SimTask> tasks) => tasks.Average(t => world.SuccessProbability(skill, t));

    private static RolloutResult Result(TargetSimulator target, string skill, SimTask task, int sample)
    {
        var solved = target.Solve(skill, task.Question, sample).Solved;
        return new RolloutResult { TaskId = task.Id, Outcome = solved ? TaskOutcome.Passed : TaskOutcome.Failed, Score = solved ? 1 : 0 };
    }
}
