using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Gates;

/// <summary>
/// What the paired gates (<see cref="PairedSequentialGate"/>, <see cref="PosteriorPairedGate"/>) share: the seeded task
/// order of a draw, scoring one chunk of it for the current skill and the candidate, and the decision record.
/// </summary>
internal static class PairedScoring
{
    /// <summary>The validation tasks of one draw in a seeded random order that depends on no outcome (SHA-256 of seed, sample and task).</summary>
    public static List<string> Order(GateContext context, int sample) =>
        SeededOrder(context.ValidationTasks, string.Create(CultureInfo.InvariantCulture, $"{context.Seed}|val-order|{sample}"));

    /// <summary>
    /// <paramref name="tasks"/> sorted by the SHA-256 of <c>{key}|{task}</c>: a random order that depends only on
    /// <paramref name="key"/> (a seed and what the order is for), never on an outcome, and the same on every resume.
    /// </summary>
    public static List<string> SeededOrder(IEnumerable<string> tasks, string key) =>
        [.. tasks.OrderBy(t => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{key}|{t}"))), StringComparer.Ordinal)];

    /// <summary>
    /// Scores the current skill (through the cache, lazily) and then the candidate on <paramref name="part"/> at
    /// <paramref name="sample"/>; adds the candidate's results to <paramref name="candidateResults"/> and returns the pairs
    /// in which both were scored, in the candidate's order.
    /// </summary>
    public static async Task<List<(RolloutResult Candidate, RolloutResult Incumbent)>> ScoreAsync(GateContext context, IReadOnlyList<string> part, int sample,
        List<RolloutResult> candidateResults, CancellationToken cancellationToken)
    {
        var incumbent = await context.Evaluate(context.IncumbentSkill, context.IncumbentHash, part, sample, cancellationToken).ConfigureAwait(false);
        var inc = incumbent.Results.Where(r => r.IsScored).ToDictionary(r => r.TaskId, StringComparer.Ordinal);
        var eval = await context.Evaluate(context.CandidateSkill, context.CandidateHash, part, sample, cancellationToken).ConfigureAwait(false);
        candidateResults.AddRange(eval.Results);
        return [.. eval.Results.Where(r => r.IsScored && inc.ContainsKey(r.TaskId)).Select(c => (c, inc[c.TaskId]))];
    }

    /// <summary>True when either score lies strictly between 0 and 1 (a graded verifier).</summary>
    public static bool IsGraded(RolloutResult a, RolloutResult b) => a.Score is > 0 and < 1 || b.Score is > 0 and < 1;

    /// <summary>True when <paramref name="a"/> passed and <paramref name="b"/> did not (a discordant pair won by <paramref name="a"/>).</summary>
    public static bool Beats(RolloutResult a, RolloutResult b) => a.Outcome == TaskOutcome.Passed && b.Outcome != TaskOutcome.Passed;

    /// <summary>
    /// The decision with both skills' mean scores over the pairs, the validation tasks left unscored, and the wins, losses
    /// and paired measurements it rests on.
    /// </summary>
    public static GateDecision Decide(GateVerdict verdict, string reason, GateContext context, List<RolloutResult> candidate,
        List<(RolloutResult Candidate, RolloutResult Incumbent)> pairs, double? p)
    {
        var c = pairs.Count == 0 ? 0 : pairs.Average(x => x.Candidate.Score);
        var i = pairs.Count == 0 ? 0 : pairs.Average(x => x.Incumbent.Score);
        var skipped = Math.Max(0, context.ValidationTasks.Count - candidate.Count);
        var wins = pairs.Count(x => Beats(x.Candidate, x.Incumbent));
        var losses = pairs.Count(x => Beats(x.Incumbent, x.Candidate));
        return new GateDecision(verdict, reason, c, i, new Evaluation(context.CandidateHash, context.ValidationSample, candidate), skipped, p, wins, losses, pairs.Count);
    }

    /// <summary>
    /// The ceiling rule of the paired gates: from the current skill's f failures in m scored pass/fail measurements, the
    /// one-sided Clopper–Pearson upper bound u at <paramref name="confidence"/> (<see cref="PairedStatistics.FailureRateUpperBound"/>)
    /// bounds the failures a gate's <paramref name="draws"/> draws of n tasks would hold, about draws·n·u; below
    /// <paramref name="winsToAccept"/>, even a candidate that passes every task would most likely stay short of acceptance.
    /// Null when it could be accepted, when nothing is scored, or when a result is graded (graded verifiers are not gated on wins).
    /// </summary>
    public static string? CeilingReason(IReadOnlyList<RolloutResult> currentSkill, int validationTasks, int draws, int winsToAccept, double confidence)
    {
        ArgumentNullException.ThrowIfNull(currentSkill);
        ArgumentOutOfRangeException.ThrowIfLessThan(validationTasks, 1);
        var scored = currentSkill.Where(r => r.IsScored).ToList();
        if (scored.Count == 0 || scored.Any(r => r.Score is > 0 and < 1))
        {
            return null;
        }
        var failures = scored.Count(r => r.Outcome != TaskOutcome.Passed);
        var u = PairedStatistics.FailureRateUpperBound(failures, scored.Count, 1 - confidence);
        var expected = draws * validationTasks * u;
        return expected >= winsToAccept ? null : string.Create(CultureInfo.InvariantCulture,
            $"the current skill failed {failures} of {scored.Count} validation measurements this round; at the {confidence:P0} upper bound of its failure rate ({u:0.###}) a gate's {draws} draw(s) of {validationTasks} tasks hold about {expected:0.#} failures to win, fewer than the {winsToAccept} wins without a loss acceptance needs (training.early_stopping.ceiling)");
    }
}

/// <summary>
/// The pairs a paired gate has scored so far and their tally — wins, losses, whether any score is graded — shared by
/// <see cref="PairedSequentialGate"/>, <see cref="PosteriorPairedGate"/> and <see cref="ValueOfInformationGate"/>, which
/// differ only in when they stop.
/// </summary>
internal sealed class PairedTally(GateContext context)
{
    /// <summary>Every candidate result scored so far (errored ones included), in scoring order.</summary>
    public List<RolloutResult> CandidateResults { get; } = [];

    /// <summary>The scored (candidate, current skill) pairs so far, in scoring order.</summary>
    public List<(RolloutResult Candidate, RolloutResult Incumbent)> Pairs { get; } = [];

    /// <summary>Pairs the candidate passed and the current skill did not.</summary>
    public int Wins { get; private set; }

    /// <summary>Pairs the current skill passed and the candidate did not.</summary>
    public int Losses { get; private set; }

    /// <summary>True once a pair holds a score strictly between 0 and 1 (a graded verifier).</summary>
    public bool Graded { get; private set; }

    /// <summary>
    /// Scores <paramref name="part"/> of the draw with sample index <paramref name="sample"/> for both skills (the current
    /// skill through the rollout cache) and yields each scored pair after adding it to the tally, so a caller that stops in
    /// the middle of a chunk leaves the later pairs out of it.
    /// </summary>
    public async IAsyncEnumerable<(RolloutResult Candidate, RolloutResult Incumbent)> ScoreAsync(IReadOnlyList<string> part, int sample,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var (c, i) in await PairedScoring.ScoreAsync(context, part, sample, CandidateResults, cancellationToken).ConfigureAwait(false))
        {
            Pairs.Add((c, i));
            Graded |= PairedScoring.IsGraded(c, i);
            Wins += PairedScoring.Beats(c, i) ? 1 : 0;
            Losses += PairedScoring.Beats(i, c) ? 1 : 0;
            yield return (c, i);
        }
    }

    /// <summary>Scores and tallies the whole of <paramref name="part"/> (see <see cref="ScoreAsync"/>).</summary>
    public async Task ScoreAllAsync(IReadOnlyList<string> part, int sample, CancellationToken cancellationToken)
    {
        await foreach (var _ in ScoreAsync(part, sample, cancellationToken).ConfigureAwait(false))
        {
        }
    }

    /// <summary>
    /// Scores the candidate chunk by chunk, draw after draw (at most <paramref name="maxDraws"/>, sample indices from
    /// <see cref="GateContext.ValidationSample"/>), each draw in its seeded task order (<see cref="PairedScoring.Order"/>).
    /// After each chunk <paramref name="afterChunk"/> gets the draw (0-based) and the tasks left in every draw still to
    /// come, and after each whole draw <paramref name="afterDraw"/> gets the draw; either returns a decision to stop with,
    /// or null to go on.
    /// </summary>
    /// <param name="maxDraws">Most draws (≥ 1).</param>
    /// <param name="chunkSize">Tasks in the next chunk (read before each chunk, so a gate can switch to whole draws).</param>
    /// <param name="afterChunk">The look after a chunk.</param>
    /// <param name="afterDraw">The look after a draw, or null for none.</param>
    /// <param name="cancellationToken">Cancels the scoring.</param>
    /// <returns>The decision a look returned, or null when every draw was scored without one.</returns>
    public async Task<GateDecision?> ScoreDrawsAsync(int maxDraws, Func<int> chunkSize, Func<int, int, GateDecision?> afterChunk,
        Func<int, GateDecision?>? afterDraw, CancellationToken cancellationToken)
    {
        var n = context.ValidationTasks.Count;
        for (var draw = 0; draw < maxDraws; draw++)
        {
            var sample = context.ValidationSample + draw;
            var order = PairedScoring.Order(context, sample);
            var done = 0;
            while (done < order.Count)
            {
                var part = order.Skip(done).Take(chunkSize()).ToList();
                done += part.Count;
                await ScoreAllAsync(part, sample, cancellationToken).ConfigureAwait(false);
                if (afterChunk(draw, (maxDraws - draw - 1) * n + (order.Count - done)) is { } decided)
                {
                    return decided;
                }
            }
            if (afterDraw?.Invoke(draw) is { } atDraw)
            {
                return atDraw;
            }
        }
        return null;
    }

    /// <summary>Candidate minus current-skill score of every pair (graded verifiers' paired t statistics).</summary>
    public List<double> Differences() => [.. Pairs.Select(p => p.Candidate.Score - p.Incumbent.Score)];

    /// <summary>The decision with this tally's scores and counts (<see cref="PairedScoring.Decide"/>).</summary>
    public GateDecision Decide(GateVerdict verdict, string reason, double? p) => PairedScoring.Decide(verdict, reason, context, CandidateResults, Pairs, p);
}
