using SkillOpt.Testing;

[assembly: SkillDefinition("pinned", "skills/pinned/SKILL.md", "skills/pinned/skillopt.yaml")]

namespace SkillOpt.SampleVerifiers;

/// <summary>
/// The "pinned" skill: every task pins its split to train or validation, so its test split is empty whatever the
/// splits ratios (SKOPT2005). Halves would fall in the test split by the default ratios (its hash position is 0.94).
/// </summary>
public class Pinned
{
    [SkillFact(Skill = "pinned", Split = "train")]
    public async Task Halves()
    {
        var reply = await SkillAgent.Current.RunAsync("What is half of 84?");
        SkillAssert.NumberEquals(42, reply.FinalAnswer());
    }

    [SkillFact(Skill = "pinned", Split = "val")]
    public async Task Subtracts()
    {
        var reply = await SkillAgent.Current.RunAsync("What is 50 minus 8?");
        SkillAssert.NumberEquals(42, reply.FinalAnswer());
    }
}
