using SkillOpt.Testing;
using SkillOpt.Testing.Verifiers;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

[assembly: SkillDefinition("simmath", "skills/simmath/SKILL.md", "skills/simmath/skillopt.yaml")]

namespace SkillOpt.SampleVerifiers;

/// <summary>One word problem of the "simmath" skill (a task of SimLab's scenario.yaml, which simulates the target).</summary>
public sealed record WordProblem(string Id, string Question, double Answer) : ISkillTask
{
    public string TaskId => Id;

    public override string ToString() => Id;

    /// <summary>The tasks of skills/simmath/scenario.yaml.</summary>
    public static TheoryData<WordProblem> Load()
    {
        var path = SkillProject.For(typeof(WordProblem).Assembly).Resolve("skills/simmath/scenario.yaml");
        var scenario = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).IgnoreUnmatchedProperties().Build()
            .Deserialize<ScenarioTasks>(File.ReadAllText(path));
        return new TheoryData<WordProblem>(scenario.Tasks.Select(t => new WordProblem(t.Id, t.Question, double.Parse(t.Answer, System.Globalization.CultureInfo.InvariantCulture))));
    }

    private sealed class ScenarioTasks
    {
        public List<Row> Tasks { get; set; } = [];
    }

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string Question { get; set; } = "";
        public string Answer { get; set; } = "";
    }
}

/// <summary>
/// The "simmath" skill's verifier: the target (SimLab, simulated) must answer each word problem with the right number.
/// SKILLOPT_SAMPLE_FAULT=prompt rewords the prompt, as an edited verifier would (the recorded responses then miss).
/// </summary>
public class WordProblems
{
    public static TheoryData<WordProblem> Problems => WordProblem.Load();

    [SkillTheory(Skill = "simmath")]
    [MemberData(nameof(Problems))]
    public async Task Solves(WordProblem problem)
    {
        var reworded = (Environment.GetEnvironmentVariable("SKILLOPT_SAMPLE_FAULT") ?? "").Split(',', StringSplitOptions.TrimEntries).Contains("prompt");
        var reply = await SkillAgent.Current.RunAsync(reworded ? $"Please solve: {problem.Question}" : problem.Question);
        SkillAssert.NumberEquals(problem.Answer, reply.FinalAnswer());
    }
}

/// <summary>The skill regression gate of "simmath": its committed skill, receipt and recording (see docs/approval.md).</summary>
public sealed class SimMathSkillGate() : SkillGateTests("simmath");
