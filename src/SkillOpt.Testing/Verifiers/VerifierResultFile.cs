using SkillOpt.Core;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;

namespace SkillOpt.Testing.Verifiers;

/// <summary>What a result file holds besides the <see cref="RolloutResult"/> fields.</summary>
/// <param name="Result">The task's result.</param>
/// <param name="SchemaVersion">File format version (<see cref="VerifierResultFile.SchemaVersion"/>).</param>
/// <param name="SkillHash">Hex SHA-256 of the skill text the target model was given; <see langword="null"/> when no agent ran.</param>
/// <param name="SampleIndex">The sample index the task ran with.</param>
/// <param name="Stage">The stage named by the trainer, when one was.</param>
internal sealed record VerifierResult(RolloutResult Result, int SchemaVersion, string? SkillHash, int? SampleIndex, string? Stage);

/// <summary>
/// The per-task result file, the contract between a verifier process and the trainer: one JSON file per task in
/// <see cref="VerifierEnvironment.ResultsDir"/>, named by <see cref="SkillTaskId.ResultFileName"/>, written atomically
/// with <see cref="AtomicFile"/>, holding <c>schema_version</c> and every <see cref="RolloutResult"/> field in snake_case
/// (plus <c>skill_hash</c>, <c>sample_index</c> and <c>stage</c>). Every string but the ids is passed through
/// <see cref="SecretRedaction"/> when the file is written and again when it is read.
/// </summary>
internal static class VerifierResultFile
{
    /// <summary>The version written by this library.</summary>
    public const int SchemaVersion = 1;

    /// <summary>The path of <paramref name="taskId"/>'s result file in <paramref name="resultsDir"/>.</summary>
    /// <param name="resultsDir">The results folder.</param>
    /// <param name="taskId">The task id.</param>
    public static string PathFor(string resultsDir, string taskId) => Path.Combine(resultsDir, SkillTaskId.ResultFileName(taskId));

    /// <summary>Returns the file's JSON text for a result.</summary>
    /// <param name="result">The result.</param>
    /// <param name="skillHash">Hash of the skill the agent used, if any.</param>
    /// <param name="sampleIndex">The sample index.</param>
    /// <param name="stage">The stage, if any.</param>
    /// <param name="extra">Further fields to add (informational; readers ignore fields they do not know).</param>
    public static string ToJson(RolloutResult result, string? skillHash, int? sampleIndex, string? stage, JsonObject? extra = null) =>
        ToNode(result, skillHash, sampleIndex, stage, extra).ToJsonString(SkillOptJson.Options);

    /// <summary>Writes <paramref name="result"/> atomically into <paramref name="resultsDir"/> and returns the file's path.</summary>
    /// <param name="resultsDir">The results folder (created when missing).</param>
    /// <param name="result">The result.</param>
    /// <param name="skillHash">Hash of the skill the agent used, if any.</param>
    /// <param name="sampleIndex">The sample index.</param>
    /// <param name="stage">The stage, if any.</param>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <param name="extra">Further fields to add (informational; readers ignore fields they do not know).</param>
    public static string Write(string resultsDir, RolloutResult result, string? skillHash, int? sampleIndex, string? stage, JsonObject? extra = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var path = PathFor(resultsDir, result.TaskId);
        AtomicFile.WriteJson(path, ToNode(result, skillHash, sampleIndex, stage, extra));
        return path;
    }

    /// <summary>Reads a result file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The file is not a result file of a supported version (the message names the file).</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    public static VerifierResult Read(string path)
    {
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException("not a JSON object");
            // also what a verifier built on an older library wrote: no secret goes further than this file
            SecretRedaction.RedactStrings(node, KeptUnredacted);
            var version = node["schema_version"]?.GetValue<int>() ?? throw new InvalidDataException("schema_version is missing");
            if (version != SchemaVersion)
            {
                throw new InvalidDataException($"schema_version {version} is not supported (this trainer reads version {SchemaVersion})");
            }
            var result = node.Deserialize<RolloutResult>(SkillOptJson.Options) ?? throw new InvalidDataException("empty result");
            if (result.Score is < 0 or > 1 || double.IsNaN(result.Score))
            {
                throw new InvalidDataException($"score {result.Score} is outside [0,1]");
            }
            return new VerifierResult(result, version, node["skill_hash"]?.GetValue<string>(), node["sample_index"]?.GetValue<int>(), node["stage"]?.GetValue<string>());
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"{path}: not a valid SkillOpt result file: {ex.Message}", ex);
        }
    }

    /// <summary>Fields that identify the result and must match the request; every other string is redacted.</summary>
    private static readonly string[] KeptUnredacted = ["task_id", "skill_hash", "stage", "outcome"];

    private static JsonObject ToNode(RolloutResult result, string? skillHash, int? sampleIndex, string? stage, JsonObject? extra)
    {
        var fields = JsonSerializer.SerializeToNode(result, SkillOptJson.Options)!.AsObject();
        var node = new JsonObject { ["schema_version"] = SchemaVersion };
        foreach (var (k, v) in fields.ToList())
        {
            fields.Remove(k);
            node[k] = v;
        }
        if (skillHash is not null)
        {
            node["skill_hash"] = skillHash;
        }
        if (sampleIndex is not null)
        {
            node["sample_index"] = sampleIndex;
        }
        if (stage is not null)
        {
            node["stage"] = stage;
        }
        foreach (var (k, v) in extra ?? [])
        {
            if (!node.ContainsKey(k))
            {
                node[k] = v?.DeepClone();
            }
        }
        // transcripts, reasons and answers may hold what a verifier or a model printed: keys never reach the file
        SecretRedaction.RedactStrings(node, KeptUnredacted);
        return node;
    }
}
