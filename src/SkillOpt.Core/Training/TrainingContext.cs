using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Training;

/// <summary>
/// What every phase of a run shares: the resolved settings, the run folder, usage and reply-failure accounting, the budget,
/// the verifier-leak guard, the session clock and progress reporting, plus the seeded orderings that make a run
/// deterministic (train batches, pre-screen tasks, proposals).
/// </summary>
internal sealed class TrainingContext(TrainingSettings settings, RunStore store, RunBudget budget, IProgress<TrainingProgress>? progress)
{
    /// <summary>The resolved settings.</summary>
    public TrainingSettings Settings { get; } = settings;

    /// <summary>The run folder.</summary>
    public RunStore Store { get; } = store;

    /// <summary>Calls, tokens and wall time by stage.</summary>
    public StageUsageTracker Usage { get; } = new();

    /// <summary>Optimizer replies repaired or unusable, by stage.</summary>
    public ReplyFailureCounter ReplyFailures { get; } = new();

    /// <summary>The run's spending limits.</summary>
    public RunBudget Budget { get; } = budget;

    /// <summary>Verifier literals seen so far (redaction and leak filtering).</summary>
    public VerifierLeakGuard LeakGuard { get; } = new();

    /// <summary>Wall time of this session (since <see cref="StartSession"/>).</summary>
    private readonly Stopwatch _session = new();

    /// <summary>Wall time of the sessions before this one, in seconds.</summary>
    private double _elapsedBeforeSession;

    /// <summary>Where the verifier literals are kept between sessions.</summary>
    public string LiteralsPath => Path.Combine(Store.Root, "verifier_literals.json");

    /// <summary>Where the step buffer is kept (<c>classic</c> preset).</summary>
    public string StepBufferPath => Path.Combine(Store.Root, "step_buffer.json");

    /// <summary>Starts this session's clock after <paramref name="elapsedBefore"/> seconds of earlier sessions.</summary>
    public void StartSession(double elapsedBefore)
    {
        _elapsedBeforeSession = elapsedBefore;
        _session.Restart();
    }

    /// <summary>Spending so far, this session's wall time included.</summary>
    public Spending Spent() => Budget.Measure(Usage.Snapshot(), _elapsedBeforeSession + _session.Elapsed.TotalSeconds);

    /// <summary>Deterministic seeded order of task ids: by SHA-256 of (seed, salt, id); stable across machines and runtimes.</summary>
    public IEnumerable<string> Order(IEnumerable<string> ids, string salt) =>
        ids.OrderBy(id => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{Settings.Seed}|{salt}|{id}"))), StringComparer.Ordinal).ThenBy(id => id, StringComparer.Ordinal);

    /// <summary>Steps per epoch: ceil(|train| / batch size).</summary>
    public int BatchesPerEpoch(TaskSplits splits) => (splits.Train.Count + Settings.BatchSize - 1) / Settings.BatchSize;

    /// <summary>The train tasks of batch <paramref name="batch"/> (0-based) of epoch <paramref name="epoch"/>.</summary>
    public List<string> Batch(TaskSplits splits, int epoch, int batch) =>
        Order(splits.Train, $"epoch:{epoch}").Skip(batch * Settings.BatchSize).Take(Settings.BatchSize).ToList();

    /// <summary>Writes the next skill version (<c>skills/skill_vNNNN.md</c>) and counts it in the state.</summary>
    public RunState WriteVersion(RunState state, string skill)
    {
        var v = state.SkillVersion + 1;
        Store.WriteSkillVersion(v, skill);
        return state with { SkillVersion = v };
    }

    /// <summary>The stored validation score the current skill is credited with (the strict gate's incumbent), 0 when none.</summary>
    public double IncumbentScore(RunState state) => Store.ReadEvaluation("val", state.IncumbentEvaluationHash, state.IncumbentSample)?.MeanScore ?? 0;

    /// <summary>Sends one progress event.</summary>
    public void Report(string stage, string message, int epoch, int step, int totalSteps) =>
        progress?.Report(new TrainingProgress(stage, message, epoch, step, totalSteps));

    /// <summary>Sends one warning (a progress event with its diagnostic code).</summary>
    public void Warn(string stage, string code, string message) =>
        progress?.Report(new TrainingProgress(stage, message, 0, 0, 0, code));
}

/// <summary>One call of <see cref="SkillTrainingLoop.RunAsync"/>: its splits, plan, rejected-edit buffer and history so far.</summary>
/// <param name="Splits">Task ids by split.</param>
/// <param name="Plan">Every phase of the run.</param>
/// <param name="TotalSteps">Steps in the plan.</param>
/// <param name="Buffer">The rejected-edit buffer.</param>
/// <param name="History">The history records of the finished phases (appended as phases finish).</param>
/// <param name="StepBuffer">The per-epoch step buffer (<c>classic</c> preset; empty otherwise).</param>
internal sealed record RunScope(TaskSplits Splits, IReadOnlyList<Phase> Plan, int TotalSteps, RejectedEditBuffer Buffer, List<HistoryRecord> History, StepBuffer StepBuffer);

/// <summary>Text shortening for optimizer prompts.</summary>
internal static class TextLimits
{
    /// <summary><paramref name="s"/> on one line, cut to <paramref name="max"/> characters (an ellipsis marks the cut).</summary>
    public static string Short(string s, int max) => (s.Length <= max ? s : s[..max] + "…").Replace("\n", " ", StringComparison.Ordinal);
}
