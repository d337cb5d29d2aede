using System.Text.Json;
using System.Text.Json.Nodes;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer.Reports;

/// <summary>A model role of a run as <c>run_info.json</c> records it (never an endpoint or a key).</summary>
/// <param name="Provider">Provider kind after environment overrides (<c>openai</c>, <c>simlab</c>…).</param>
/// <param name="Model">Model id after environment overrides.</param>
internal sealed record RunModel(string Provider, string Model)
{
    /// <summary>True for providers whose replies are simulated (<c>simlab</c>, <c>scripted</c>).</summary>
    public bool IsSimulated => Provider is "simlab" or "scripted";

    /// <inheritdoc/>
    public override string ToString() => $"{Provider}/{Model}";
}

/// <summary>
/// <c>run_info.json</c>: what a run was started with, written by <c>skillopt train</c> into the run folder for the reports:
/// the skill, the verifier, both models and the whole configuration (endpoints removed; keys are never in it).
/// </summary>
internal sealed record RunInfo
{
    /// <summary>File format version.</summary>
    public int SchemaVersion { get; init; } = 1;
    /// <summary>Skill name.</summary>
    public required string Skill { get; init; }
    /// <summary>The skill file's name (no folder).</summary>
    public string? SkillFile { get; init; }
    /// <summary>The verifier assembly's file name.</summary>
    public string? Verifier { get; init; }
    /// <summary>The target model.</summary>
    public required RunModel Target { get; init; }
    /// <summary>The optimizer model.</summary>
    public required RunModel Optimizer { get; init; }
    /// <summary>The configuration as loaded (preset applied), without endpoints.</summary>
    public JsonNode? Configuration { get; init; }

    /// <summary>The file name in the run folder.</summary>
    public const string FileName = "run_info.json";

    /// <summary>Describes a run about to start.</summary>
    /// <param name="skill">Skill name.</param>
    /// <param name="skillFile">Skill file path.</param>
    /// <param name="verifier">Verifier assembly path.</param>
    /// <param name="options">The configuration.</param>
    /// <param name="environment">Reads environment overrides (<c>SKILLOPT_TARGET_PROVIDER</c>…).</param>
    public static RunInfo Create(string skill, string? skillFile, string? verifier, SkillOptOptions options, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        RunModel Role(string role, ModelRoleOptions o)
        {
            string Pick(string setting, string? configured) =>
                environment(SkillOpt.Providers.ChatClientFactory.EnvironmentVariableName(role, setting)) is { Length: > 0 } v ? v.Trim() : (configured ?? "").Trim();
            var provider = Pick("PROVIDER", o.Provider).ToLowerInvariant();
            var model = Pick("MODEL", o.Model);
            return new RunModel(provider.Length == 0 ? "custom" : provider, model.Length == 0 ? (provider == "simlab" ? "simlab" : "default") : model);
        }
        var config = JsonSerializer.SerializeToNode(options, SkillOptJson.Options);
        if (config?["models"] is JsonObject models)
        {
            foreach (var (_, role) in models)
            {
                (role as JsonObject)?.Remove("endpoint");
            }
        }
        return new RunInfo
        {
            Skill = skill,
            SkillFile = skillFile is null ? null : Path.GetFileName(skillFile),
            Verifier = verifier is null ? null : Path.GetFileName(verifier),
            Target = Role("target", options.Models.Target),
            Optimizer = Role("optimizer", options.Models.Optimizer),
            Configuration = config,
        };
    }
}

/// <summary>
/// A finished (or interrupted) run folder read for the reports: summary, history, checkpoint, tasks, run info, skills by
/// hash and stored evaluations (docs/run-folder.md). Reading never changes the folder.
/// </summary>
internal sealed class RunFolder
{
    private RunFolder(string root)
    {
        Root = root;
    }

    /// <summary>Absolute path of the run folder.</summary>
    public string Root { get; }

    /// <summary>The folder's name (e.g. <c>math-4216c4a1a7</c>).</summary>
    public string Name => Path.GetFileName(Root.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));

    /// <summary><c>summary.json</c>, or null while the run has not ended.</summary>
    public RunSummary? Summary { get; private init; }

    /// <summary><c>history.json</c>: one record per finished phase.</summary>
    public IReadOnlyList<HistoryRecord> History { get; private init; } = [];

    /// <summary><c>runtime_state.json</c>, or null.</summary>
    public RunState? State { get; private init; }

    /// <summary><c>run_info.json</c>, or null (runs started before it was written).</summary>
    public RunInfo? Info { get; private init; }

    /// <summary>Every task's split, from <c>tasks.json</c> (empty when missing).</summary>
    public IReadOnlyDictionary<string, string> Splits { get; private init; } = new Dictionary<string, string>();

    /// <summary>The skill name (<c>run_info.json</c>, else <c>tasks.json</c>, else the folder name).</summary>
    public string Skill { get; private init; } = "";

    /// <summary>Why this run's numbers are simulations (SimLab or scripted models), or null when a language model answered.</summary>
    public string? Simulated { get; private init; }

    /// <summary>Opens a run folder.</summary>
    /// <param name="folder">The folder.</param>
    /// <exception cref="Commands.TrainerException">SKOPT3004: the folder does not exist or holds no run (no <c>history.json</c>), or a file is unreadable.</exception>
    public static RunFolder Open(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var root = Path.GetFullPath(folder);
        if (!File.Exists(Path.Combine(root, "history.json")))
        {
            throw new Commands.TrainerException(TrainerDiagnostics.ReportInputs, $"not a run folder (no history.json): train first, or pass the run folder with --run", root);
        }
        try
        {
            var info = AtomicFile.ReadJson<RunInfo>(Path.Combine(root, RunInfo.FileName));
            string? skill = info?.Skill;
            var splits = new Dictionary<string, string>(StringComparer.Ordinal);
            if (File.Exists(Path.Combine(root, "tasks.json")))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "tasks.json")));
                skill ??= doc.RootElement.TryGetProperty("skill", out var s) ? s.GetString() : null;
                if (doc.RootElement.TryGetProperty("tasks", out var tasks))
                {
                    foreach (var t in tasks.EnumerateArray())
                    {
                        splits[t.GetProperty("task_id").GetString()!] = t.GetProperty("split").GetString()!;
                    }
                }
            }
            var simulatedFile = Path.Combine(root, SkillOpt.Trainer.Commands.SimLabHosting.MarkerFileName);
            var simulated = File.Exists(simulatedFile) ? "SimLab's simulated models answered (simulated.json)"
                : info is { } i && (i.Target.IsSimulated || i.Optimizer.IsSimulated)
                    ? $"the {(i.Target.IsSimulated && i.Optimizer.IsSimulated ? "target and optimizer models are" : i.Target.IsSimulated ? "target model is" : "optimizer model is")} simulated ({(i.Target.IsSimulated ? i.Target : i.Optimizer).Provider})"
                : null;
            return new RunFolder(root)
            {
                Summary = AtomicFile.ReadJson<RunSummary>(Path.Combine(root, "summary.json")),
                History = AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(root, "history.json")) ?? [],
                State = AtomicFile.ReadJson<RunState>(Path.Combine(root, "runtime_state.json")),
                Info = info,
                Splits = splits,
                Skill = skill ?? Path.GetFileName(root),
                Simulated = simulated,
            };
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException or KeyNotFoundException)
        {
            throw new Commands.TrainerException(TrainerDiagnostics.ReportInputs, $"the run folder is unreadable: {ex.Message}", root);
        }
    }

    /// <summary>Hash of the initial skill.</summary>
    public string? InitialHash => State?.InitialHash ?? Summary?.Initial.Hash;

    /// <summary>Hash of the best skill.</summary>
    public string? BestHash => State?.BestHash ?? Summary?.Best.Hash;

    /// <summary>A skill's text by hash (<c>skills/by_hash</c>), or null when it is not stored.</summary>
    /// <param name="hash">The skill hash.</param>
    public string? ReadSkill(string? hash)
    {
        if (hash is null)
        {
            return null;
        }
        var path = Path.Combine(Root, "skills", "by_hash", hash + ".md");
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    /// <summary>Every stored evaluation of a skill on a split, by sample index (ascending).</summary>
    /// <param name="split"><c>val</c> or <c>test</c>.</param>
    /// <param name="hash">The skill hash.</param>
    public IReadOnlyList<Evaluation> Evaluations(string split, string? hash)
    {
        var dir = Path.Combine(Root, "evaluations");
        if (hash is null || !Directory.Exists(dir))
        {
            return [];
        }
        return [.. Directory.EnumerateFiles(dir, $"{RunStore.EvaluationFilePrefix(split, hash)}*.json")
            .Select(f => AtomicFile.ReadJson<Evaluation>(f)).OfType<Evaluation>().Where(e => e.SkillHash == hash).OrderBy(e => e.SampleIndex)];
    }

    /// <summary>
    /// A skill's score per task on a split: the mean over every stored sample (validation draws) of its scored results;
    /// tasks never scored are absent.
    /// </summary>
    /// <param name="split"><c>val</c> or <c>test</c>.</param>
    /// <param name="hash">The skill hash.</param>
    public IReadOnlyDictionary<string, double> ScoresByTask(string split, string? hash) =>
        Evaluations(split, hash).SelectMany(e => e.Scored).GroupBy(r => r.TaskId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Average(r => r.Score), StringComparer.Ordinal);

    /// <summary>The run's wall time in seconds over every session (checkpoint), or the sum of its phases.</summary>
    public double WallSeconds => State?.ElapsedSeconds ?? History.Sum(h => h.Seconds);

    /// <summary>The first run folder under <paramref name="runsFolder"/> (most recently written first) that holds a run of <paramref name="skill"/>, or null.</summary>
    /// <param name="runsFolder">A folder of run folders (<c>.skillopt/runs</c>).</param>
    /// <param name="skill">The skill name; null for any.</param>
    /// <param name="bestHash">When set, only a run whose best skill has this hash.</param>
    public static string? FindLatest(string runsFolder, string? skill, string? bestHash = null)
    {
        if (!Directory.Exists(runsFolder))
        {
            return null;
        }
        foreach (var dir in Directory.EnumerateDirectories(runsFolder).Where(d => File.Exists(Path.Combine(d, "history.json")))
                     .OrderByDescending(d => File.GetLastWriteTimeUtc(Path.Combine(d, "history.json"))))
        {
            var name = Path.GetFileName(dir);
            if (skill is not null && name != skill && !name.StartsWith(skill + "-", StringComparison.Ordinal))
            {
                continue;
            }
            if (bestHash is not null && AtomicFile.ReadJson<RunSummary>(Path.Combine(dir, "summary.json"))?.Best.Hash != bestHash)
            {
                continue;
            }
            return dir;
        }
        return null;
    }
}
