namespace SkillOpt.Core.Optimization;

/// <summary>
/// The textual learning rate L_t: the most edits allowed into the skill at step t (1-based) of T steps. The
/// <c>linear</c> and <c>cosine</c> formulas are the reference implementation's (microsoft/SkillOpt,
/// <c>skillopt/optimizer/scheduler.py</c>) in both presets; tests compare them with the reference's own outputs.
/// </summary>
internal abstract class LearningRateSchedule
{
    /// <summary>Creates a schedule between <paramref name="max"/> (first step) and <paramref name="min"/> (last step).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="min"/> is below 1 or above <paramref name="max"/>.</exception>
    protected LearningRateSchedule(int max, int min)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(min, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        Max = max;
        Min = min;
    }

    /// <summary>Edits allowed at the first step.</summary>
    public int Max { get; }

    /// <summary>Edits allowed at the last step.</summary>
    public int Min { get; }

    /// <summary>Edits allowed at step <paramref name="step"/> (1-based) of <paramref name="totalSteps"/>; always in [Min, Max].</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is not in [1, totalSteps].</exception>
    public int BudgetAt(int step, int totalSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(step, totalSteps);
        return Math.Clamp(Compute(step, totalSteps), Min, Max);
    }

    /// <summary>The unclamped value at <paramref name="step"/>.</summary>
    protected abstract int Compute(int step, int totalSteps);

    /// <summary>Creates a schedule by name: <c>constant</c> (always max), <c>linear</c> or <c>cosine</c>.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static LearningRateSchedule Create(string name, int max, int min) => name.ToLowerInvariant() switch
    {
        "constant" => new ConstantLearningRate(max),
        "linear" => new LinearLearningRate(max, min),
        "cosine" => new CosineLearningRate(max, min),
        _ => throw new ArgumentException($"Unknown learning-rate schedule '{name}' (expected constant, linear or cosine).", nameof(name)),
    };
}

/// <summary>The same budget at every step.</summary>
internal sealed class ConstantLearningRate(int value) : LearningRateSchedule(value, value)
{
    /// <inheritdoc />
    protected override int Compute(int step, int totalSteps) => Max;
}

/// <summary>
/// Linear decay as the reference implementation defines it (microsoft/SkillOpt, <c>LinearScheduler</c>):
/// budget(t) = round(max + (min − max)·t/T) with round-half-to-even and t the 1-based step, so the first step already
/// takes one decay interval and step T gives min (T = 4: 4,3,2,2; T = 10: 4,4,3,3,3,3,3,2,2,2 for max 4, min 2);
/// max when T = 1.
/// </summary>
internal sealed class LinearLearningRate(int max, int min) : LearningRateSchedule(max, min)
{
    /// <inheritdoc />
    protected override int Compute(int step, int totalSteps)
    {
        if (totalSteps <= 1)
        {
            return Max;
        }

        // The reference's floating-point operations in its order, so that halves round the same way.
        var t = (double)Math.Min(step, totalSteps) / totalSteps;
        var lr = Max + (Min - Max) * t;
        return (int)Math.Round(lr, MidpointRounding.ToEven);
    }
}

/// <summary>
/// Cosine decay as the reference implementation defines it (microsoft/SkillOpt, <c>CosineScheduler</c>):
/// budget(t) = round(min + (max−min)·(1+cos(π·t/T))/2) with round-half-to-even and t the 1-based step (T = 4 gives
/// 4,3,2,2 and T = 8 gives 4,4,3,3,3,2,2,2 for max 4, min 2); max when T = 1.
/// </summary>
internal sealed class CosineLearningRate(int max, int min) : LearningRateSchedule(max, min)
{
    /// <inheritdoc />
    protected override int Compute(int step, int totalSteps)
    {
        if (totalSteps <= 1)
        {
            return Max;
        }

        // The reference's floating-point operations in its order, so that halves round the same way.
        var t = (double)Math.Min(step, totalSteps) / totalSteps;
        var lr = Min + 0.5 * (Max - Min) * (1 + Math.Cos(Math.PI * t));
        return (int)Math.Round(lr, MidpointRounding.ToEven);
    }
}
