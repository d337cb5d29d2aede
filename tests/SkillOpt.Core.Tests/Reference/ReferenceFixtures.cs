using System.Text.Json;

namespace SkillOpt.Core.Tests.Reference;

/// <summary>
/// The reference implementation's own outputs (microsoft/SkillOpt at bdfdc30, MIT; see ReferenceFixtures/README.md),
/// copied beside the test assembly.
/// </summary>
internal static class ReferenceFixtures
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "ReferenceFixtures");

    /// <summary>One case of <c>edits.jsonl</c>: a skill, its ordered edits, the reference's output and per-edit status.</summary>
    public sealed record EditCase(string Id, string Skill, IReadOnlyList<RawEdit> Edits, string Expected, IReadOnlyList<string> Statuses)
    {
        public override string ToString() => Id;
    }

    /// <summary>An edit as the optimizer returned it (any op string).</summary>
    public sealed record RawEdit(string Op, string Target, string Content);

    public static IReadOnlyList<EditCase> EditCases { get; } = LoadEditCases();

    /// <summary>Schedules keyed <c>linear/max4-min2-T10</c> → the budgets of steps 1..T.</summary>
    public static IReadOnlyDictionary<string, int[]> Schedules { get; } = LoadSchedules();

    /// <summary>The reference's trained skills (<c>ckpt/*/gpt5.5_skill.md</c>) by benchmark name.</summary>
    public static IReadOnlyDictionary<string, string> TrainedSkills { get; } =
        Directory.EnumerateFiles(Path.Combine(Folder, "skills"), "*.md")
            .ToDictionary(f => Path.GetFileNameWithoutExtension(f), File.ReadAllText, StringComparer.Ordinal);

    private static List<EditCase> LoadEditCases()
    {
        var cases = new List<EditCase>();
        foreach (var line in File.ReadLines(Path.Combine(Folder, "edits.jsonl")))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var root = JsonDocument.Parse(line).RootElement;
            var edits = root.GetProperty("edits").EnumerateArray()
                .Select(e => new RawEdit(e.GetProperty("op").GetString()!, e.GetProperty("target").GetString()!, e.GetProperty("content").GetString()!))
                .ToList();
            var statuses = root.GetProperty("reports").EnumerateArray().Select(r => r.GetProperty("status").GetString()!).ToList();
            cases.Add(new EditCase(root.GetProperty("id").GetString()!, root.GetProperty("skill").GetString()!, edits, root.GetProperty("expected").GetString()!, statuses));
        }

        return cases;
    }

    private static Dictionary<string, int[]> LoadSchedules()
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "lr_schedules.json"))).RootElement;
        var schedules = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var mode in root.EnumerateObject())
        {
            foreach (var entry in mode.Value.EnumerateObject())
            {
                schedules[mode.Name + "/" + entry.Name] = [.. entry.Value.EnumerateArray().Select(v => v.GetInt32())];
            }
        }

        return schedules;
    }
}
