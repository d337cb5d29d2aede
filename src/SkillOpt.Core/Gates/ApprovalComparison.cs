using System.Globalization;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Gates;

/// <summary>
/// The strict regression control before approval: a received (trained) skill compared with the committed (approved) skill
/// on the test split, task by task on the same sample indices. The test split took no part in training (the validation
/// gate chose the skill on other tasks), so this is the one unbiased look at whether training made the skill better.
/// <list type="bullet">
/// <item>Pass/fail verifiers: the one-sided exact sign (McNemar) test on the discordant pairs, p = P(X ≥ wins) with
/// X ~ Bin(wins + losses, ½) (<see cref="PairedStatistics.SignTestPValue"/>); the received skill is <see cref="ShownBetter"/>
/// when p ≤ α. When the two skills are equally good on every task, each discordant pair is a fair coin whatever the task's
/// difficulty or flakiness, so a received skill that is not better is judged better with probability at most α (the test is
/// exact and, by its discreteness, conservative). Pairs of several draws (<c>approval.test_draws</c>) are pooled: under that
/// null, discordant pairs of independent draws are independent fair coins too.</item>
/// <item>Graded verifiers (a score strictly between 0 and 1): the one-sided paired t lower bound of the mean difference at
/// level 1 − α (<see cref="PairedStatistics.PairedLowerBound"/>) must be above 0.</item>
/// </list>
/// Errored and skipped results are not pairs. The comparison does not decide the approval: a person does, with it in front
/// of them (docs/approval.md).
/// </summary>
internal sealed record ApprovalComparison
{
    /// <summary>The test: <c>sign</c> (exact sign test, pass/fail) or <c>paired_t</c> (graded scores).</summary>
    public required string Test { get; init; }

    /// <summary>SHA-256 (lower-case hex) of the committed skill the received one was compared with.</summary>
    public required string CommittedSha256 { get; init; }

    /// <summary>Paired task results compared (tasks × draws, both scored).</summary>
    public int Pairs { get; init; }

    /// <summary>Draws of the test split per skill (sample indices 0 … draws − 1).</summary>
    public int Draws { get; init; }

    /// <summary>Pairs the received skill passed and the committed one failed.</summary>
    public int Wins { get; init; }

    /// <summary>Pairs the committed skill passed and the received one failed.</summary>
    public int Losses { get; init; }

    /// <summary>Mean score difference, received − committed, over the pairs (in [−1, 1]; 6 decimals).</summary>
    public double MeanDifference { get; init; }

    /// <summary>The sign test's one-sided p-value (6 decimals; <c>sign</c> only).</summary>
    public double? PValue { get; init; }

    /// <summary>The paired t lower bound of the mean difference at level 1 − α (6 decimals; <c>paired_t</c> only).</summary>
    public double? LowerBound { get; init; }

    /// <summary>One-sided significance level in (0, 0.5]: the most often a received skill that is not better is shown better.</summary>
    public double Alpha { get; init; }

    /// <summary>True when the received skill is better than the committed one at level α.</summary>
    public bool ShownBetter { get; init; }

    /// <summary><c>better</c> or <c>not_shown_better</c>.</summary>
    public string Verdict => ShownBetter ? "better" : "not_shown_better";

    /// <summary>Compares paired results (see the type's remarks).</summary>
    /// <param name="pairs">Per task and draw: the received skill's result and the committed skill's, same task and sample index.</param>
    /// <param name="alpha">One-sided significance level in (0, 0.5].</param>
    /// <param name="draws">Draws the pairs come from (≥ 1), as recorded.</param>
    /// <param name="committedSha256">SHA-256 of the committed skill's text.</param>
    /// <returns>The comparison; with no scored pair, not shown better (p = 1).</returns>
    /// <exception cref="ArgumentOutOfRangeException">α is outside (0, 0.5] or draws is less than 1.</exception>
    public static ApprovalComparison Compare(IEnumerable<(RolloutResult Received, RolloutResult Committed)> pairs, double alpha, int draws, string committedSha256)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentException.ThrowIfNullOrEmpty(committedSha256);
        if (alpha is <= 0 or > 0.5 || double.IsNaN(alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in (0, 0.5]");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(draws, 1);
        var scored = pairs.Where(p => p.Received.IsScored && p.Committed.IsScored).ToList();
        var wins = scored.Count(p => p.Received.Outcome == TaskOutcome.Passed && p.Committed.Outcome != TaskOutcome.Passed);
        var losses = scored.Count(p => p.Committed.Outcome == TaskOutcome.Passed && p.Received.Outcome != TaskOutcome.Passed);
        var diffs = scored.Select(p => p.Received.Score - p.Committed.Score).ToList();
        var mean = diffs.Count == 0 ? 0 : diffs.Average();
        var graded = scored.Any(p => p.Received.Score is > 0 and < 1 || p.Committed.Score is > 0 and < 1);
        var result = new ApprovalComparison
        {
            Test = graded ? "paired_t" : "sign",
            CommittedSha256 = committedSha256,
            Pairs = scored.Count,
            Draws = draws,
            Wins = wins,
            Losses = losses,
            MeanDifference = Math.Round(mean, 6),
            Alpha = alpha,
        };
        if (graded)
        {
            var lower = PairedStatistics.PairedLowerBound(diffs, alpha);
            return result with { LowerBound = double.IsNegativeInfinity(lower) ? null : Math.Round(lower, 6), ShownBetter = lower > 0 };
        }
        var p = PairedStatistics.SignTestPValue(wins, losses);
        return result with { PValue = Math.Round(p, 6), ShownBetter = p <= alpha };
    }

    /// <summary>One sentence for the console, e.g. "received vs committed skill on 60 test tasks × 1 draw: 10 wins, 2 losses, one-sided sign test p = 0.0193 ≤ α = 0.025: better".</summary>
    public string Describe()
    {
        var ci = CultureInfo.InvariantCulture;
        var tasks = Draws > 0 ? Pairs / Draws : Pairs;
        var head = string.Create(ci, $"received vs committed skill on {tasks} test tasks × {Draws} draw(s): {Wins} wins, {Losses} losses, mean difference {MeanDifference:+0.###;-0.###;0}, ");
        var test = Test == "sign"
            ? string.Create(ci, $"one-sided sign test p = {PValue:0.####} {(ShownBetter ? "≤" : ">")} α = {Alpha}")
            : string.Create(ci, $"one-sided {(1 - Alpha) * 100:0.#}% paired t lower bound {(LowerBound is { } b ? b.ToString("0.####", ci) : "n/a")} {(ShownBetter ? ">" : "≤")} 0");
        return head + test + (ShownBetter ? ": better" : ": not shown better");
    }
}
