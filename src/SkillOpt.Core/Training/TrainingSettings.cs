using System.Text.Json;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Training;

/// <summary>
/// Every setting the training loop reads, resolved once from <see cref="SkillOptOptions"/> when the loop is created (the
/// preset applied first), so no phase reads an unset option: each value here is the one the run uses.
/// </summary>
/// <param name="Preset"><c>default</c> or <c>classic</c>.</param>
/// <param name="Seed">Run seed (train order, task samples, tie-breaks).</param>
/// <param name="Epochs">Passes over the train split.</param>
/// <param name="BatchSize">Train tasks per step.</param>
/// <param name="Proposals">Candidates proposed per step, side by side (1 or more).</param>
/// <param name="AllowVerifierText">Verifier literals reach the optimizer and may appear in edits.</param>
/// <param name="Reflection">Reflection, merge and ranking.</param>
/// <param name="SlowUpdate">The end-of-epoch slow update.</param>
/// <param name="MetaSkill">The end-of-epoch meta skill.</param>
/// <param name="RejectedEdits">The rejected-edit buffer.</param>
/// <param name="EarlyStopping">Patience and the ceiling.</param>
/// <param name="Prescreen">The pre-screen.</param>
/// <param name="Gate">The validation gate.</param>
/// <param name="Edits">How edits are applied.</param>
/// <param name="Rollouts">Rollout retries, error limit and cache.</param>
/// <param name="Reference">What the <c>classic</c> preset reproduces of the reference beyond the options above.</param>
internal sealed record TrainingSettings(string Preset, int Seed, int Epochs, int BatchSize, int Proposals, bool AllowVerifierText,
    ReflectionSettings Reflection, SlowUpdateSettings SlowUpdate, MetaSkillSettings MetaSkill, RejectedEditSettings RejectedEdits,
    EarlyStoppingSettings EarlyStopping, PrescreenSettings Prescreen, GateSettings Gate, EditApplierOptions Edits, RolloutSettings Rollouts,
    ReferenceSettings Reference)
{
    /// <summary>Resolves <paramref name="options"/> (its preset is applied here if it was not yet).</summary>
    public static TrainingSettings Resolve(SkillOptOptions options)
    {
        var o = options.ApplyPreset();
        var t = o.Training;
        var g = o.Gate;
        var reference = o.IsClassic ? ReferenceSettings.Classic : o.UsesReferenceLoop ? ReferenceSettings.ReferenceLoop : ReferenceSettings.Default;
        return new TrainingSettings(
            o.Preset,
            o.Seed,
            t.Epochs,
            t.BatchSize,
            Math.Max(1, t.Proposals ?? 1),
            t.AllowVerifierText || reference.ShowVerifierText,
            new ReflectionSettings(t.MinibatchSize, t.MergeFanIn, t.ReflectSuccesses, t.OptimizerConcurrency,
                new LearningRateSettings(t.LearningRate.Schedule, t.LearningRate.Max, t.LearningRate.Min)),
            new SlowUpdateSettings(t.SlowUpdate.Enabled, t.SlowUpdate.SampleSize, t.SlowUpdate.MaxWords, Value(t.SlowUpdate.Gated),
                Value(t.SlowUpdate.ReuseStepRollouts), Value(t.SlowUpdate.SkipUnchanged), t.SlowUpdate.InLastEpoch),
            new MetaSkillSettings(t.MetaSkill.Enabled, t.MetaSkill.MaxWords, Value(t.MetaSkill.InLastEpoch)),
            new RejectedEditSettings(t.RejectedEdits.Scope == "epoch", Value(t.RejectedEdits.Enforce)),
            new EarlyStoppingSettings(Value(t.EarlyStopping.Patience), Value(t.EarlyStopping.Ceiling)),
            PrescreenSettings.From(g.Prescreen, t.Proposals ?? 1),
            new GateSettings(GateKinds.Normalize(g.Kind), g.Alpha, Value(g.Sequential), g.ChunkSize, Value(g.VetoRegressions), g.VetoMinSamples, g.MaxDraws,
                g.AlternativeWinShare, g.Power, Value(g.FinalAnalysis), Value(g.CombineInconclusive),
                new PosteriorGateSettings(g.Posterior.Threshold, g.Posterior.Prior, g.Posterior.StopProbability, g.Posterior.MaxDraws), Value(g.Strict.StopProbability),
                Value(g.Strict.TaskDifficulty)),
            new EditApplierOptions
            {
                TokenBudget = Value(o.Skill.TokenBudget),
                DuplicateSimilarity = Value(o.Skill.DuplicateSimilarity),
                ClassicMatching = o.Skill.Matching == "classic",
            },
            new RolloutSettings(Value(o.Rollouts.Cache), o.Rollouts.ErroredRetries, o.Rollouts.MaxErrorRate,
                JsonSerializer.Serialize(o.Models.Target, SkillOptJson.Options)),
            reference);
    }

    /// <summary>A preset-filled option (every nullable option has a value once <see cref="SkillOptOptions.ApplyPreset"/> ran).</summary>
    private static T Value<T>(T? value) where T : struct =>
        value ?? throw new InvalidOperationException("An option was left unset by the preset; SkillOptOptions.ApplyPreset must fill every nullable option.");
}

/// <summary>Reflection, merge and ranking (<c>training.*</c>).</summary>
/// <param name="MinibatchSize">Trajectories per reflection call.</param>
/// <param name="MergeFanIn">Patches per merge call.</param>
/// <param name="ReflectSuccesses">Successful trajectories are reflected on too.</param>
/// <param name="OptimizerConcurrency">Optimizer calls in flight at once.</param>
/// <param name="LearningRate">The textual learning rate's schedule.</param>
internal sealed record ReflectionSettings(int MinibatchSize, int MergeFanIn, bool ReflectSuccesses, int OptimizerConcurrency, LearningRateSettings LearningRate);

/// <summary>The textual learning rate (<c>training.learning_rate</c>): most edits per step, from <paramref name="Max"/> to <paramref name="Min"/>.</summary>
/// <param name="Schedule"><c>constant</c>, <c>linear</c> or <c>cosine</c>.</param>
/// <param name="Max">Edits allowed at the first step.</param>
/// <param name="Min">Edits allowed at the last step.</param>
internal sealed record LearningRateSettings(string Schedule, int Max, int Min);

/// <summary>The slow update (<c>training.slow_update</c>).</summary>
/// <param name="Enabled">Runs at the end of each epoch from the second.</param>
/// <param name="SampleSize">Train tasks rolled out with the previous and current skills.</param>
/// <param name="MaxWords">Most words of guidance asked for.</param>
/// <param name="Gated">The guidance goes through the validation gate.</param>
/// <param name="ReuseStepRollouts">Compare on a batch a step of the epoch already rolled out.</param>
/// <param name="SkipUnchanged">No slow update after an epoch that changed nothing.</param>
/// <param name="InLastEpoch">Also after the last epoch.</param>
internal sealed record SlowUpdateSettings(bool Enabled, int SampleSize, int MaxWords, bool Gated, bool ReuseStepRollouts, bool SkipUnchanged, bool InLastEpoch);

/// <summary>The meta skill (<c>training.meta_skill</c>).</summary>
/// <param name="Enabled">Runs at the end of each epoch from the second.</param>
/// <param name="MaxWords">Most words of advice asked for.</param>
/// <param name="InLastEpoch">Also after the last epoch.</param>
internal sealed record MetaSkillSettings(bool Enabled, int MaxWords, bool InLastEpoch);

/// <summary>The rejected-edit buffer (<c>training.rejected_edits</c>).</summary>
/// <param name="ResetEachEpoch">Emptied at each epoch's first step (scope <c>epoch</c>).</param>
/// <param name="Enforce">Re-proposed rejected edits are filtered in code.</param>
internal sealed record RejectedEditSettings(bool ResetEachEpoch, bool Enforce);

/// <summary>Early stopping (<c>training.early_stopping</c>).</summary>
/// <param name="Patience">Steps in a row without an accepted edit after which training stops (0 = never).</param>
/// <param name="Ceiling">Stop once no candidate can be accepted: the paired gate's boundary, or a score to beat of 1 with the strict gate.</param>
internal sealed record EarlyStoppingSettings(int Patience, bool Ceiling);

/// <summary>The pre-screen (<c>gate.prescreen</c>).</summary>
/// <param name="Enabled">Candidates are pre-screened before validation (within <paramref name="MaxValidationTasks"/>).</param>
/// <param name="MaxValidationTasks">Most validation tasks for which the pre-screen runs (0 = no limit; always 0 with more than one
/// proposal per step, whose pre-screen chooses the one to gate).</param>
/// <param name="FailedTasks">Most failed tasks of the step re-run with the candidate.</param>
/// <param name="PassedTasks">Most passed tasks of the step re-run with the candidate.</param>
internal sealed record PrescreenSettings(bool Enabled, int MaxValidationTasks, int FailedTasks, int PassedTasks)
{
    /// <summary>
    /// Resolves <c>gate.prescreen</c> once the preset filled it; with more than one <paramref name="proposals"/> per step it
    /// runs, with no size limit, since it chooses the proposal to gate (the configuration loader refuses more than one with
    /// <c>gate.prescreen.enabled: false</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The preset was not applied (<see cref="PrescreenOptions.Enabled"/> or
    /// <see cref="PrescreenOptions.MaxValidationTasks"/> unset).</exception>
    public static PrescreenSettings From(PrescreenOptions options, int proposals) => new(
        (options.Enabled ?? throw new InvalidOperationException("gate.prescreen.enabled was left unset; SkillOptOptions.ApplyPreset must fill it.")) || proposals > 1,
        proposals > 1 ? 0 : options.MaxValidationTasks ?? throw new InvalidOperationException("gate.prescreen.max_validation_tasks was left unset; SkillOptOptions.ApplyPreset must fill it."),
        options.FailedTasks, options.PassedTasks);

    /// <summary>Whether a run with <paramref name="validationTasks"/> validation tasks pre-screens its candidates.</summary>
    public bool RunsFor(int validationTasks) => Enabled && (MaxValidationTasks == 0 || validationTasks <= MaxValidationTasks);
}

/// <summary>The validation gate (<c>gate</c>).</summary>
/// <param name="Kind"><c>gate.kind</c>: <c>paired</c>, <c>posterior</c> or <c>strict</c>.</param>
/// <param name="Alpha">One-sided significance level.</param>
/// <param name="Sequential">Score in chunks and stop once decided.</param>
/// <param name="ChunkSize">Validation tasks per chunk; null: by the validation split's size (<see cref="ChunkSizeFor"/>).</param>
/// <param name="VetoRegressions">The non-regression veto.</param>
/// <param name="VetoMinSamples">Measurements that make a task reliably passing.</param>
/// <param name="MaxDraws">Most draws per candidate (paired gate).</param>
/// <param name="AlternativeWinShare">θ₁ of the SPRT.</param>
/// <param name="Power">1 − β of the SPRT.</param>
/// <param name="FinalAnalysis">Exact final test after the last draw.</param>
/// <param name="CombineInconclusive">Most inconclusive step candidates combined into one (0 or 1 = off).</param>
/// <param name="Posterior">The posterior gate's settings (<c>gate.posterior</c>).</param>
/// <param name="StrictStopProbability">The strict gate's futility stop (<c>gate.strict.stop_probability</c>; 0 = none).</param>
/// <param name="StrictTaskDifficulty">The futility stop's predictive knows each task's difficulty (<c>gate.strict.task_difficulty</c>).</param>
internal sealed record GateSettings(string Kind, double Alpha, bool Sequential, int? ChunkSize, bool VetoRegressions, int VetoMinSamples, int MaxDraws,
    double AlternativeWinShare, double Power, bool FinalAnalysis, int CombineInconclusive, PosteriorGateSettings Posterior, double StrictStopProbability,
    bool StrictTaskDifficulty)
{
    /// <summary>
    /// The chunk of a run with <paramref name="validationTasks"/> validation tasks: <see cref="ChunkSize"/> when set, else (the
    /// default preset's strict gate) <see cref="StrictGateOptions.SmallSplitChunkSize"/> on splits of up to
    /// <see cref="StrictGateOptions.SmallSplitTasks"/> tasks and <see cref="GateOptions.DefaultChunkSize"/> above.
    /// </summary>
    public int ChunkSizeFor(int validationTasks) =>
        ChunkSize ?? (validationTasks <= StrictGateOptions.SmallSplitTasks ? StrictGateOptions.SmallSplitChunkSize : GateOptions.DefaultChunkSize);
}

/// <summary>The posterior gate (<c>gate.posterior</c>, <see cref="Gates.PosteriorPairedGate"/>).</summary>
/// <param name="Threshold">Posterior probability P(θ &gt; ½) a candidate needs after its last draw.</param>
/// <param name="Prior">a of the symmetric Beta(a, a) prior on the win share θ.</param>
/// <param name="StopProbability">Predictive probability at which the gate stops before its last draw.</param>
/// <param name="MaxDraws">Most draws per candidate.</param>
internal sealed record PosteriorGateSettings(double Threshold, double Prior, double StopProbability, int MaxDraws);

/// <summary>Rollouts (<c>rollouts</c>).</summary>
/// <param name="Cache">Results are cached by (skill, task, sample, target settings).</param>
/// <param name="ErroredRetries">Re-runs of an Errored task.</param>
/// <param name="MaxErrorRate">Largest fraction of a rollout's tasks that may stay Errored.</param>
/// <param name="TargetFingerprint">The target model's settings as JSON: the rollout cache's key.</param>
internal sealed record RolloutSettings(bool Cache, int ErroredRetries, double MaxErrorRate, string TargetFingerprint);

/// <summary>
/// What the <c>classic</c> preset reproduces of the reference implementation (microsoft/SkillOpt, commit bdfdc30) that no
/// option covers; the default preset keeps the safer behaviour of each (docs/method.md, "The classic preset").
/// </summary>
/// <param name="ReflectAtMaxRate">Reflection asks each analyst for the configured most edits L at every step (L_t only in ranking); else L_t.</param>
/// <param name="CapMerges">Each merge call returns at most 2·L_t edits; else uncapped.</param>
/// <param name="ShowVerifierText">Verifier text and gold answers reach the optimizer and edits may contain them (as <c>training.allow_verifier_text</c>).</param>
/// <param name="MessageChars">Characters of one trajectory message shown to the optimizer (<see cref="int.MaxValue"/>: whole).</param>
/// <param name="ShowSystemMessages">Reflection trajectories show their system message, so the skill is repeated in every trajectory.</param>
/// <param name="SelectionCache">A candidate whose skill was validated before is judged on that validation again, not re-measured (the reference's cache by skill hash).</param>
/// <param name="StepBuffer">The per-epoch step buffer is shown to the analysts instead of the rejected-edit list.</param>
/// <param name="ReferenceMetaSkill">The meta skill is written from the previous and current skills, the slow update's task comparison and the previous meta skill, and is shown to ranking too.</param>
/// <param name="ReferenceSlowUpdate">The slow update moves its block to the end of the skill (the reference's replace_slow_update_field), sees the previous guidance as its own section and the trajectories of regressed, persistent and improved tasks, without a word limit, and rolls out both skills (independent samples) even when they are equal.</param>
/// <param name="SlowUpdatePlaceholder">After epoch 1 an empty slow-update block is added to the current skill, unvalidated.</param>
/// <param name="PromoteFinalSkill">Before the test, a final skill that differs from the best is validated and becomes the best when its score is higher (strict &gt;).</param>
/// <param name="ScheduleOnSelection">The learning-rate schedule advances only on steps that reach selection (some reflection proposed an edit); else it follows the step number.</param>
/// <param name="StrictOnTestSample">The strict gate scores every candidate on sample 0, the sample the test split is scored on (the reference validates and tests each skill once); else on 1 + r in round r (r = candidates accepted so far).</param>
/// <param name="TestFinalSkill">The test scores the final skill also when it is neither the best nor the initial one (the reference's end scores initial, best and final); else only the two skills the approval compares, so a final skill the run does not return costs no test calls.</param>
internal sealed record ReferenceSettings(bool ReflectAtMaxRate, bool CapMerges, bool ShowVerifierText, int MessageChars, bool ShowSystemMessages, bool SelectionCache,
    bool StepBuffer, bool ReferenceMetaSkill, bool ReferenceSlowUpdate, bool SlowUpdatePlaceholder, bool PromoteFinalSkill, bool ScheduleOnSelection,
    bool StrictOnTestSample, bool TestFinalSkill)
{
    /// <summary>The default preset: none of the reference's behaviours.</summary>
    public static ReferenceSettings Default { get; } = new(false, true, false, 2000, false, false, false, false, false, false, false, false, false, false);

    /// <summary>The classic preset: all of them.</summary>
    public static ReferenceSettings Classic { get; } = new(true, false, true, int.MaxValue, true, true, true, true, true, true, true, true, true, true);

    /// <summary>
    /// The default preset with the strict gate (its gate unless <c>gate.kind</c> names a paired one): the reference's
    /// loop, all of them but the two that let the test split or the verifiers leak into training — verifier text stays hidden
    /// from the optimizer and candidates are validated on samples the test split never uses — and the test of a final skill
    /// the run does not return (docs/method.md, "The default loop").
    /// </summary>
    public static ReferenceSettings ReferenceLoop { get; } = Classic with { ShowVerifierText = false, StrictOnTestSample = false, TestFinalSkill = false };

    /// <summary>
    /// The validation sample index the strict gate scores in round <paramref name="accepted"/> (candidates accepted so far, ≥ 0),
    /// and the final skill's validation before its promotion: 0 with <see cref="StrictOnTestSample"/> (the reference), else
    /// 1 + <paramref name="accepted"/>, a sample the test split (sample 0) never uses.
    /// </summary>
    public int StrictValidationSample(int accepted) => StrictOnTestSample ? 0 : 1 + accepted;
}
