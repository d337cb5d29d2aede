namespace SkillOpt.Core.Training;

/// <summary>Kinds of phases of a run.</summary>
internal enum PhaseKind
{
    /// <summary>Score the initial skill on the validation split.</summary>
    Baseline,
    /// <summary>One optimisation step on one train batch.</summary>
    Step,
    /// <summary>End-of-epoch slow update (after epoch 1 of the <c>classic</c> preset: the reference's empty guidance block).</summary>
    SlowUpdate,
    /// <summary>End-of-epoch meta skill.</summary>
    MetaSkill,
    /// <summary>Score initial, best and final skills on the test split.</summary>
    Test,
}

/// <summary>One phase of the plan.</summary>
/// <param name="Index">0-based phase index (the resume position).</param>
/// <param name="Kind">Kind.</param>
/// <param name="Epoch">1-based epoch, 0 for baseline and test.</param>
/// <param name="Step">1-based global step (steps only, else 0).</param>
/// <param name="Batch">0-based batch index within the epoch (steps only).</param>
internal sealed record Phase(int Index, PhaseKind Kind, int Epoch, int Step, int Batch);

/// <summary>The deterministic sequence of phases of a run; a checkpoint is the count of finished phases.</summary>
internal static class PhasePlan
{
    /// <summary>Builds the plan.</summary>
    /// <param name="epochs">Epochs.</param>
    /// <param name="batchesPerEpoch">Steps per epoch, ceil(|train| / batch size).</param>
    /// <param name="slowUpdate">Whether slow updates run (from epoch 2).</param>
    /// <param name="metaSkill">Whether meta skills run (from epoch 2).</param>
    /// <param name="metaInLastEpoch">Whether a meta skill also runs after the last epoch.</param>
    /// <param name="slowUpdateAfterFirstEpoch">Whether a slow-update phase also follows epoch 1 (when slow updates run; with <paramref name="slowUpdateInLastEpoch"/> false, only in runs of 3 or more epochs, where a later slow update fills it): the reference adds its empty guidance block there.</param>
    /// <param name="slowUpdateInLastEpoch">Whether a slow update also runs after the last epoch.</param>
    public static IReadOnlyList<Phase> Build(int epochs, int batchesPerEpoch, bool slowUpdate, bool metaSkill, bool metaInLastEpoch, bool slowUpdateAfterFirstEpoch = false,
        bool slowUpdateInLastEpoch = true)
    {
        // the empty block after epoch 1 waits for a later slow update's guidance; with none after the last epoch it is only
        // added when an earlier epoch end (the second of three or more) has one
        var placeholder = slowUpdateAfterFirstEpoch && (slowUpdateInLastEpoch || epochs >= 3);
        var list = new List<Phase> { new(0, PhaseKind.Baseline, 0, 0, 0) };
        var step = 0;
        for (var e = 1; e <= epochs; e++)
        {
            for (var b = 0; b < batchesPerEpoch; b++)
            {
                list.Add(new Phase(list.Count, PhaseKind.Step, e, ++step, b));
            }
            if (slowUpdate && (e >= 2 ? e < epochs || slowUpdateInLastEpoch : placeholder))
            {
                list.Add(new Phase(list.Count, PhaseKind.SlowUpdate, e, 0, 0));
            }
            if (e >= 2 && metaSkill && (e < epochs || metaInLastEpoch))
            {
                list.Add(new Phase(list.Count, PhaseKind.MetaSkill, e, 0, 0));
            }
        }
        list.Add(new Phase(list.Count, PhaseKind.Test, 0, 0, 0));
        return list;
    }
}
