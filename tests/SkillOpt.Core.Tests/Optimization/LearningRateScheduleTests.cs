using SkillOpt.Core.Optimization;

namespace SkillOpt.Core.Tests.Optimization;

public class LearningRateScheduleTests
{
    private static int[] Values(LearningRateSchedule s, int total) => Enumerable.Range(1, total).Select(t => s.BudgetAt(t, total)).ToArray();

    [Fact]
    public void Cosine_reproduces_the_reference_values_for_four_steps() =>
        Assert.Equal([4, 3, 2, 2], Values(new CosineLearningRate(4, 2), 4));

    [Fact]
    public void Cosine_reproduces_the_reference_values_for_eight_steps() =>
        Assert.Equal([4, 4, 3, 3, 3, 2, 2, 2], Values(new CosineLearningRate(4, 2), 8));

    [Fact]
    public void Linear_takes_one_decay_interval_at_the_first_step_as_the_reference() =>
        Assert.Equal([4, 4, 3, 3, 3, 3, 3, 2, 2, 2], Values(new LinearLearningRate(4, 2), 10)); // 3.8, 3.6, 3.4, …, 2 → round-half-even

    [Fact]
    public void Linear_rounds_halves_to_even() =>
        Assert.Equal([4, 3, 2, 2], Values(new LinearLearningRate(4, 2), 4)); // 3.5 → 4, 3, 2.5 → 2, 2

    [Fact]
    public void Constant_is_constant() => Assert.Equal([3, 3, 3], Values(new ConstantLearningRate(3), 3));

    [Fact]
    public void Single_step_runs_get_the_maximum()
    {
        Assert.Equal(4, new LinearLearningRate(4, 2).BudgetAt(1, 1));
        Assert.Equal(4, new CosineLearningRate(4, 2).BudgetAt(1, 1)); // the reference returns max when T = 1
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(5, 4)]
    public void Steps_outside_the_run_are_refused(int step, int total) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineLearningRate(4, 2).BudgetAt(step, total));

    [Fact]
    public void Create_by_name_and_unknown_name()
    {
        Assert.IsType<CosineLearningRate>(LearningRateSchedule.Create("Cosine", 4, 2));
        var ex = Assert.Throws<ArgumentException>(() => LearningRateSchedule.Create("exp", 4, 2));
        Assert.Contains("exp", ex.Message);
    }

    [Fact]
    public void Min_above_max_is_refused() => Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLearningRate(2, 4));
}
