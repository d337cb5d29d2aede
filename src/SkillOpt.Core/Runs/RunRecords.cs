using SkillOpt.Core.Accounting;
using SkillOpt.Core.Optimization;

namespace SkillOpt.Core.Runs;

/// <summary>Counts of a rollout: tasks by outcome and the mean score in [0,1] over scored tasks.</summary>
internal sealed record RolloutSummary(int Tasks, int Passed, int Failed, int Errored, int Skipped, double MeanScore);

/// <summary>The validation evidence of one gate decision.</summary>
/// <param name="CandidateScore">Candidate mean in [0,1].</param>
/// <param name="IncumbentScore">Incumbent mean in [0,1] it was compared with.</param>
/// <param name="Tasks">Validation tasks scored for the candidate.</param>
/// <param name="Errored">Validation tasks that errored (excluded).</param>
/// <param name="TasksSkipped">Validation tasks not run because the verdict was decided early (target calls saved).</param>
/// <param name="PValue">The gate's p-value, when it computed one.</param>
/// <param name="Gate">Which check decided: <c>paired</c>, <c>strict</c> or <c>prescreen</c>.</param>
/// <param name="Wins">Paired gate: validation measurements the candidate passed and the current skill failed (null for other checks).</param>
/// <param name="Losses">Paired gate: validation measurements the candidate failed and the current skill passed (null for other checks).</param>
/// <param name="PairedTasks">Paired gate: validation measurements scored for both skills, a task once per draw (null for other checks).</param>
internal sealed record ValidationSummary(double CandidateScore, double IncumbentScore, int Tasks, int Errored, int TasksSkipped = 0, double? PValue = null, string? Gate = null,
    int? Wins = null, int? Losses = null, int? PairedTasks = null);

/// <summary>One record of <c>history.json</c>: one phase of the run (baseline, step, slow update, meta skill, test).</summary>
internal sealed record HistoryRecord
{
    /// <summary>0-based phase index (the resume position).</summary>
    public int Phase { get; init; }
    /// <summary><c>baseline</c>, <c>step</c>, <c>slow_update</c>, <c>meta_skill</c> or <c>test</c>.</summary>
    public required string Kind { get; init; }
    /// <summary>1-based epoch (0 for baseline and test).</summary>
    public int Epoch { get; init; }
    /// <summary>1-based global step (steps only).</summary>
    public int? Step { get; init; }
    /// <summary>Textual learning rate L_t of the step.</summary>
    public int? LearningRate { get; init; }
    /// <summary>The train-batch rollout of the current skill.</summary>
    public RolloutSummary? Rollout { get; init; }
    /// <summary>Reflection calls made.</summary>
    public int ReflectionCalls { get; init; }
    /// <summary>Non-empty patches from failure minibatches.</summary>
    public int FailurePatches { get; init; }
    /// <summary>Non-empty patches from success minibatches.</summary>
    public int SuccessPatches { get; init; }
    /// <summary>Edits proposed by all reflections.</summary>
    public int EditsProposed { get; init; }
    /// <summary>Merge calls made.</summary>
    public int MergeCalls { get; init; }
    /// <summary>Edits after merging.</summary>
    public int EditsMerged { get; init; }
    /// <summary>Merged edits dropped because the rejected-edit buffer holds them.</summary>
    public int EditsFilteredAsRejected { get; init; }
    /// <summary>Edits rejected because they contain a verifier literal (gold answer, expected value).</summary>
    public int EditsRejectedAsLeaks { get; init; }
    /// <summary>True when a ranking call selected the edits.</summary>
    public bool Ranked { get; init; }
    /// <summary>Edits selected for the candidate.</summary>
    public int EditsSelected { get; init; }
    /// <summary>Edits applied to the candidate.</summary>
    public int EditsApplied { get; init; }
    /// <summary>Edits refused by the edit applier (anchor, protection, duplicate, budget).</summary>
    public int EditsRefused { get; init; }
    /// <summary>Optimizer replies of this phase repaired by a re-ask.</summary>
    public int RepliesRepaired { get; init; }
    /// <summary>Optimizer replies of this phase unusable even after the re-ask (reported, not dropped silently).</summary>
    public int RepliesFailed { get; init; }
    /// <summary>Hash of the candidate skill, when one was built.</summary>
    public string? CandidateHash { get; init; }
    /// <summary>Validation evidence, when the candidate was gated.</summary>
    public ValidationSummary? Validation { get; init; }
    /// <summary><c>accept</c>, <c>reject</c>, <c>inconclusive</c>, <c>skip</c> (no candidate), <c>applied_ungated</c> (classic slow update), <c>placeholder</c> (classic's empty guidance block after epoch 1), <c>updated</c> (meta skill) or <c>none</c>.</summary>
    public required string Action { get; init; }
    /// <summary>The combined candidate gated after this step's own candidate was inconclusive, if any (its verdict is the step's last word: <see cref="CurrentHash"/> is the skill after it).</summary>
    public CombinationSummary? Combination { get; init; }
    /// <summary>Every proposal of the step when <c>training.proposals</c> is more than 1 (null otherwise); the record's own edit counts are the gated (or best pre-screened) proposal's, its call counts the sum over all.</summary>
    public IReadOnlyList<ProposalSummary>? Proposals { get; init; }
    /// <summary>Why.</summary>
    public string? Reason { get; init; }
    /// <summary>Hash of the current skill after the phase.</summary>
    public required string CurrentHash { get; init; }
    /// <summary>Validation score of the current skill after the phase.</summary>
    public double CurrentScore { get; init; }
    /// <summary>Best validation score so far.</summary>
    public double BestScore { get; init; }
    /// <summary>Calls, tokens and wall time spent in this phase, by stage.</summary>
    public SortedDictionary<string, StageUsage> Usage { get; init; } = [];
    /// <summary>Wall time of the phase, in seconds.</summary>
    public double Seconds { get; init; }
}

/// <summary>The checkpoint of a run (<c>runtime_state.json</c>); written last, atomically, after each phase.</summary>
internal sealed record RunState
{
    /// <summary>File format version.</summary>
    public int SchemaVersion { get; init; } = 1;
    /// <summary>Hash of the configuration and task splits the run was started with.</summary>
    public required string Fingerprint { get; init; }
    /// <summary>Phases finished; the run resumes at this phase index.</summary>
    public int CompletedPhases { get; init; }
    /// <summary>Hash of the initial skill.</summary>
    public required string InitialHash { get; init; }
    /// <summary>Hash of the current skill.</summary>
    public required string CurrentHash { get; init; }
    /// <summary>Hash of the best skill (highest validation score).</summary>
    public required string BestHash { get; init; }
    /// <summary>Best validation score.</summary>
    public double BestScore { get; init; }
    /// <summary>Sample index of the incumbent's stored validation (the evaluation file holds its per-task results).</summary>
    public int IncumbentSample { get; init; }
    /// <summary>Hash of the skill whose validation is the incumbent's evidence (differs from <see cref="CurrentHash"/> after an ungated classic slow update).</summary>
    public required string IncumbentEvaluationHash { get; init; }
    /// <summary>Skill hash at the end of each finished epoch (index 0 = before epoch 1).</summary>
    public List<string> EpochEndHashes { get; init; } = [];
    /// <summary>Current meta-skill advice for the optimizer.</summary>
    public string MetaAdvice { get; init; } = "";
    /// <summary>Skill versions written (skills/skill_vNNNN.md).</summary>
    public int SkillVersion { get; init; }
    /// <summary>Accepted candidates so far; also the paired gate's validation round (docs/method.md, "Validation rounds, lazy incumbent").</summary>
    public int Accepted { get; init; }
    /// <summary>Rejected candidates so far.</summary>
    public int Rejected { get; init; }
    /// <summary>Inconclusive gate verdicts so far.</summary>
    public int Inconclusive { get; init; }
    /// <summary>Usage totals by stage up to this checkpoint.</summary>
    public SortedDictionary<string, StageUsage> Usage { get; init; } = [];
    /// <summary>Optimizer replies repaired or unusable, by stage.</summary>
    public SortedDictionary<string, ReplyFailureCounts> ReplyFailures { get; init; } = [];
    /// <summary>Rollouts that errored (before retries) so far.</summary>
    public int ErroredRollouts { get; init; }
    /// <summary>Wall time of finished phases, in seconds, summed over resumed sessions.</summary>
    public double ElapsedSeconds { get; init; }
    /// <summary>Budget warnings already given (50 and 80, in percent).</summary>
    public List<int> BudgetWarnings { get; init; } = [];
    /// <summary>Rollout results served from the cache so far.</summary>
    public int CacheHits { get; init; }
    /// <summary>The last step (1-based, global) before early stopping ended training, or null while every step runs.</summary>
    public int? StoppedEarlyAfterStep { get; init; }
    /// <summary>Why training stopped early when <c>training.early_stopping.ceiling</c> stopped it; null for patience or while every step runs.</summary>
    public string? StoppedEarlyReason { get; init; }
    /// <summary>Inconclusive step candidates waiting to be combined (<c>gate.combine_inconclusive</c>), oldest first.</summary>
    public List<PendingCandidate> PendingCandidates { get; init; } = [];
    /// <summary>Combined candidates gated so far; each takes its own fresh validation samples.</summary>
    public int Combinations { get; init; }
}

/// <summary>An inconclusive step candidate kept for combination.</summary>
/// <param name="Step">The step (1-based, global) that proposed it.</param>
/// <param name="Edits">The edits that made it from the skill current then, in the order they were applied (its hash is in the step's history record).</param>
internal sealed record PendingCandidate(int Step, IReadOnlyList<SkillOpt.Core.Edits.SkillEdit> Edits);

/// <summary>The combined candidate a step gated after its own candidate was inconclusive (<c>gate.combine_inconclusive</c>).</summary>
/// <param name="Steps">The steps whose inconclusive candidates were combined, oldest first.</param>
/// <param name="EditsApplied">Edits that applied to the current skill.</param>
/// <param name="EditsRefused">Edits that no longer applied (their anchor is gone) and were left out.</param>
/// <param name="CandidateHash">Hash of the combined candidate (null when nothing applied).</param>
/// <param name="Action">accept, reject, inconclusive or skip.</param>
/// <param name="Reason">The gate's reason.</param>
/// <param name="Validation">The gate's scores on the combination's validation samples.</param>
/// <param name="FirstSample">First validation sample index of the combination (fresh for both skills).</param>
internal sealed record CombinationSummary(IReadOnlyList<int> Steps, int EditsApplied, int EditsRefused, string? CandidateHash, string Action, string? Reason,
    ValidationSummary? Validation, int FirstSample);

/// <summary>One of a step's proposals (<c>training.proposals</c> &gt; 1), in <c>history.json</c>.</summary>
/// <param name="Proposal">1-based proposal number; its files are in <c>steps/step_NNNN/proposal_N/</c>.</param>
/// <param name="EditsSelected">Edits selected for its candidate (at most the learning rate).</param>
/// <param name="EditsApplied">Edits applied to the current skill.</param>
/// <param name="CandidateHash">Hash of its candidate (null when no edit applied).</param>
/// <param name="Fixes">Failed tasks of the step its candidate passed in the pre-screen (null when not pre-screened).</param>
/// <param name="Breaks">Passed tasks of the step its candidate failed in the pre-screen (null when not pre-screened).</param>
/// <param name="Outcome"><c>gated</c> (went to the validation gate: the step's verdict is its), <c>not_chosen</c> (passed the pre-screen, another had more net fixes), <c>reject</c> (failed the pre-screen; its edits are in the rejected-edit buffer) or <c>skip</c> (no candidate).</param>
/// <param name="Reason">Why it was skipped or rejected.</param>
internal sealed record ProposalSummary(int Proposal, int EditsSelected, int EditsApplied, string? CandidateHash, int? Fixes, int? Breaks, string Outcome, string? Reason);

/// <summary>A skill's scores in <c>summary.json</c>.</summary>
/// <param name="Hash">Skill hash.</param>
/// <param name="Validation">Mean validation score in [0,1].</param>
/// <param name="Test">Mean test score in [0,1], when the test split was scored for this skill (the initial and best skills; a final skill that is neither only in <c>classic</c>).</param>
/// <param name="TestTasks">Test tasks scored.</param>
internal sealed record SkillScores(string Hash, double? Validation, double? Test, int TestTasks);

/// <summary>The end-of-run report (<c>summary.json</c>).</summary>
internal sealed record RunSummary
{
    /// <summary>File format version.</summary>
    public int SchemaVersion { get; init; } = 1;
    /// <summary><c>completed</c>, or why the run stopped early.</summary>
    public required string Status { get; init; }
    /// <summary>Preset used.</summary>
    public required string Preset { get; init; }
    /// <summary>Run seed.</summary>
    public int Seed { get; init; }
    /// <summary>Train / validation / test task counts.</summary>
    public required IReadOnlyDictionary<string, int> Splits { get; init; }
    /// <summary>Steps run.</summary>
    public int Steps { get; init; }
    /// <summary>Accepted candidates.</summary>
    public int Accepted { get; init; }
    /// <summary>Rejected candidates.</summary>
    public int Rejected { get; init; }
    /// <summary>Inconclusive verdicts.</summary>
    public int Inconclusive { get; init; }
    /// <summary>The initial skill.</summary>
    public required SkillScores Initial { get; init; }
    /// <summary>The best skill (exported as <c>best_skill.md</c>).</summary>
    public required SkillScores Best { get; init; }
    /// <summary>The final current skill.</summary>
    public required SkillScores Final { get; init; }
    /// <summary>Usage by stage.</summary>
    public required SortedDictionary<string, StageUsage> Usage { get; init; }
    /// <summary>Optimizer replies repaired or unusable, by stage.</summary>
    public required SortedDictionary<string, ReplyFailureCounts> ReplyFailures { get; init; }
    /// <summary>Rollouts that errored (before retries).</summary>
    public int ErroredRollouts { get; init; }
    /// <summary>Tokens of the best skill (approximate).</summary>
    public int BestSkillTokens { get; init; }
    /// <summary>Target-model calls (rollout, pre-screen, validation, slow-update rollouts, test).</summary>
    public long TargetCalls { get; init; }
    /// <summary>Optimizer-model calls.</summary>
    public long OptimizerCalls { get; init; }
    /// <summary>Estimated cost in US dollars from the pricing table, when it has the models.</summary>
    public double? CostUsd { get; init; }
    /// <summary>Rollout results served from the cache.</summary>
    public int CacheHits { get; init; }
    /// <summary>Validation tasks the sequential gate did not need to score (it decided before reaching them).</summary>
    public int ValidationTasksSkipped { get; init; }
    /// <summary>
    /// Why training ended before its last step (<c>training.early_stopping</c>), e.g. "no edit accepted in the last 10 step(s)
    /// (training.early_stopping.patience = 10); steps 21–40 and their slow updates skipped"; null when every step ran. The
    /// test split is still scored.
    /// </summary>
    public string? EarlyStopping { get; init; }
    /// <summary>
    /// The best skill compared with the committed one on the test split before it was proposed for approval
    /// (<see cref="Gates.ApprovalComparison"/>, written by the trainer after the received files); null when the skill did not change.
    /// </summary>
    public Gates.ApprovalComparison? ApprovalCheck { get; init; }
}
