using SkillOpt.Testing.Gate;

namespace SkillOpt.Testing.Tests.Gate;

public class SkillDiffTests
{
    [Fact]
    public void The_diff_is_unified_with_context_and_hunk_headers()
    {
        var before = "# Skill\n\na\nb\nc\nd\ne\nf\ng\nh\n";
        var after = "# Skill\n\na\nb\nC changed\nd\ne\nf\ng\nh\n- added at the end\n";
        var diff = SkillDiff.Unified(before, after, "approved", "committed", context: 1);
        Assert.Equal("""
            --- approved
            +++ committed
            @@ -4,3 +4,3 @@
             b
            -c
            +C changed
             d
            @@ -10 +10,2 @@
             h
            +- added at the end

            """.Replace("\r\n", "\n"), diff);
        Assert.Equal((2, 1), SkillDiff.Count(before, after));
        Assert.Equal("", SkillDiff.Unified(before, before.Replace("\n", "\r\n")));
    }
}
