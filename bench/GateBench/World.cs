using System.Globalization;
using MathNet.Numerics.Distributions;

namespace GateBench;

/// <summary>
/// How a simulated world is drawn. A task's pass probability with a skill is σ(logit): the logit is the task's base
/// difficulty plus the effects of the skill's edits minus a length penalty per edit; flaky tasks flip their outcome with
/// <see cref="FlipRate"/>, some of them together in groups (a shared cause, the same in every skill's run of that sample).
/// </summary>
internal sealed record WorldConfig
{
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    /// <summary>Beta(a, b) of the initial skill's pass probability per task (heterogeneous difficulty).</summary>
    public double DifficultyA { get; init; } = 0.5;
    public double DifficultyB { get; init; } = 0.6;
    public double FlakyFraction { get; init; } = 0.2;
    public double FlipRate { get; init; } = 0.15;
    /// <summary>Share of flaky tasks that flip together, in groups of <see cref="GroupSize"/>.</summary>
    public double GroupedShare { get; init; } = 0.5;
    public int GroupSize { get; init; } = 4;
    /// <summary>Procedures a skill can learn; each helps the tasks of its own random subset.</summary>
    public int Procedures { get; init; } = 15;
    public double AffectedMin { get; init; } = 0.1;
    public double AffectedMax { get; init; } = 0.3;
    /// <summary>Log-normal effect of a procedure on the logit of the tasks it helps: median and σ of its logarithm.</summary>
    public double EffectMedian { get; init; } = 0.9;
    public double EffectSigma { get; init; } = 0.6;
    /// <summary>Shares of proposed edits that teach a procedure and that harm; the rest are useless generic rules.</summary>
    public double UsefulShare { get; init; } = 0.35;
    public double HarmfulShare { get; init; } = 0.08;
    public double HarmMedian { get; init; } = 0.7;
    public double HarmSigma { get; init; } = 0.5;
    /// <summary>Standard deviation of a useless rule's tiny logit shift on every task.</summary>
    public double UselessSd { get; init; } = 0.03;
    /// <summary>Logit lost on every task per edit in the skill (a longer skill does slightly worse).</summary>
    public double LengthPenalty { get; init; } = 0.02;

    public static readonly IReadOnlyList<WorldConfig> All =
    [
        new() { Name = "small-effects", Description = "issue-like: 15 procedures, mostly small log-normal effects, 20% flaky (half in groups), useless and some harmful edits, length penalty" },
        new()
        {
            Name = "small-effects-b", Description = "held out from tuning: 12 procedures, smaller effects on more tasks, 30% flaky, more harmful edits, harder tasks",
            DifficultyA = 0.7, DifficultyB = 1.3, FlakyFraction = 0.3, FlipRate = 0.2, GroupedShare = 0.6, Procedures = 12, AffectedMin = 0.15, AffectedMax = 0.5,
            EffectMedian = 0.5, EffectSigma = 0.7, UsefulShare = 0.3, HarmfulShare = 0.12, LengthPenalty = 0.03,
        },
        new()
        {
            Name = "large-effects", Description = "SimLab-like: 8 procedures with large clean effects, 10% flaky",
            FlakyFraction = 0.1, Procedures = 8, AffectedMin = 0.2, AffectedMax = 0.5, EffectMedian = 2.0, EffectSigma = 0.4, UsefulShare = 0.4, HarmfulShare = 0.1, HarmMedian = 1.5,
        },
        new()
        {
            Name = "null", Description = "no edit changes anything: every candidate equals the current skill in truth (no procedures, no harm, no length penalty)",
            Procedures = 0, UsefulShare = 0, HarmfulShare = 0, UselessSd = 0, LengthPenalty = 0,
        },
    ];

    public static WorldConfig Named(string name) =>
        All.FirstOrDefault(w => w.Name == name) ?? throw new ArgumentException($"unknown world '{name}' (known: {string.Join(", ", All.Select(w => w.Name))})");
}

/// <summary>The shape of a run: split sizes, batch and epochs (steps = ⌈train / batch⌉ × epochs).</summary>
internal sealed record Shape(string Name, int Train, int Val, int Test, int Batch, int Epochs)
{
    public int StepsPerEpoch => (Train + Batch - 1) / Batch;
    public int Steps => StepsPerEpoch * Epochs;

    public static readonly IReadOnlyList<Shape> All =
    [
        new("small", 120, 60, 60, 12, 2),     // the issue's shape
        new("reference", 400, 200, 200, 40, 4), // the reference's default shape
        new("small-long", 120, 60, 60, 12, 4),     // the small splits with the reference's 40 steps
        new("reference-short", 400, 200, 200, 40, 2), // the reference's splits with the small shape's 20 steps
    ];

    public static Shape Named(string name) =>
        All.FirstOrDefault(s => s.Name == name) ?? Custom(name) ?? throw new ArgumentException($"unknown shape '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})");

    /// <summary>A shape written train/val/test/batch/epochs, e.g. 240/100/100/24/2; null when the name is not of that form.</summary>
    private static Shape? Custom(string name)
    {
        var v = name.Split('/').Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 0).ToArray();
        return v.Length == 5 && v.All(n => n > 0) ? new Shape(name, v[0], v[1], v[2], v[3], v[4]) : null;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Train}/{Val}/{Test}, batch {Batch}, {Epochs} epochs ({Steps} steps)");
}

internal enum EditKind { Useful, Useless, Harmful }

/// <summary>One proposed edit: a procedure, a useless rule (a tiny shift) or a harmful rule (a loss on a subset of tasks).</summary>
internal sealed record Edit(int Id, EditKind Kind, int Procedure, double Effect, double Fraction);

/// <summary>A skill: the initial one plus the edits accepted into it. Ids are unique per run (the rollout cache key).</summary>
internal sealed class SimSkill
{
    public SimSkill(int id, IReadOnlyList<Edit> edits, World world)
    {
        Id = id;
        Edits = edits;
        Probability = new double[world.Tasks.Count];
        Raw = new double[world.Tasks.Count];
        for (var t = 0; t < world.Tasks.Count; t++)
        {
            (Raw[t], Probability[t]) = world.PassProbability(this, t);
        }
    }

    public int Id { get; }
    public IReadOnlyList<Edit> Edits { get; }
    /// <summary>Pass probability per task before a grouped flip.</summary>
    public double[] Raw { get; }
    /// <summary>True (marginal) pass probability per task, flips included.</summary>
    public double[] Probability { get; }
    public string Key => Id.ToString(CultureInfo.InvariantCulture);
    public int UsefulProcedures => Edits.Where(e => e.Kind == EditKind.Useful).Select(e => e.Procedure).Distinct().Count();
}

internal sealed record SimTask(int Index, string Id, string Split, double BaseLogit, bool Flaky, int Group, bool[] Helped);

/// <summary>One drawn world: its tasks, procedures and outcome function. Every draw is a pure function of (seed, indices).</summary>
internal sealed class World
{
    public World(WorldConfig config, Shape shape, int seed)
    {
        Config = config;
        Seed = seed;
        var rng = new Random(Rng.Int(seed, 11));
        ProcedureEffects = Enumerable.Range(0, config.Procedures).Select(_ => LogNormal.Sample(rng, Math.Log(config.EffectMedian), config.EffectSigma)).ToArray();
        var fractions = Enumerable.Range(0, config.Procedures).Select(_ => config.AffectedMin + rng.NextDouble() * (config.AffectedMax - config.AffectedMin)).ToArray();
        var tasks = new List<SimTask>();
        var group = 0;
        var inGroup = 0;
        void Add(string split, int count)
        {
            for (var i = 0; i < count; i++)
            {
                var p0 = Math.Clamp(Beta.Sample(rng, config.DifficultyA, config.DifficultyB), 0.005, 0.995);
                var flaky = rng.NextDouble() < config.FlakyFraction;
                var g = -1;
                if (flaky && rng.NextDouble() < config.GroupedShare)
                {
                    g = group;
                    if (++inGroup == config.GroupSize)
                    {
                        (group, inGroup) = (group + 1, 0);
                    }
                }
                var helped = fractions.Select(f => rng.NextDouble() < f).ToArray();
                tasks.Add(new SimTask(tasks.Count, string.Create(CultureInfo.InvariantCulture, $"{split}{i:D3}"), split, Math.Log(p0 / (1 - p0)), flaky, g, helped));
            }
        }
        Add("train", shape.Train);
        Add("val", shape.Val);
        Add("test", shape.Test);
        Tasks = tasks;
        Train = [.. tasks.Where(t => t.Split == "train")];
        Validation = [.. tasks.Where(t => t.Split == "val")];
        Test = [.. tasks.Where(t => t.Split == "test")];
        ById = tasks.ToDictionary(t => t.Id, StringComparer.Ordinal);
    }

    public WorldConfig Config { get; }
    public int Seed { get; }
    public double[] ProcedureEffects { get; }
    public IReadOnlyList<SimTask> Tasks { get; }
    public IReadOnlyList<SimTask> Train { get; }
    public IReadOnlyList<SimTask> Validation { get; }
    public IReadOnlyList<SimTask> Test { get; }
    public IReadOnlyDictionary<string, SimTask> ById { get; }

    /// <summary>(raw, marginal) pass probability of task <paramref name="t"/> with <paramref name="skill"/>.</summary>
    public (double Raw, double Marginal) PassProbability(SimSkill skill, int t)
    {
        var task = Tasks[t];
        var logit = task.BaseLogit - Config.LengthPenalty * skill.Edits.Count;
        var procedures = new HashSet<int>();
        foreach (var e in skill.Edits)
        {
            switch (e.Kind)
            {
                case EditKind.Useful when procedures.Add(e.Procedure) && task.Helped[e.Procedure]:
                    logit += ProcedureEffects[e.Procedure];
                    break;
                case EditKind.Useless:
                    logit += e.Effect;
                    break;
                case EditKind.Harmful when Rng.Uniform(Seed, 5, e.Id, t) < e.Fraction:
                    logit -= e.Effect;
                    break;
            }
        }
        var p = 1 / (1 + Math.Exp(-logit));
        return (p, task.Flaky ? p * (1 - 2 * Config.FlipRate) + Config.FlipRate : p);
    }

    /// <summary>
    /// The outcome of one rollout: independent per (skill, task, sample) like a model whose output changes with its system
    /// message, except that a grouped flaky task's flip is shared by its group and by every skill at that sample.
    /// </summary>
    public bool Passes(SimSkill skill, int t, int sample)
    {
        var task = Tasks[t];
        var u = Rng.Uniform(Seed, 1, skill.Id, t, sample);
        if (task.Group < 0)
        {
            return u < skill.Probability[t];
        }
        var flip = Rng.Uniform(Seed, 2, task.Group, sample) < Config.FlipRate;
        return (u < skill.Raw[t]) ^ flip;
    }

    /// <summary>Expected mean score of a skill over <paramref name="tasks"/> (the truth no run sees).</summary>
    public static double Expected(SimSkill skill, IReadOnlyList<SimTask> tasks) => tasks.Average(t => skill.Probability[t.Index]);

    /// <summary>
    /// The share of discordant pairs a candidate wins against the current skill in expectation (θ of the paired gates),
    /// exact for independent and for group-flipped tasks.
    /// </summary>
    public double WinShare(SimSkill candidate, SimSkill current, IReadOnlyList<SimTask> tasks)
    {
        double win = 0, loss = 0;
        foreach (var task in tasks)
        {
            var t = task.Index;
            if (task.Group < 0)
            {
                double c = candidate.Probability[t], i = current.Probability[t];
                win += c * (1 - i);
                loss += i * (1 - c);
            }
            else
            {
                double c = candidate.Raw[t], i = current.Raw[t], f = Config.FlipRate;
                win += (1 - f) * c * (1 - i) + f * (1 - c) * i;
                loss += (1 - f) * i * (1 - c) + f * (1 - i) * c;
            }
        }
        return win + loss == 0 ? 0.5 : win / (win + loss);
    }
}

/// <summary>Counter-based random numbers: SplitMix64 over the arguments, so every draw is reproducible on its own.</summary>
internal static class Rng
{
    public static ulong Hash(params long[] parts)
    {
        var h = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts)
        {
            h = Mix(h ^ (ulong)p);
        }
        return h;
    }

    public static double Uniform(params long[] parts) => (Hash(parts) >> 11) * (1.0 / (1UL << 53));

    public static int Int(params long[] parts) => (int)(Hash(parts) & 0x7FFFFFFF);

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
