using SkillOpt.Testing;

[assembly: SkillDefinition("bench", "skills/bench/SKILL.md", "skills/bench/skillopt.yaml")]

namespace SkillOpt.SampleVerifiers;

/// <summary>The rollout benchmark's 256 tasks (skill "bench"): one 200 ms model call each.</summary>
public class Bench
{
    public static IEnumerable<object[]> Numbers => Enumerable.Range(1, 256).Select(i => new object[] { i });

    [SkillTheory(Skill = "bench")]
    [MemberData(nameof(Numbers))]
    public async Task Echoes(int n)
    {
        var reply = await SkillAgent.Current.RunAsync($"Echo {n}");
        SkillAssert.NumberEquals(n, reply.FinalAnswer());
    }
}
