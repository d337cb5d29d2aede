using System.Text.Json;
using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Tests.Infrastructure;
using SkillOpt.Testing.Verifiers;

namespace SkillOpt.Testing.Tests;

public class ResultFileTests
{
    [Fact]
    public void A_result_file_is_versioned_snake_case_json_that_reads_back()
    {
        using var dir = new TempFolder();
        var result = new RolloutResult
        {
            TaskId = "math/Fractions.Adds/q-1",
            Outcome = TaskOutcome.Failed,
            Score = 0.5,
            Reason = "Expected 5/6",
            Transcript = [new TranscriptMessage("user", "1/2+1/3?"), new TranscriptMessage("assistant", null, [new TranscriptToolCall("c1", "add", "{}")]),
                new TranscriptMessage("tool", "5/6", null, "c1")],
            FinalAnswer = "2/5",
            Usage = new TokenUsage(10, 5, 0, 2),
            DurationSeconds = 1.25,
        };
        var path = VerifierResultFile.Write(dir.Path, result, "abc123", 3, "rollout");

        Assert.Equal(VerifierResultFile.PathFor(dir.Path, result.TaskId), path);
        var json = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        Assert.Equal("schema_version", json.EnumerateObject().First().Name);
        Assert.Equal(1, json.GetProperty("schema_version").GetInt32());
        Assert.Equal("failed", json.GetProperty("outcome").GetString());
        Assert.Equal("math/Fractions.Adds/q-1", json.GetProperty("task_id").GetString());
        Assert.Equal(2, json.GetProperty("usage").GetProperty("calls").GetInt32());
        Assert.Equal("c1", json.GetProperty("transcript")[2].GetProperty("tool_call_id").GetString());
        Assert.Equal(3, json.GetProperty("sample_index").GetInt32());

        var back = VerifierResultFile.Read(path);
        Assert.Equal(result.TaskId, back.Result.TaskId);
        Assert.Equal(TaskOutcome.Failed, back.Result.Outcome);
        Assert.Equal(0.5, back.Result.Score);
        Assert.Equal(3, back.Result.Transcript.Count);
        Assert.Equal("abc123", back.SkillHash);
        Assert.Equal("rollout", back.Stage);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Theory]
    [InlineData("""{"schema_version":2,"task_id":"a","outcome":"passed"}""", "schema_version 2")]
    [InlineData("""{"task_id":"a","outcome":"passed"}""", "schema_version is missing")]
    [InlineData("""{"schema_version":1,"task_id":"a","outcome":"passed","score":3}""", "outside [0,1]")]
    [InlineData("""{"schema_version":1,"task_id":"a","outcome":"great"}""", "not a valid")]
    [InlineData("not json", "not a valid")]
    public void Unusable_result_files_are_refused_with_the_file_name(string content, string expected)
    {
        using var dir = new TempFolder();
        var path = dir.Combine("r.json");
        File.WriteAllText(path, content);
        var ex = Assert.Throws<InvalidDataException>(() => VerifierResultFile.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains(expected, ex.Message);
    }
}
