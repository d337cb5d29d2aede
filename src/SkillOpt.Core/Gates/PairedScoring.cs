using System.Globalization;
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
        [.. context.ValidationTasks.OrderBy(t => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"{context.Seed}|val-order|{sample}|{t}")))), StringComparer.Ordinal)];

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
}
