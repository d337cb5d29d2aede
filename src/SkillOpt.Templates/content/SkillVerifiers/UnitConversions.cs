using System.Text.Json;

namespace SkillVerifiers;

/// <summary>One task: a question and the number that answers it.</summary>
/// <param name="Id">Stable task id (never change it once the skill is approved: the receipt is keyed by it).</param>
/// <param name="Question">What the agent is asked.</param>
/// <param name="Answer">The expected final answer.</param>
public sealed record Conversion(string Id, string Question, double Answer) : ISkillTask
{
    /// <inheritdoc/>
    public string TaskId => Id;

    /// <summary>Reads one task per line of a JSON-lines file (relative paths start at the test assembly's folder).</summary>
    public static TheoryData<Conversion> Load(string path)
    {
        var rows = new TheoryData<Conversion>();
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, path)).Where(l => l.Trim().Length > 0))
        {
            rows.Add(JsonSerializer.Deserialize<Conversion>(line, new JsonSerializerOptions(JsonSerializerDefaults.Web))!);
        }
        return rows;
    }

    /// <inheritdoc/>
    public override string ToString() => Id;
}

/// <summary>The verifiers of the skill "units": one task per row of data/conversions.jsonl.</summary>
public class UnitConversions
{
    /// <summary>The tasks.</summary>
    public static TheoryData<Conversion> Rows => Conversion.Load("data/conversions.jsonl");

    /// <summary>The agent (the target model with the skill as its system message) answers; a wrong number fails the task.</summary>
    [SkillTheory(Skill = "units")]
    [MemberData(nameof(Rows))]
    public async Task Converts(Conversion row)
    {
        var reply = await SkillAgent.Current.RunAsync(row.Question);
        SkillAssert.NumberEquals(row.Answer, reply.FinalAnswer());
    }
}
