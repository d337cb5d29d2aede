using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

public class PrescreenTests
{
    [Theory]
    // failed re-run, fixes, passed re-run, broken, require_fix → goes on, reason starts with
    [InlineData(8, 0, 4, 0, true, false, "fixes none of 8 failed tasks")]
    [InlineData(8, 0, 4, 0, false, true, "fixes 0 of 8 failed tasks, breaks 0 of 4")]   // an edit for another cause reaches validation
    [InlineData(8, 0, 4, 1, false, false, "fixes 0 of 8 failed tasks but breaks 1 of 4")] // the harm rule still applies
    [InlineData(8, 2, 4, 2, true, true, "fixes 2 of 8 failed tasks, breaks 2 of 4")]    // breaking as many as it fixes is allowed
    [InlineData(8, 2, 4, 3, true, false, "fixes 2 of 8 failed tasks but breaks 3 of 4")]
    [InlineData(0, 0, 4, 0, true, true, "fixes 0 of 0 failed tasks, breaks 0 of 4")]    // a step without failures needs no fix
    public void The_rule_requires_a_fix_only_when_asked_and_always_rejects_more_breaks_than_fixes(int failed, int fixes, int passed, int broken, bool requireFix, bool goesOn, string reason)
    {
        var (ok, why) = PrescreenPhase.Rule(failed, fixes, passed, [.. Enumerable.Range(1, broken).Select(i => $"t{i}")], requireFix);
        Assert.Equal(goesOn, ok);
        Assert.StartsWith(reason, why, StringComparison.Ordinal);
    }
}
