using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MathSkills;

/// <summary>One GSM8K problem: a task of the "math" skill.</summary>
/// <param name="Id">Stable task id: <c>gsm8k-test-NNNN</c>, the row's line in the GSM8K test split (from 0).</param>
/// <param name="Question">The word problem, given to the agent as it is.</param>
/// <param name="Answer">The final numeric answer (after <c>####</c> in the data set's solution).</param>
public sealed partial record MathProblem(string Id, string Question, double Answer) : ISkillTask
{
    /// <inheritdoc/>
    public string TaskId => Id;

    /// <summary>Reads a GSM8K JSON-lines file (relative paths start at the test assembly's folder).</summary>
    public static TheoryData<MathProblem> Load(string path)
    {
        var full = Path.IsPathRooted(path) ? path : Path.Combine(AppContext.BaseDirectory, path);
        var rows = new TheoryData<MathProblem>();
        var index = 0;
        foreach (var line in File.ReadLines(full))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            using var json = JsonDocument.Parse(line);
            var question = json.RootElement.GetProperty("question").GetString()!;
            var solution = json.RootElement.GetProperty("answer").GetString()!;
            var final = FinalAnswer().Match(solution).Groups[1].Value.Replace(",", "", StringComparison.Ordinal);
            rows.Add(new MathProblem($"gsm8k-test-{index:0000}", question, double.Parse(final, CultureInfo.InvariantCulture)));
            index++;
        }
        return rows;
    }

    /// <inheritdoc/>
    public override string ToString() => Id;

    [GeneratedRegex(@"####\s*(-?[\d,]+(?:\.\d+)?)\s*$")]
    private static partial Regex FinalAnswer();
}
