// Longer than 400 lines: the scenario file's model, one small class per section, documented key by key (src/SkillOpt.SimLab/README.md mirrors it).
namespace SkillOpt.SimLab;

/// <summary>
/// A SimLab scenario (one YAML file): the simulated world a target model and an optimizer model are simulated in.
/// Keys are snake_case; unknown keys are errors. Load one with <see cref="ScenarioLoader"/>.
/// </summary>
/// <remarks>Everything SimLab answers is a simulation computed from this file; no language model is involved.</remarks>
internal sealed class Scenario
{
    /// <summary>Scenario name (e.g. <c>gsm8k</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>What the scenario simulates.</summary>
    public string Description { get; set; } = "";

    /// <summary>Seed of every simulated draw (a different seed gives another, equally likely, world).</summary>
    public long Seed { get; set; } = 1;

    /// <summary>A starting skill for trainings in this scenario (used by benchmarks and end-to-end tests).</summary>
    public string InitialSkill { get; set; } = "# Skill\n\nSolve the task step by step.\n";

    /// <summary>Model ids that select the role of a request; each must contain <c>sim</c>.</summary>
    public ScenarioModels Models { get; set; } = new();

    /// <summary>How the simulated target model behaves.</summary>
    public TargetBehaviour Target { get; set; } = new();

    /// <summary>The catalogue of procedures a skill can teach.</summary>
    public List<ProcedureSpec> Procedures { get; set; } = [];

    /// <summary>Harmful rules the optimizer may propose, and the tasks they break.</summary>
    public List<HarmfulRuleSpec> Harmful { get; set; } = [];

    /// <summary>Plausible edits that match no procedure (what a useless edit writes).</summary>
    public List<string> UselessEdits { get; set; } = [];

    /// <summary>
    /// Generic rules ("read the problem twice") with a tiny effect on every task; when the list is not empty, a useless
    /// edit of the optimizer writes one of them instead of a <see cref="UselessEdits"/> text.
    /// </summary>
    public List<GenericRuleSpec> GenericRules { get; set; } = [];

    /// <summary>Sentences the optimizer pads its edits with (wordiness); they must match no procedure or harmful rule.</summary>
    public List<string> FillerSentences { get; set; } = [];

    /// <summary>How the simulated optimizer behaves.</summary>
    public OptimizerBehaviour Optimizer { get; set; } = new();

    /// <summary>Tasks listed in the file.</summary>
    public List<TaskSpec> Tasks { get; set; } = [];

    /// <summary>Tasks read from a JSON-lines data set (added after <see cref="Tasks"/>).</summary>
    public TaskSourceSpec? TaskSource { get; set; }

    /// <summary>Simulated latency per role.</summary>
    public LatencyOptions Latency { get; set; } = new();

    /// <summary>Injected faults (all off by default).</summary>
    public FaultOptions Faults { get; set; } = new();

    /// <summary>The file the scenario came from (<c>builtin:NAME</c> for built-in scenarios); set by the loader.</summary>
    [YamlDotNet.Serialization.YamlIgnore]
    public string Source { get; internal set; } = "";

    /// <summary>Every task of the scenario (listed and loaded), with its needed procedures and flakiness resolved; set by the loader.</summary>
    [YamlDotNet.Serialization.YamlIgnore]
    public IReadOnlyList<SimTask> ResolvedTasks { get; internal set; } = [];

    /// <summary>
    /// Ground truth: the success probability each procedure's absence costs a task that needs it, by procedure name
    /// (its <c>penalty</c>, else a draw from <c>target.penalty_distribution</c> for this <see cref="Seed"/>, else
    /// <c>target.missing_procedure_penalty</c>); set by the loader.
    /// </summary>
    [YamlDotNet.Serialization.YamlIgnore]
    public IReadOnlyDictionary<string, double> ProcedurePenalties { get; internal set; } = new Dictionary<string, double>();

    /// <summary>
    /// Ground truth: the success probability each generic rule adds to every task when present (negative: it costs), by
    /// rule name (its <c>effect</c>, else a draw from <c>target.generic_effect_distribution</c> for this <see cref="Seed"/>);
    /// set by the loader.
    /// </summary>
    [YamlDotNet.Serialization.YamlIgnore]
    public IReadOnlyDictionary<string, double> GenericEffects { get; internal set; } = new Dictionary<string, double>();

    /// <summary>Returns a copy of this scenario with another <see cref="Seed"/> (task flakiness is re-drawn for the new seed).</summary>
    public Scenario WithSeed(long seed) => ScenarioLoader.Reseed(this, seed);

    internal Scenario ShallowCopy() => (Scenario)MemberwiseClone();
}

/// <summary>The <c>models</c> section: model ids that select the simulated role.</summary>
internal sealed class ScenarioModels
{
    /// <summary>Model id of the simulated target (default <c>simlab-target</c>).</summary>
    public string Target { get; set; } = "simlab-target";

    /// <summary>Model id of the simulated optimizer (default <c>simlab-optimizer</c>).</summary>
    public string Optimizer { get; set; } = "simlab-optimizer";
}

/// <summary>The <c>target</c> section: the simulated agent's success model and reply format.</summary>
internal sealed class TargetBehaviour
{
    /// <summary>Success probability in [0,1] of a task whose needed procedures are all in the skill.</summary>
    public double BaseSuccessRate { get; set; } = 0.95;

    /// <summary>Subtracted from the success probability for each needed procedure the skill lacks.</summary>
    public double MissingProcedurePenalty { get; set; } = 0.4;

    /// <summary>Fraction in [0,1] of tasks that are flaky (chosen per task by a seeded hash; with <see cref="FlakyGroups"/>, per group), unless a task sets its own flakiness.</summary>
    public double FlakyFraction { get; set; }

    /// <summary>Flakiness of flaky tasks: the probability in [0,1] that the outcome is flipped.</summary>
    public double FlakyRate { get; set; } = 0.3;

    /// <summary>Flakiness of the other tasks.</summary>
    public double StableRate { get; set; }

    /// <summary>
    /// The reply template: <c>{reasoning}</c> is replaced by simulated working and <c>{answer}</c> by the answer
    /// (the task's answer on success, a plausible wrong one otherwise). Default <c>"{reasoning}\n#### {answer}"</c>.
    /// </summary>
    public string AnswerFormat { get; set; } = "{reasoning}\n#### {answer}";

    /// <summary>About how many words of simulated working precede the answer.</summary>
    public int ReasoningWords { get; set; } = 30;

    /// <summary>When the request offers tools, call the first one before answering.</summary>
    public bool ToolCallFirst { get; set; }

    /// <summary>
    /// Heterogeneous difficulty: each task's success probability with every procedure it needs is drawn from this Beta
    /// distribution (per task and seed) instead of <see cref="BaseSuccessRate"/>. Unset: every task has <see cref="BaseSuccessRate"/>.
    /// </summary>
    public BetaDistributionSpec? BaseSuccessDistribution { get; set; }

    /// <summary>
    /// Effect sizes: each procedure without its own <c>penalty</c> gets one drawn from this log-normal distribution (per
    /// procedure and seed). Unset: <see cref="MissingProcedurePenalty"/>.
    /// </summary>
    public LogNormalSpec? PenaltyDistribution { get; set; }

    /// <summary>Effect sizes of generic rules without their own <c>effect</c> (per rule and seed; default mean 0, sd 0).</summary>
    public NormalSpec? GenericEffectDistribution { get; set; }

    /// <summary>Correlated flakiness: tasks form groups that are flaky together and whose flips are partly shared. Unset: every task on its own.</summary>
    public FlakyGroupsSpec? FlakyGroups { get; set; }

    /// <summary>A cost of long skills, subtracted from every task's success probability. Unset: none.</summary>
    public LengthPenaltySpec? LengthPenalty { get; set; }
}

/// <summary>A Beta(<see cref="Alpha"/>, <see cref="Beta"/>) distribution on [0,1] (mean α / (α + β)).</summary>
internal sealed class BetaDistributionSpec
{
    /// <summary>Shape α, positive.</summary>
    public double Alpha { get; set; } = 1;

    /// <summary>Shape β, positive.</summary>
    public double Beta { get; set; } = 1;
}

/// <summary>A log-normal distribution given by its median and log-scale σ, capped at <see cref="Max"/>.</summary>
internal sealed class LogNormalSpec
{
    /// <summary>Median, positive (a draw is median × exp(σ·Z), Z standard normal).</summary>
    public double Median { get; set; } = 0.05;

    /// <summary>Standard deviation of the logarithm, 0 or more.</summary>
    public double Sigma { get; set; } = 1;

    /// <summary>Largest value a draw can take, in [0,1].</summary>
    public double Max { get; set; } = 1;
}

/// <summary>A normal distribution given by its mean and standard deviation.</summary>
internal sealed class NormalSpec
{
    /// <summary>Mean.</summary>
    public double Mean { get; set; }

    /// <summary>Standard deviation, 0 or more.</summary>
    public double Sd { get; set; }
}

/// <summary>
/// The <c>target.flaky_groups</c> section: each task belongs to one group of about <see cref="Size"/> tasks (by a seeded
/// hash); a whole group is flaky or not (with probability <c>flaky_fraction</c>), and a share <see cref="Correlation"/> of
/// its tasks' flips in one evaluation (one skill, one sample) follow a single draw shared by the group.
/// </summary>
internal sealed class FlakyGroupsSpec
{
    /// <summary>Tasks per group on average (at least 1).</summary>
    public int Size { get; set; } = 8;

    /// <summary>In [0,1]: probability that a task's flip follows its group's shared draw rather than its own.</summary>
    public double Correlation { get; set; } = 0.5;
}

/// <summary>The <c>target.length_penalty</c> section: a long skill costs every task success probability.</summary>
internal sealed class LengthPenaltySpec
{
    /// <summary>Skill tokens (about four characters a token) that cost nothing.</summary>
    public int FreeTokens { get; set; } = 400;

    /// <summary>Success probability subtracted per 1,000 tokens beyond <see cref="FreeTokens"/>, in [0,1].</summary>
    public double PerThousandTokens { get; set; } = 0.05;
}

/// <summary>One procedure a skill can teach (e.g. unit conversion).</summary>
internal sealed class ProcedureSpec
{
    /// <summary>Unique name (e.g. <c>unit-conversion</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>Phrases that, found in a skill (case-insensitive), mean the skill teaches the procedure.</summary>
    public List<string> Phrases { get; set; } = [];

    /// <summary>Texts the optimizer writes when it proposes the procedure (each must contain one of <see cref="Phrases"/>).</summary>
    public List<string> Texts { get; set; } = [];

    /// <summary>Success probability in [0,1] a task that needs the procedure loses while the skill lacks it; unset: drawn from <c>target.penalty_distribution</c>, else <c>target.missing_procedure_penalty</c>.</summary>
    public double? Penalty { get; set; }
}

/// <summary>A generic rule: plausible, needed by no task, with a tiny effect (of either sign) on every task when present.</summary>
internal sealed class GenericRuleSpec
{
    /// <summary>Unique name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Phrase recognised in the skill (case-insensitive).</summary>
    public string Phrase { get; set; } = "";

    /// <summary>Texts the optimizer writes when it proposes this rule (each must contain <see cref="Phrase"/>; default: the phrase as a list item).</summary>
    public List<string> Texts { get; set; } = [];

    /// <summary>Success probability added to every task while the skill holds the rule (negative: it costs); unset: drawn from <c>target.generic_effect_distribution</c>.</summary>
    public double? Effect { get; set; }
}

/// <summary>A harmful rule: a phrase that, present in the skill, breaks the tasks it applies to.</summary>
internal sealed class HarmfulRuleSpec
{
    /// <summary>Unique name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Phrase recognised in the skill (case-insensitive).</summary>
    public string Phrase { get; set; } = "";

    /// <summary>Texts the optimizer writes when it proposes this rule (each must contain <see cref="Phrase"/>).</summary>
    public List<string> Texts { get; set; } = [];

    /// <summary>The rule breaks tasks that need any of these procedures (empty with no pattern: every task).</summary>
    public List<string> BreaksNeeds { get; set; } = [];

    /// <summary>The rule also breaks tasks whose question matches this regular expression (case-insensitive).</summary>
    public string? BreaksPattern { get; set; }

    /// <summary>Multiplier in [0,1] of the success probability of broken tasks (default 0.2).</summary>
    public double SuccessMultiplier { get; set; } = 0.2;
}

/// <summary>The <c>optimizer</c> section: how the simulated optimizer proposes, merges and ranks edits.</summary>
internal sealed class OptimizerBehaviour
{
    /// <summary>Relative weight of an edit that names a procedure the failed tasks really miss.</summary>
    public double Useful { get; set; } = 0.6;

    /// <summary>Relative weight of a plausible edit that matches no procedure.</summary>
    public double Useless { get; set; } = 0.3;

    /// <summary>Relative weight of an edit that writes a harmful rule.</summary>
    public double Harmful { get; set; } = 0.1;

    /// <summary>In [0,1]: how much padding each edit carries (0 = the bare rule, 1 = about four extra sentences).</summary>
    public double Wordiness { get; set; } = 0.2;

    /// <summary>
    /// Probability in [0,1] that a useful edit is misdiagnosed: it teaches a procedure drawn from the whole catalogue
    /// (which the failed tasks may not need, or the skill may already hold) instead of one the failed tasks miss.
    /// </summary>
    public double Misdiagnosis { get; set; }

    /// <summary>Probability in [0,1] that a reflection on failures proposes no edit at all.</summary>
    public double EmptyReplyRate { get; set; } = 0.05;

    /// <summary>Probability in [0,1] that a reflection on successes proposes anything.</summary>
    public double SuccessEditRate { get; set; } = 0.3;

    /// <summary>Probability in [0,1] that an edit is an <c>insert_after</c> under an existing heading rather than an <c>append</c>.</summary>
    public double InsertAfterRate { get; set; } = 0.25;

    /// <summary>Probability in [0,1] that an edit shown as already rejected is not proposed again.</summary>
    public double RespectRejected { get; set; } = 0.8;

    /// <summary>Standard deviation of the noise added to the ranking's preference for procedure edits.</summary>
    public double RankingNoise { get; set; } = 0.3;

    /// <summary>
    /// Which independent draw of the optimizer's randomness to use (default 0, the draw every earlier run used). Another
    /// value gives the same world, the same target and the same optimizer behaviour, but different replies: a second run of
    /// the same method. Benchmarks use it to measure how far two runs of one preset differ by chance (SkillOpt.Bench
    /// <c>--optimizer-draw</c>).
    /// </summary>
    public int Draw { get; set; }

    /// <summary>Probability in [0,1] that a first reply is prose instead of JSON (the repair re-ask then gets valid JSON).</summary>
    public double InvalidReplyRate { get; set; }

    /// <summary>Probability in [0,1] that an edit copies an expected answer from a verifier message into the skill (reward hacking).</summary>
    public double LeakRate { get; set; }

    /// <summary>Guidance texts for slow updates (one is picked per call).</summary>
    public List<string> Guidance { get; set; } = [];

    /// <summary>Advice texts for meta skills (one is picked per call).</summary>
    public List<string> Advice { get; set; } = [];
}

/// <summary>One task listed in the scenario file.</summary>
internal sealed class TaskSpec
{
    /// <summary>Stable id.</summary>
    public string Id { get; set; } = "";

    /// <summary>The question the target receives.</summary>
    public string Question { get; set; } = "";

    /// <summary>The correct answer.</summary>
    public string Answer { get; set; } = "";

    /// <summary>Names of the procedures the task needs.</summary>
    public List<string> Needs { get; set; } = [];

    /// <summary>Probability in [0,1] that the outcome flips; when unset, drawn from the target's flaky fraction.</summary>
    public double? Flakiness { get; set; }
}

/// <summary>The <c>task_source</c> section: tasks read from a JSON-lines file, their procedures assigned by features of the question text.</summary>
internal sealed class TaskSourceSpec
{
    /// <summary>Data file: a path relative to the scenario file, or the name of a data set shipped with SimLab (e.g. <c>gsm8k/test.jsonl</c>).</summary>
    public string Jsonl { get; set; } = "";

    /// <summary>Most rows read (0 = all).</summary>
    public int Limit { get; set; }

    /// <summary>Prefix of task ids; the id is the prefix plus the 1-based row number, zero-padded to 4 digits.</summary>
    public string IdPrefix { get; set; } = "task-";

    /// <summary>JSON field holding the question.</summary>
    public string QuestionField { get; set; } = "question";

    /// <summary>JSON field holding the answer.</summary>
    public string AnswerField { get; set; } = "answer";

    /// <summary>Regular expression whose group 1 extracts the answer from the answer field (default: the whole field).</summary>
    public string? AnswerPattern { get; set; }

    /// <summary>Rules that assign procedures to tasks from the question text.</summary>
    public List<FeatureRule> Features { get; set; } = [];
}

/// <summary>Assigns <see cref="Procedure"/> to every task whose question has a feature.</summary>
internal sealed class FeatureRule
{
    /// <summary>The procedure assigned.</summary>
    public string Procedure { get; set; } = "";

    /// <summary>Assign to every task.</summary>
    public bool Always { get; set; }

    /// <summary>Assign when the question matches this regular expression (case-insensitive).</summary>
    public string? Pattern { get; set; }

    /// <summary>Assign when the question holds at least this many numbers.</summary>
    public int? MinNumbers { get; set; }

    /// <summary>Assign to this share in [0,1] of the tasks, chosen by a hash of the task id and the procedure (the same for every seed).</summary>
    public double? Fraction { get; set; }
}

/// <summary>The <c>latency</c> section: lognormal latency per role (0 = none).</summary>
internal sealed class LatencyOptions
{
    /// <summary>Latency of target calls.</summary>
    public LatencyDistribution Target { get; set; } = new();

    /// <summary>Latency of optimizer calls.</summary>
    public LatencyDistribution Optimizer { get; set; } = new();
}

/// <summary>A lognormal latency given by its median and 95th percentile, in milliseconds.</summary>
internal sealed class LatencyDistribution
{
    /// <summary>Median in milliseconds (0 = no delay).</summary>
    public double MedianMs { get; set; }

    /// <summary>95th percentile in milliseconds (at least the median).</summary>
    public double P95Ms { get; set; }
}

/// <summary>The <c>faults</c> section: rates in [0,1] of injected faults per request attempt.</summary>
internal sealed class FaultOptions
{
    /// <summary>HTTP 429 with a <c>Retry-After</c> header.</summary>
    public double RateLimit { get; set; }

    /// <summary>HTTP 500 with an OpenAI-style error body.</summary>
    public double ServerError { get; set; }

    /// <summary>No reply for <see cref="HangSeconds"/> (longer than a client timeout).</summary>
    public double Timeout { get; set; }

    /// <summary>HTTP 200 with a body that is not valid JSON.</summary>
    public double MalformedBody { get; set; }

    /// <summary>A reply cut in half with <c>finish_reason: "length"</c>.</summary>
    public double Truncated { get; set; }

    /// <summary>Value of the <c>Retry-After</c> header, in seconds.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>How long a timeout fault hangs, in seconds.</summary>
    public double HangSeconds { get; set; } = 600;

    /// <summary>Faults stop after this many attempts of the same request, so that a retry eventually succeeds.</summary>
    public int MaxConsecutive { get; set; } = 2;

    /// <summary>Roles faults apply to: <c>target</c>, <c>optimizer</c> (default both).</summary>
    public List<string> Roles { get; set; } = ["target", "optimizer"];
}

/// <summary>A task as SimLab simulates it.</summary>
/// <param name="Id">Stable id.</param>
/// <param name="Question">The question text.</param>
/// <param name="Answer">The correct answer.</param>
/// <param name="Needs">Names of the procedures the task needs.</param>
/// <param name="Flakiness">Probability in [0,1] that the simulated outcome flips.</param>
/// <param name="BaseSuccess">Success probability in [0,1] with every needed procedure (drawn from <c>target.base_success_distribution</c>); null: <c>target.base_success_rate</c>.</param>
/// <param name="Group">The task's flakiness group (<c>target.flaky_groups</c>); -1 when tasks are not grouped.</param>
internal sealed record SimTask(string Id, string Question, string Answer, IReadOnlyList<string> Needs, double Flakiness, double? BaseSuccess = null, int Group = -1);
