using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;

namespace SkillOpt.Testing.Gate;

/// <summary>One task's outcome in a <see cref="ScoreReceipt"/>.</summary>
/// <param name="Outcome"><c>passed</c>, <c>failed</c>, <c>errored</c> or <c>skipped</c>.</param>
/// <param name="Score">Score in [0, 1] (rounded to 6 decimals) for <c>passed</c> and <c>failed</c>; <see langword="null"/> otherwise.</param>
internal sealed record ReceiptTask(string Outcome, double? Score)
{
    /// <summary>True for <c>passed</c> and <c>failed</c> (evidence about the skill).</summary>
    public bool IsScored => Outcome is "passed" or "failed";

    /// <summary>The receipt form of a verifier result.</summary>
    /// <param name="result">A task result.</param>
    public static ReceiptTask From(RolloutResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var outcome = OutcomeName(result.Outcome);
        return new ReceiptTask(outcome, result.IsScored ? Math.Round(Math.Clamp(result.Score, 0, 1), 6) : null);
    }

    /// <summary>The receipt name of an outcome (snake_case, as in result files).</summary>
    /// <param name="outcome">An outcome.</param>
    public static string OutcomeName(TaskOutcome outcome) => outcome switch
    {
        TaskOutcome.Passed => "passed",
        TaskOutcome.Failed => "failed",
        TaskOutcome.Errored => "errored",
        _ => "skipped",
    };

    /// <summary><c>passed (1)</c>, <c>failed (0.5)</c>, <c>errored</c>…</summary>
    public override string ToString() => Score is { } s ? $"{Outcome} ({s.ToString("0.######", CultureInfo.InvariantCulture)})" : Outcome;
}

/// <summary>Counts and mean score of one split in a <see cref="ScoreReceipt"/>.</summary>
/// <param name="Tasks">Tasks of the split in the receipt.</param>
/// <param name="Passed">Passed tasks.</param>
/// <param name="Failed">Failed tasks.</param>
/// <param name="Errored">Errored tasks (not evidence).</param>
/// <param name="Skipped">Skipped tasks (not evidence).</param>
/// <param name="MeanScore">Mean score in [0, 1] over passed and failed tasks (rounded to 6 decimals); 0 when none.</param>
internal sealed record ReceiptTotals(int Tasks, int Passed, int Failed, int Errored, int Skipped, double MeanScore)
{
    /// <summary>Passed plus failed tasks.</summary>
    public int Scored => Passed + Failed;

    /// <summary>Computes the totals of a split's tasks.</summary>
    /// <param name="tasks">The split's tasks.</param>
    public static ReceiptTotals Of(IReadOnlyDictionary<string, ReceiptTask> tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        var scored = tasks.Values.Where(t => t.IsScored).ToList();
        return new ReceiptTotals(tasks.Count, tasks.Values.Count(t => t.Outcome == "passed"), tasks.Values.Count(t => t.Outcome == "failed"),
            tasks.Values.Count(t => t.Outcome == "errored"), tasks.Values.Count(t => t.Outcome == "skipped"),
            scored.Count == 0 ? 0 : Math.Round(scored.Average(t => t.Score ?? 0), 6));
    }
}

/// <summary>The target model a receipt was scored with: provider, model and sampling settings (never an endpoint or a key).</summary>
/// <param name="Provider">Provider kind (<c>openai</c>, <c>anthropic</c>, <c>simlab</c>, <c>scripted</c>…).</param>
/// <param name="Model">Model id (for Azure OpenAI the deployment name).</param>
/// <param name="Temperature">Temperature, when configured.</param>
/// <param name="MaxOutputTokens">Output token limit, when configured.</param>
/// <param name="ReasoningEffort">Reasoning effort, when configured.</param>
/// <param name="Seed">The role's configured seed, when set (each task also sends its sample index as the seed).</param>
internal sealed record ReceiptTarget(string Provider, string Model, double? Temperature = null, int? MaxOutputTokens = null, string? ReasoningEffort = null, long? Seed = null)
{
    /// <summary>True for the providers whose replies are simulated, not a language model's (<c>simlab</c>, <c>scripted</c>).</summary>
    public bool IsSimulated => Provider is "simlab" or "scripted";

    /// <summary><c>provider/model</c> plus the settings that are set.</summary>
    public override string ToString()
    {
        var settings = new List<string>();
        if (Temperature is { } t) settings.Add("temperature " + t.ToString("0.####", CultureInfo.InvariantCulture));
        if (MaxOutputTokens is { } m) settings.Add("max_output_tokens " + m.ToString(CultureInfo.InvariantCulture));
        if (ReasoningEffort is { } r) settings.Add("reasoning_effort " + r);
        if (Seed is { } s) settings.Add("seed " + s.ToString(CultureInfo.InvariantCulture));
        return $"{Provider}/{Model}" + (settings.Count == 0 ? "" : $" ({string.Join(", ", settings)})");
    }
}

/// <summary>
/// The score receipt of an approved skill (<c>SKILL.receipt.json</c>): the evidence a reviewer reads in a pull request and
/// the reference the skill gate compares with. Stable JSON: keys sorted (ordinal) at every level, tasks sorted by id, two-space
/// indentation, LF line endings, a trailing newline, no timestamps and no machine paths, so identical inputs give
/// byte-identical files (<see cref="ToJson"/>).
/// </summary>
/// <param name="Skill">Skill name.</param>
/// <param name="SkillFile">The skill file's name (no folder).</param>
/// <param name="SkillSha256">Lower-case hex SHA-256 of the skill text (UTF-8, as read without a BOM).</param>
/// <param name="Target">The target model and its sampling settings.</param>
/// <param name="SampleIndex">The sample index (the seed each task sent) of the evaluation.</param>
/// <param name="Splits">Every task of the skill and its split (<c>train</c>, <c>val</c>, <c>test</c>).</param>
/// <param name="Validation">Outcomes on the validation split, by task id.</param>
/// <param name="Test">Outcomes on the test split, by task id.</param>
/// <param name="RecordingKeys">How many recorded target requests the recording holds.</param>
internal sealed record ScoreReceipt(
    string Skill,
    string SkillFile,
    string SkillSha256,
    ReceiptTarget Target,
    int SampleIndex,
    IReadOnlyDictionary<string, string> Splits,
    IReadOnlyDictionary<string, ReceiptTask> Validation,
    IReadOnlyDictionary<string, ReceiptTask> Test,
    int RecordingKeys)
{
    /// <summary>The version written by this library.</summary>
    public const int CurrentSchemaVersion = 1;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        NewLine = "\n",
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>File format version.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>
    /// The comparison with the committed skill made before this skill was proposed for approval (<c>approval_check</c>;
    /// absent when there was no other committed skill to compare with). A receipt of an unchanged skill keeps the one its
    /// approved receipt holds.
    /// </summary>
    public ApprovalComparison? ApprovalCheck { get; init; }

    /// <summary>Totals of the validation split.</summary>
    public ReceiptTotals ValidationTotals => ReceiptTotals.Of(Validation);

    /// <summary>Totals of the test split.</summary>
    public ReceiptTotals TestTotals => ReceiptTotals.Of(Test);

    /// <summary>Lower-case hex SHA-256 of <paramref name="text"/> encoded as UTF-8 (the hash result files and receipts use).</summary>
    /// <param name="text">A skill text.</param>
    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text ?? throw new ArgumentNullException(nameof(text)))));

    /// <summary>Builds a receipt from evaluation results.</summary>
    /// <param name="skill">Skill name.</param>
    /// <param name="skillFileName">The skill file's name (a folder part is dropped).</param>
    /// <param name="skillText">The skill text that was evaluated.</param>
    /// <param name="target">Target model and settings.</param>
    /// <param name="sampleIndex">Sample index of the evaluation.</param>
    /// <param name="splits">Every task id and its split.</param>
    /// <param name="validation">Results on the validation tasks (any order).</param>
    /// <param name="test">Results on the test tasks (any order).</param>
    /// <param name="recordingKeys">Recorded requests in the recording.</param>
    public static ScoreReceipt Create(string skill, string skillFileName, string skillText, ReceiptTarget target, int sampleIndex,
        IReadOnlyDictionary<string, string> splits, IEnumerable<RolloutResult> validation, IEnumerable<RolloutResult> test, int recordingKeys)
    {
        ArgumentException.ThrowIfNullOrEmpty(skill);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(splits);
        return new ScoreReceipt(skill, Path.GetFileName(skillFileName), Sha256(skillText), target, sampleIndex,
            new SortedDictionary<string, string>(splits.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal),
            ToTasks(validation), ToTasks(test), recordingKeys);
    }

    private static SortedDictionary<string, ReceiptTask> ToTasks(IEnumerable<RolloutResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var d = new SortedDictionary<string, ReceiptTask>(StringComparer.Ordinal);
        foreach (var r in results)
        {
            d[r.TaskId] = ReceiptTask.From(r);
        }
        return d;
    }

    /// <summary>The canonical JSON text (see the type's remarks); identical receipts give identical text.</summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["schema_version"] = SchemaVersion,
            ["skill"] = Skill,
            ["skill_file"] = SkillFile,
            ["skill_sha256"] = SkillSha256,
            ["target"] = TargetNode(Target),
            ["sample_index"] = SampleIndex,
            ["splits"] = new JsonObject(Splits.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["validation"] = SplitNode(Validation),
            ["test"] = SplitNode(Test),
            ["recording"] = new JsonObject { ["keys"] = RecordingKeys },
        };
        if (ApprovalCheck is not null)
        {
            root["approval_check"] = JsonSerializer.SerializeToNode(ApprovalCheck, SkillOptJson.Options);
        }
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            WriteSorted(writer, root);
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>Parses a receipt written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="origin">File name for error messages.</param>
    /// <exception cref="InvalidDataException">The text is not a receipt of a supported version (the message names <paramref name="origin"/>).</exception>
    public static ScoreReceipt Parse(string json, string origin = "receipt")
    {
        try
        {
            var root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException("not a JSON object");
            var version = root["schema_version"]?.GetValue<int>() ?? throw new InvalidDataException("schema_version is missing");
            if (version != CurrentSchemaVersion)
            {
                throw new InvalidDataException($"schema_version {version} is not supported (this library reads version {CurrentSchemaVersion})");
            }
            var target = root["target"] as JsonObject ?? throw new InvalidDataException("target is missing");
            return new ScoreReceipt(
                Required(root, "skill"),
                Required(root, "skill_file"),
                Required(root, "skill_sha256"),
                new ReceiptTarget(Required(target, "provider"), Required(target, "model"), target["temperature"]?.GetValue<double>(),
                    target["max_output_tokens"]?.GetValue<int>(), target["reasoning_effort"]?.GetValue<string>(), target["seed"]?.GetValue<long>()),
                root["sample_index"]?.GetValue<int>() ?? 0,
                new SortedDictionary<string, string>((root["splits"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()), StringComparer.Ordinal),
                ParseSplit(root["validation"]),
                ParseSplit(root["test"]),
                root["recording"]?["keys"]?.GetValue<int>() ?? 0)
            {
                SchemaVersion = version,
                ApprovalCheck = root["approval_check"]?.Deserialize<ApprovalComparison>(SkillOptJson.Options),
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or InvalidDataException or NullReferenceException)
        {
            throw new InvalidDataException($"{origin}: not a valid SkillOpt score receipt: {ex.Message}", ex);
        }
    }

    /// <summary>Reads a receipt file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The file is not a receipt (the message names it).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static ScoreReceipt Read(string path) => Parse(File.ReadAllText(path), path);

    private static string Required(JsonObject o, string key) =>
        o[key]?.GetValue<string>() is { Length: > 0 } v ? v : throw new InvalidDataException($"'{key}' is missing");

    private static SortedDictionary<string, ReceiptTask> ParseSplit(JsonNode? node)
    {
        var tasks = new SortedDictionary<string, ReceiptTask>(StringComparer.Ordinal);
        foreach (var (id, t) in node?["tasks"] as JsonObject ?? [])
        {
            tasks[id] = new ReceiptTask(t?["outcome"]?.GetValue<string>() ?? throw new InvalidDataException($"task '{id}' has no outcome"), t["score"]?.GetValue<double>());
        }
        return tasks;
    }

    private static JsonObject TargetNode(ReceiptTarget t)
    {
        var o = new JsonObject { ["provider"] = t.Provider, ["model"] = t.Model };
        if (t.Temperature is { } temperature) o["temperature"] = Math.Round(temperature, 4);
        if (t.MaxOutputTokens is { } max) o["max_output_tokens"] = max;
        if (t.ReasoningEffort is { } effort) o["reasoning_effort"] = effort;
        if (t.Seed is { } seed) o["seed"] = seed;
        return o;
    }

    private static JsonObject SplitNode(IReadOnlyDictionary<string, ReceiptTask> tasks)
    {
        var node = new JsonObject();
        foreach (var (id, t) in tasks)
        {
            var task = new JsonObject { ["outcome"] = t.Outcome };
            if (t.Score is { } s) task["score"] = s;
            node[id] = task;
        }
        var totals = ReceiptTotals.Of(tasks);
        return new JsonObject
        {
            ["tasks"] = node,
            ["totals"] = new JsonObject
            {
                ["tasks"] = totals.Tasks,
                ["passed"] = totals.Passed,
                ["failed"] = totals.Failed,
                ["errored"] = totals.Errored,
                ["skipped"] = totals.Skipped,
                ["mean_score"] = totals.MeanScore,
            },
        };
    }

    /// <summary>Writes <paramref name="node"/> with object keys in ordinal order at every level.</summary>
    private static void WriteSorted(Utf8JsonWriter w, JsonNode? node)
    {
        switch (node)
        {
            case null:
                w.WriteNullValue();
                break;
            case JsonObject o:
                w.WriteStartObject();
                foreach (var (k, v) in o.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    w.WritePropertyName(k);
                    WriteSorted(w, v);
                }
                w.WriteEndObject();
                break;
            case JsonArray a:
                w.WriteStartArray();
                foreach (var v in a)
                {
                    WriteSorted(w, v);
                }
                w.WriteEndArray();
                break;
            default:
                node.WriteTo(w);
                break;
        }
    }
}
