using System.Globalization;
using System.Text.RegularExpressions;
using SkillOpt.Core.Optimization;

namespace SkillOpt.Core.Tests.Reference;

/// <summary>Our linear and cosine learning-rate schedules against the reference's <c>LinearScheduler</c>/<c>CosineScheduler</c> outputs.</summary>
public sealed partial class ReferenceScheduleTests
{
    [Fact]
    public void The_fixture_holds_every_schedule_the_reference_produced()
    {
        Assert.Equal(430, ReferenceFixtures.Schedules.Count);
        Assert.Equal(215, ReferenceFixtures.Schedules.Keys.Count(k => k.StartsWith("linear/", StringComparison.Ordinal)));
        Assert.Equal(215, ReferenceFixtures.Schedules.Keys.Count(k => k.StartsWith("cosine/", StringComparison.Ordinal)));
    }

    [Fact]
    public void Every_linear_and_cosine_schedule_matches_the_reference()
    {
        var mismatches = new List<string>();
        foreach (var (key, expected) in ReferenceFixtures.Schedules)
        {
            var m = Key().Match(key);
            Assert.True(m.Success, key);
            var max = int.Parse(m.Groups["max"].Value, CultureInfo.InvariantCulture);
            var min = int.Parse(m.Groups["min"].Value, CultureInfo.InvariantCulture);
            var total = int.Parse(m.Groups["t"].Value, CultureInfo.InvariantCulture);
            var schedule = LearningRateSchedule.Create(m.Groups["mode"].Value, max, min);
            var actual = Enumerable.Range(1, total).Select(step => schedule.BudgetAt(step, total)).ToArray();
            if (!actual.SequenceEqual(expected))
            {
                mismatches.Add($"{key}: reference [{string.Join(",", expected)}], ours [{string.Join(",", actual)}]");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [GeneratedRegex(@"^(?<mode>linear|cosine)/max(?<max>\d+)-min(?<min>\d+)-T(?<t>\d+)$")]
    private static partial Regex Key();
}
