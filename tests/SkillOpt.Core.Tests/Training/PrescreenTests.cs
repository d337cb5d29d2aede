using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

public class PrescreenTests
{
    [Theory]
    // failed re-run, fixes, passed re-run, broken → goes on, reason starts with
    [InlineData(8, 0, 4, 0, false, "fixes none of 8 failed tasks")]
    [InlineData(8, 0, 4, 1, false, "fixes none of 8 failed tasks")]                   // the first rule names the reason
    [InlineData(8, 2, 4, 2, true, "fixes 2 of 8 failed tasks, breaks 2 of 4")]       // breaking as many as it fixes is allowed
    [InlineData(8, 2, 4, 3, false, "fixes 2 of 8 failed tasks but breaks 3 of 4 passed ones (t1, t2, t3)")]
    [InlineData(8, 1, 4, 4, false, "fixes 1 of 8 failed tasks but breaks 4 of 4 passed ones (t1, t2, t3)")] // three ids at most
    [InlineData(0, 0, 4, 0, true, "fixes 0 of 0 failed tasks, breaks 0 of 4")]       // a step without failures needs no fix
    [InlineData(0, 0, 4, 1, false, "fixes 0 of 0 failed tasks but breaks 1 of 4")]
    public void A_candidate_goes_on_when_it_fixes_a_failed_task_and_breaks_no_more_than_it_fixes(int failed, int fixes, int passed, int broken, bool goesOn, string reason)
    {
        var (ok, why) = PrescreenPhase.Rule(failed, fixes, passed, [.. Enumerable.Range(1, broken).Select(i => $"t{i}")]);
        Assert.Equal(goesOn, ok);
        Assert.StartsWith(reason, why, StringComparison.Ordinal);
        Assert.DoesNotContain("t4", why, StringComparison.Ordinal);
    }
}
