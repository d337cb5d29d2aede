using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Gates;

/// <summary>
/// The default gate. Candidate and current skill are scored on the same validation tasks with the same sample index
/// (a <em>draw</em>). Pass/fail verifiers: one-sided exact sign (McNemar) test over the discordant (task, draw) pairs;
/// graded verifiers: a one-sided paired t lower bound above 0.
/// <list type="bullet">
/// <item>Within a draw the candidate is scored in chunks, tasks the current skill failed first (they are the only possible
/// wins), each group in a seeded random order, and scoring stops as soon as that look's verdict is certain (deterministic
/// curtailment: it leaves the look's error rates exactly those of the full look, see <see cref="PairedStatistics.CurtailedSignTest"/>).</item>
/// <item>A promising but not yet significant candidate (more wins than losses, p ≤ 0.25 at the end of a draw) gets another
/// draw, up to <c>maxDraws</c>. Each of the at most <c>maxDraws</c> looks tests at α / maxDraws, so by the Bonferroni
/// inequality the false-accept rate of a useless edit stays at most α (a conservative group-sequential design; Jennison
/// &amp; Turnbull, Group Sequential Methods with Applications to Clinical Trials, 2000).</item>
/// <item>Non-regression veto: a candidate that fails a task the current skill passed in every one of at least
/// <c>vetoMinSamples</c> measurements, and fails it again on two re-check draws, is rejected (one or two failures of a task
/// are often noise: on SimLab's GSM8K scenario a veto on one failure, then on two, rejected most useful edits).</item>
/// </list>
/// Verdicts: Accept (significant), Reject (no more wins than losses, or veto), Inconclusive (more wins than losses, not significant).
/// </summary>
/// <param name="alpha">Overall one-sided significance level in (0, 0.5].</param>
/// <param name="sequential">Stop early when a look's verdict is decided.</param>
/// <param name="chunkSize">Tasks per chunk.</param>
/// <param name="vetoRegressions">Apply the non-regression veto.</param>
/// <param name="vetoMinSamples">Measurements that make a task reliably passing.</param>
/// <param name="maxDraws">Most draws (samples) per candidate, 1 or more.</param>
public sealed class PairedSequentialGate(double alpha = 0.05, bool sequential = true, int chunkSize = 8, bool vetoRegressions = true, int vetoMinSamples = 3, int maxDraws = 3) : IValidationGate
{
    /// <summary>Offset added to the sample index of a veto re-check, so it is a draw no other evaluation uses.</summary>
    public const int VetoRecheckSampleOffset = 1_000_000;

    /// <summary>p-value at or below which a not yet significant candidate with more wins than losses earns another draw.</summary>
    public const double PromisingPValue = 0.25;

    /// <inheritdoc />
    public string Name => "paired";

    /// <summary>Most draws per candidate.</summary>
    public int MaxDraws { get; } = Math.Max(1, maxDraws);

    /// <inheritdoc />
    public async Task<GateDecision> DecideAsync(GateContext context, CancellationToken cancellationToken)
    {
        var level = alpha / MaxDraws;
        var history = context.IncumbentHistory ?? new Dictionary<string, IReadOnlyList<RolloutResult>>();
        bool Reliable(string task) => history.TryGetValue(task, out var h) && h.Count >= vetoMinSamples && h.All(r => r.Outcome == TaskOutcome.Passed);
        var candidateResults = new List<RolloutResult>();
        var pairs = new List<(RolloutResult Candidate, RolloutResult Incumbent)>();
        int wins = 0, losses = 0, skipped = 0;
        var graded = false;

        for (var draw = 0; draw < MaxDraws; draw++)
        {
            var sample = context.ValidationSample + draw;
            var incumbent = await context.Evaluate(context.IncumbentSkill, context.IncumbentHash, context.ValidationTasks, sample, cancellationToken).ConfigureAwait(false);
            var inc = incumbent.Results.Where(r => r.IsScored).ToDictionary(r => r.TaskId, StringComparer.Ordinal);
            graded |= inc.Values.Any(r => r.Score is > 0 and < 1);
            var order = context.ValidationTasks.Where(inc.ContainsKey)
                .OrderBy(t => inc[t].Outcome == TaskOutcome.Passed ? 1 : 0)
                .ThenBy(t => Key(context.Seed, sample, t), StringComparer.Ordinal).ToList();
            var chunk = sequential && !graded ? Math.Max(1, chunkSize) : Math.Max(1, order.Count);
            var done = 0;
            var futile = false;
            while (done < order.Count)
            {
                var part = order.Skip(done).Take(futile ? order.Count : chunk).ToList();
                var eval = await context.Evaluate(context.CandidateSkill, context.CandidateHash, part, sample, cancellationToken).ConfigureAwait(false);
                candidateResults.AddRange(eval.Results);
                done += part.Count;
                foreach (var c in eval.Results.Where(r => r.IsScored))
                {
                    var i = inc[c.TaskId];
                    pairs.Add((c, i));
                    graded |= c.Score is > 0 and < 1;
                    var cp = c.Outcome == TaskOutcome.Passed;
                    var ip = i.Outcome == TaskOutcome.Passed;
                    wins += cp && !ip ? 1 : 0;
                    losses += !cp && ip ? 1 : 0;
                    if (vetoRegressions && !cp && Reliable(c.TaskId) && !await PassesRecheckAsync(context, c.TaskId, sample, cancellationToken).ConfigureAwait(false))
                    {
                        return Decide(GateVerdict.Reject, $"non-regression veto: the candidate fails task {c.TaskId} in 3 of 3 draws, which the current skill passed in all {history[c.TaskId].Count} measurements",
                            context, candidateResults, pairs, skipped + order.Count - done, null);
                    }
                }
                if (graded || done >= order.Count || futile)
                {
                    continue;
                }
                var rest = order.Skip(done).ToList();
                var possibleWins = rest.Count(t => inc[t].Outcome != TaskOutcome.Passed);
                var decided = PairedStatistics.CurtailedSignTest(wins, losses, possibleWins, rest.Count - possibleWins, level);
                if (decided is true)
                {
                    skipped += rest.Count;
                    var worst = PairedStatistics.SignTestPValue(wins, losses + rest.Count - possibleWins);
                    return Decide(GateVerdict.Accept, Describe($"significant at α={alpha} (α/{MaxDraws} per look) whatever the {rest.Count} remaining tasks give", wins, losses, draw + 1, worst),
                        context, candidateResults, pairs, skipped, worst);
                }
                if (decided is false)
                {
                    // This look cannot become significant. Another draw may still help a consistent gain, but only a completed
                    // draw may be carried into the next look (its losses come last), so the rest of this draw is scored only
                    // when the gain looks real once the losses the current skill's flakiness predicts are counted.
                    var expectedLosses = (int)Math.Round(rest.Where(t => inc[t].Outcome == TaskOutcome.Passed).Sum(t => 1 - PassRate(history, t)));
                    var promising = draw + 1 < MaxDraws && wins > losses + expectedLosses && PairedStatistics.SignTestPValue(wins, losses + expectedLosses) <= PromisingPValue;
                    if (!promising)
                    {
                        skipped += rest.Count;
                        var verdict = draw + 1 == MaxDraws && wins > losses + expectedLosses ? GateVerdict.Inconclusive : GateVerdict.Reject;
                        return Decide(verdict, Describe($"cannot reach significance at α={alpha} (α/{MaxDraws} per look) even if all {possibleWins} remaining tasks the current skill failed became wins", wins, losses, draw + 1,
                            PairedStatistics.SignTestPValue(wins, losses)), context, candidateResults, pairs, skipped, PairedStatistics.SignTestPValue(wins, losses));
                    }
                    futile = true;
                }
            }

            if (graded)
            {
                var diffs = pairs.Select(p => p.Candidate.Score - p.Incumbent.Score).ToList();
                var lower = PairedStatistics.PairedLowerBound(diffs, alpha);
                var upper = PairedStatistics.PairedUpperBound(diffs, alpha);
                var mean = diffs.Count == 0 ? 0 : diffs.Average();
                var verdict = lower > 0 ? GateVerdict.Accept : mean <= 0 || upper < 0 ? GateVerdict.Reject : GateVerdict.Inconclusive;
                return Decide(verdict, string.Create(CultureInfo.InvariantCulture, $"paired t: mean difference {mean:+0.####;-0.####;0}, one-sided {1 - alpha:P0} bounds [{lower:0.####}, {upper:0.####}] over {diffs.Count} tasks"),
                    context, candidateResults, pairs, skipped, null);
            }

            var p = PairedStatistics.SignTestPValue(wins, losses);
            var draws = draw + 1;
            if (p <= level)
            {
                return Decide(GateVerdict.Accept, Describe($"significant at α={alpha} (α/{MaxDraws} per look)", wins, losses, draws, p), context, candidateResults, pairs, skipped, p);
            }
            if (wins <= losses)
            {
                return Decide(GateVerdict.Reject, Describe("no more wins than losses", wins, losses, draws, p), context, candidateResults, pairs, skipped, p);
            }
            if (p > PromisingPValue || draws == MaxDraws)
            {
                return Decide(GateVerdict.Inconclusive, Describe($"not significant at α={alpha}", wins, losses, draws, p), context, candidateResults, pairs, skipped, p);
            }
        }
        throw new InvalidOperationException("unreachable: the last draw always decides");
    }

    /// <summary>True when the candidate passes (or cannot be scored on) <paramref name="task"/> in one of two re-check draws.</summary>
    private static async Task<bool> PassesRecheckAsync(GateContext context, string task, int sample, CancellationToken ct)
    {
        for (var k = 0; k < 2; k++)
        {
            var again = await context.Evaluate(context.CandidateSkill, context.CandidateHash, [task], sample + VetoRecheckSampleOffset + k * 1000, ct).ConfigureAwait(false);
            if (again.Results.Any(r => r.Outcome != TaskOutcome.Failed))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Share of the current skill's measurements of <paramref name="task"/> that passed; 1 when its only measurement is this draw's pass.</summary>
    private static double PassRate(IReadOnlyDictionary<string, IReadOnlyList<RolloutResult>> history, string task) =>
        history.TryGetValue(task, out var h) && h.Count > 0 ? h.Count(r => r.Outcome == TaskOutcome.Passed) / (double)h.Count : 1.0;

    private static string Describe(string verdict, int wins, int losses, int draws, double p) =>
        string.Create(CultureInfo.InvariantCulture, $"sign test over {draws} draw(s): {wins} wins, {losses} losses, p = {p:0.####}: {verdict}");

    private static GateDecision Decide(GateVerdict verdict, string reason, GateContext context, List<RolloutResult> candidate,
        List<(RolloutResult Candidate, RolloutResult Incumbent)> pairs, int skipped, double? p)
    {
        var c = pairs.Count == 0 ? 0 : pairs.Average(x => x.Candidate.Score);
        var i = pairs.Count == 0 ? 0 : pairs.Average(x => x.Incumbent.Score);
        return new GateDecision(verdict, reason, c, i, new Evaluation(context.CandidateHash, context.ValidationSample, candidate), skipped, p);
    }

    private static string Key(int seed, int sample, string task) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}|val-order|{sample}|{task}")));
}
