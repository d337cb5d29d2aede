using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SkillOpt.Core.Rollouts;
using SkillOpt.SimLab;

namespace SkillOpt.Bench;

/// <summary>A run shape: split sizes, training batch and epochs (a scenario with fewer tasks scales splits and batch down).</summary>
internal sealed record Shape(string Name, int Train, int Val, int Test, int Batch, int Epochs)
{
    /// <summary>The reference's default run: 400/200/200, batch 40, 4 epochs (one validation costs 5× a step's rollouts).</summary>
    public static Shape Reference { get; } = new("reference", 400, 200, 200, 40, 4);

    /// <summary>The small world of the "small real gains" issue: 120/60/60, batch 12, 2 epochs (cosine 4→2 is the default schedule).</summary>
    public static Shape Small { get; } = new("small", 120, 60, 60, 12, 2);

    /// <summary>
    /// Train / validation / test task ids (the scenario's tasks ordered by SHA-256 of (seed, id), then cut) and the
    /// training batch. A scenario with fewer tasks than the three splits ask for gets all three scaled down by the same
    /// factor, and the batch too, so one validation still costs the same multiple of a step's rollouts as asked for
    /// (without it, 60 tasks at 400/200/200 with batch 40 gave 30/15/15 with every training task in each step: validation at
    /// 0.5× a step's rollouts instead of 5×).
    /// </summary>
    public (TaskSplits Splits, int Batch) Splits(Scenario scenario, int seed)
    {
        var ordered = scenario.ResolvedTasks.Select(t => t.Id)
            .OrderBy(id => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}|split|{id}"))), StringComparer.Ordinal).ToList();
        var (train, val, test, batch) = (Train, Val, Test, Batch);
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

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"{Train}/{Val}/{Test}, batch {Batch}, {Epochs} epoch{(Epochs == 1 ? "" : "s")}");

    public string Title => Name switch
    {
        "reference" => $"Reference shape ({Describe()})",
        "small" => $"Small shape ({Describe()})",
        _ => $"Shape {Describe()}",
    };
}

/// <summary>What a run trains with: a preset, plus settings that switch one of its savings off (the ablations).</summary>
internal sealed record Variant(string Name, string Preset, IReadOnlyList<string> Settings, string Description, double? ValuePrice = null)
{
    public static IReadOnlyList<Variant> All { get; } =
    [
        new("classic", "classic", [], "the reference method"),
        new("default", "default", [], "the default preset"),
        new("default-no-early-stopping", "default", ["training.early_stopping.patience=0", "training.early_stopping.ceiling=false"], "early stopping off (patience 0, no ceiling rule; the default's strict gate has none, so this is the default unless a paired gate is set)"),
        new("default-no-prescreen", "default", ["gate.prescreen.enabled=false"], "pre-screen off (as the default's strict gate runs, unless training.proposals > 1)"),
        new("default-always-prescreen", "default", ["gate.prescreen.enabled=true"], "pre-screen on whatever the validation split's size (the default's strict gate runs none; with a paired gate the default runs it up to 150 validation tasks)"),
        new("default-no-cache", "default", ["rollouts.cache=false"], "rollout cache off"),
        new("default-posterior", "default", ["gate.kind=posterior"], "the posterior gate and the default preset's own loop (the default up to 150 validation tasks until the round the strict gate became the default at every size): early stopping, gated slow updates, the 2,000-token skill budget, the enforced rejected-edit buffer"),
        new("default-strict", "default", ["gate.kind=strict"], "gate.kind strict named: the same as default, whose gate it is at every size (kept so earlier results files read)"),
        new("default-strict-stop", "default", ["gate.kind=strict", "gate.strict.stop_probability=0.05"], "the strict gate with a futility stop at 0.05 named: the same as default (kept so earlier results files read)"),
        new("default-strict-no-stop", "default", ["gate.kind=strict", "gate.strict.stop_probability=0"], "the default without the futility stop (gate.strict.stop_probability 0: every candidate on the whole validation split)"),
        new("default-value-2e4", "default", ["gate.kind=posterior"], "the value-of-information gate instead of the posterior one, 2·10⁻⁴ of score per paired task", 2e-4),
        new("default-value-1e4", "default", ["gate.kind=posterior"], "the value-of-information gate instead of the posterior one, 10⁻⁴ of score per paired task", 1e-4),
    ];

    public static Variant? Find(string name) => All.FirstOrDefault(v => v.Name == name);

    public bool IsAblation => Name.StartsWith("default-", StringComparison.Ordinal);
}

/// <summary>One gated candidate of a run and its true effect (SimLab's oracle: candidate minus current skill, expected scores).</summary>
/// <param name="Kind"><c>step</c>, <c>combination</c> or <c>slow_update</c>.</param>
/// <param name="Step">The step (0 for slow updates).</param>
/// <param name="Verdict"><c>accept</c>, <c>reject</c> or <c>inconclusive</c>.</param>
/// <param name="Gate"><c>prescreen</c> (rejected before any validation), <c>posterior</c>, <c>paired</c> or <c>strict</c>.</param>
/// <param name="DeltaVal">True effect on the run's validation tasks (expected score).</param>
/// <param name="DeltaTest">True effect on the run's test tasks (expected score).</param>
/// <param name="Tasks">Tasks the deciding check scored.</param>
/// <param name="Reason">The gate's reason.</param>
internal sealed record CandidateResult(string Kind, int Step, string Verdict, string Gate, double DeltaVal, double DeltaTest, int Tasks, string Reason)
{
    /// <summary>True when the candidate reached a validation gate (the pre-screen did not discard it).</summary>
    public bool AtValidation => Gate != "prescreen";
}

/// <summary>One training run's measurements.</summary>
internal sealed record RunResult
{
    public required string Shape { get; init; }
    public required string Scenario { get; init; }
    public required string Preset { get; init; }
    public required int Seed { get; init; }
    public double Seconds { get; init; }
    public long TargetCalls { get; init; }
    public long OptimizerCalls { get; init; }
    public long PromptTokens { get; init; }
    public long CompletionTokens { get; init; }
    public double InitialVal { get; init; }
    public double BestVal { get; init; }
    public double? InitialTest { get; init; }
    public double? BestTest { get; init; }
    public double ExpectedInitialTest { get; init; }
    public double ExpectedBestTest { get; init; }
    public int Accepted { get; init; }
    public int Rejected { get; init; }
    public int Inconclusive { get; init; }
    public int Steps { get; init; }
    public int BestSkillTokens { get; init; }
    public long Faults { get; init; }
    public required string Splits { get; init; }
    public bool? FirstGateAccepted { get; init; }
    public bool StoppedEarly { get; init; }
    public bool BestIsInitial { get; init; }
    public int ProceduresInBest { get; init; }
    public int Procedures { get; init; }
    public IReadOnlyList<CandidateResult> Candidates { get; init; } = [];
    /// <summary>
    /// The approval check's verdict on the best skill against the initial one (the committed skill) on the run's test split,
    /// sample 0, at <see cref="ApprovalAlpha"/> (<see cref="SkillOpt.Core.Gates.ApprovalComparison"/>): true when shown
    /// better; null when the best skill is the initial one (nothing to approve) or the run was measured before the bench
    /// recorded it.
    /// </summary>
    public bool? ApprovalShownBetter { get; init; }
    /// <summary>The one-sided level the approval check used (<c>approval.alpha</c>); null in runs recorded before the bench kept it, which used 0.05.</summary>
    public double? ApprovalAlpha { get; init; }
    /// <summary>The approval check's one-sided sign test p-value in [0, 1] (pass/fail verifiers); null when there was nothing to approve, the scores were graded, or the run was recorded before the bench kept it.</summary>
    public double? ApprovalPValue { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public string Key => $"{Shape}|{Scenario}|{Preset}|{Seed}";
}
