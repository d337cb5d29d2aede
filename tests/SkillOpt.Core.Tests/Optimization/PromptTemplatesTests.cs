using SkillOpt.Core.Optimization;

namespace SkillOpt.Core.Tests.Optimization;

public class PromptTemplatesTests
{
    [Fact]
    public void Every_stage_prompt_is_embedded() =>
        Assert.Equal(["merge", "meta_skill", "meta_skill_classic", "rank", "reflect_failures", "reflect_successes", "repair", "slow_update", "slow_update_classic", "system"], PromptTemplates.Names());

    [Fact]
    public void Render_replaces_placeholders_and_names_a_missing_one()
    {
        var text = PromptTemplates.Render("repair", new Dictionary<string, string> { ["error"] = "bad op", ["schema"] = "skillopt_merge" });
        Assert.Contains("bad op", text);
        Assert.Contains("`skillopt_merge`", text);
        Assert.DoesNotContain("{{", text);
        var ex = Assert.Throws<InvalidOperationException>(() => PromptTemplates.Render("repair", new Dictionary<string, string> { ["error"] = "x" }));
        Assert.Contains("{{schema}}", ex.Message);
    }
}
