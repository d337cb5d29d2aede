using System.Globalization;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Runs;

/// <summary>
/// The run folder: <c>best_skill.md</c>, <c>history.json</c>, <c>skills/skill_vNNNN.md</c>, <c>steps/…</c>,
/// <c>evaluations/</c> (validation and test results keyed by skill hash and sample), <c>rejected_edits.json</c>,
/// <c>summary.json</c> and <c>runtime_state.json</c>. Every write is atomic (<see cref="AtomicFile"/>); a write the file
/// system refuses (disk full, read-only, permission, the folder gone) is an <see cref="OutputWriteException"/>
/// (<c>SKOPT2010</c>) that leaves the last checkpoint intact, so the run resumes once the condition is fixed.
/// </summary>
internal sealed class RunStore
{
    /// <summary>Opens (and creates) the run folder at <paramref name="root"/>.</summary>
    /// <param name="root">The run folder.</param>
    /// <exception cref="OutputWriteException">The folder cannot be created (SKOPT2010).</exception>
    public RunStore(string root)
    {
        Root = AtomicFile.CreateDirectory(root);
    }

    /// <summary>Absolute path of the run folder.</summary>
    public string Root { get; }

    /// <summary>Path of the checkpoint file.</summary>
    public string StatePath => Path.Combine(Root, "runtime_state.json");
    /// <summary>Path of <c>history.json</c>.</summary>
    public string HistoryPath => Path.Combine(Root, "history.json");
    /// <summary>Path of <c>rejected_edits.json</c>.</summary>
    public string RejectedEditsPath => Path.Combine(Root, "rejected_edits.json");
    /// <summary>Path of <c>summary.json</c>.</summary>
    public string SummaryPath => Path.Combine(Root, "summary.json");
    /// <summary>Path of <c>best_skill.md</c>.</summary>
    public string BestSkillPath => Path.Combine(Root, "best_skill.md");

    /// <summary>Folder of one phase's artefacts, e.g. <c>steps/step_0003</c> or <c>steps/epoch_02_slow_update</c>.</summary>
    /// <exception cref="OutputWriteException">The folder cannot be created (SKOPT2010).</exception>
    public string PhaseFolder(string name) => AtomicFile.CreateDirectory(Path.Combine(Root, "steps", name));

    /// <summary>Stores a skill by content hash (immutable; idempotent).</summary>
    public void SaveSkill(string hash, string text)
    {
        var p = SkillByHashPath(hash);
        if (!File.Exists(p))
        {
            AtomicFile.WriteAllText(p, text);
        }
    }

    /// <summary>Reads a skill stored by <see cref="SaveSkill"/>.</summary>
    /// <exception cref="FileNotFoundException">No skill with that hash is stored (the run folder is damaged).</exception>
    /// <exception cref="OutputWriteException">The run folder itself is gone (SKOPT2010).</exception>
    public string ReadSkill(string hash)
    {
        var p = SkillByHashPath(hash);
        if (File.Exists(p))
        {
            return File.ReadAllText(p);
        }
        if (!Directory.Exists(Root))
        {
            throw OutputWriteException.Create(p, Root, OutputWriteFailure.Vanished, null);
        }
        throw new FileNotFoundException($"The run folder has no skill with hash {hash} (expected {p}).", p);
    }

    /// <summary>Writes <c>skills/skill_vNNNN.md</c>.</summary>
    public void WriteSkillVersion(int version, string text) =>
        AtomicFile.WriteAllText(Path.Combine(Root, "skills", $"skill_v{version.ToString("D4", CultureInfo.InvariantCulture)}.md"), text);

    /// <summary>Path of the stored evaluation of a skill with a sample index on a split.</summary>
    public string EvaluationPath(string split, string hash, int sample) =>
        Path.Combine(Root, "evaluations", $"{EvaluationFilePrefix(split, hash)}{sample.ToString(CultureInfo.InvariantCulture)}.json");

    /// <summary>
    /// The start of the file names of a skill's stored evaluations on a split, every sample (<c>{split}_{hash[..16]}_s</c>,
    /// followed by the sample index and <c>.json</c> in <c>evaluations/</c>).
    /// </summary>
    public static string EvaluationFilePrefix(string split, string hash) => $"{split}_{hash[..Math.Min(16, hash.Length)]}_s";

    /// <summary>Reads a stored evaluation, or null.</summary>
    public Evaluation? ReadEvaluation(string split, string hash, int sample) => AtomicFile.ReadJson<Evaluation>(EvaluationPath(split, hash, sample));

    /// <summary>Stores an evaluation.</summary>
    public void WriteEvaluation(string split, Evaluation evaluation)
    {
        var path = EvaluationPath(split, evaluation.SkillHash, evaluation.SampleIndex);
        AtomicFile.WriteJson(path, evaluation);
        lock (_fileTallies)
        {
            _fileTallies.Remove(path);
        }
    }

    /// <summary>
    /// Each stored validation file's pass/fail counts by task, read once (<see cref="ValidationTallies"/> runs before every
    /// strict-gate decision, and the files hold whole transcripts); a file is read again after <see cref="WriteEvaluation"/>
    /// rewrites it, the only writer of <c>evaluations/</c>.
    /// </summary>
    private readonly Dictionary<string, Dictionary<string, TaskTally>> _fileTallies = new(StringComparer.Ordinal);

    /// <summary>
    /// Pass/fail counts by validation task over every stored validation of the run (<c>evaluations/val_*.json</c>: the
    /// baseline, every gated candidate, the final skill), leaving out the skill <paramref name="excludedHash"/>: the
    /// skill being gated, whose own results would count twice, and whose part-stored validation after an interruption
    /// would let a resumed decision see what the uninterrupted one did not. Scored results with a score of exactly 0 or 1
    /// only (errored and graded results are left out). Empty when nothing is stored.
    /// </summary>
    /// <param name="excludedHash">Hash of the skill whose evaluations are left out.</param>
    public Dictionary<string, TaskTally> ValidationTallies(string excludedHash)
    {
        ArgumentNullException.ThrowIfNull(excludedHash);
        var tally = new Dictionary<string, TaskTally>(StringComparer.Ordinal);
        var dir = Path.Combine(Root, "evaluations");
        if (!Directory.Exists(dir))
        {
            return tally;
        }
        var excluded = EvaluationFilePrefix("val", excludedHash);
        foreach (var file in Directory.EnumerateFiles(dir, "val_*.json").Where(f => !Path.GetFileName(f).StartsWith(excluded, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            foreach (var (task, t) in FileTallies(file))
            {
                var sum = tally.GetValueOrDefault(task);
                tally[task] = new TaskTally(sum.Passes + t.Passes, sum.Failures + t.Failures);
            }
        }
        return tally;
    }

    /// <summary>One stored validation file's pass/fail counts by task, from <see cref="_fileTallies"/> or read now.</summary>
    private Dictionary<string, TaskTally> FileTallies(string file)
    {
        lock (_fileTallies)
        {
            if (_fileTallies.TryGetValue(file, out var cached))
            {
                return cached;
            }
        }
        var tally = new Dictionary<string, TaskTally>(StringComparer.Ordinal);
        foreach (var r in AtomicFile.ReadJson<Evaluation>(file)?.Results ?? [])
        {
            if (r.IsScored && r.Score is 0 or 1)
            {
                var t = tally.GetValueOrDefault(r.TaskId);
                tally[r.TaskId] = r.Score >= 1 ? t with { Passes = t.Passes + 1 } : t with { Failures = t.Failures + 1 };
            }
        }
        lock (_fileTallies)
        {
            _fileTallies[file] = tally;
        }
        return tally;
    }

    /// <summary>Reads <c>history.json</c> (empty when absent).</summary>
    public List<HistoryRecord> ReadHistory() => AtomicFile.ReadJson<List<HistoryRecord>>(HistoryPath) ?? [];

    private string SkillByHashPath(string hash) => Path.Combine(Root, "skills", "by_hash", hash + ".md");
}
