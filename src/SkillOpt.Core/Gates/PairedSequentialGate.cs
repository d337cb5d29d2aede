using System.Globalization;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Gates;

/// <summary>
/// The default gate. Candidate and current skill are scored on the same validation tasks with the same sample index, so
/// every task gives a pair; only discordant pairs (one passes, the other fails) carry evidence.
/// <list type="bullet">
/// <item>Pass/fail verifiers, sequential (default): the pairs are scored in chunks, in a seeded random order of the tasks
/// that does not depend on any outcome, draw after draw (a draw is one pass over the split with one sample index, at most
/// <c>maxDraws</c>). After each chunk Wald's SPRT on the discordant pairs (θ₀ = 1/2 against θ₁ = <c>alternative</c>, see
/// <see cref="PairedStatistics.SprtLogLikelihoodRatio"/>) accepts when Λ ≥ 1/α (false-accept rate ≤ α by Ville's
/// inequality, whatever the number of looks or draws) and rejects for futility when Λ ≤ β/(1 − α). With
/// <c>finalAnalysis</c> (default), a candidate still undecided after <c>maxDraws</c> draws gets an exact final test with
/// the part of α the SPRT did not spend on this gate's looks (<see cref="PairedStatistics.TruncatedSprtNullDistribution"/>):
/// it is accepted when P(the SPRT accepts at some look, or the final wins are at least its wins) ≤ α under the null, so
/// the whole gate still accepts a useless candidate with probability at most α, while a gain the SPRT's anytime boundary
/// is too slow for (about 8 wins to 4 losses per draw of 40 tasks: 24 to 12 after three draws, p = 0.033 by the sign test
/// alone) can still be accepted. Otherwise, or when that test fails, the candidate is inconclusive when it won more pairs than it lost, else
/// rejected. A further draw is scored only while the candidate has won more pairs than it lost (so a candidate that
/// changes no outcome costs one draw) and, at its pace per draw so far, would end significant: with the final analysis,
/// the wins and losses so far scaled to <c>maxDraws</c> draws (rounded half away from zero) must give an exact sign test
/// p ≤ α; without it, its log
/// likelihood ratio must reach ln(1/α) (otherwise it is inconclusive at once). These stops never accept, so they only
/// lower the false-accept rate.</item>
/// <item>Pass/fail verifiers, not sequential: one full draw and a one-sided exact sign (McNemar) test at α.</item>
/// <item>Graded verifiers (a score strictly between 0 and 1): the rest of the draw is scored and a one-sided paired t
/// bound decides at α.</item>
/// <item>The current skill is measured lazily, on the same chunks, through the rollout cache: its results are shared by
/// every candidate of the same validation round (<see cref="GateContext.ValidationSample"/>).</item>
/// <item>Non-regression veto: a candidate that fails a task the current skill passed in every one of at least
/// <c>vetoMinSamples</c> measurements, and fails it again on two re-check draws, is rejected (one or two failures of a task
/// are often noise: on SimLab's GSM8K scenario a veto on one failure, then on two, rejected most useful edits).</item>
/// </list>
/// </summary>
/// <param name="alpha">One-sided significance level in (0, 0.5]: the most false-accept rate per candidate.</param>
/// <param name="sequential">Score in chunks and stop as soon as the SPRT decides.</param>
/// <param name="chunkSize">Tasks per chunk.</param>
/// <param name="vetoRegressions">Apply the non-regression veto.</param>
/// <param name="vetoMinSamples">Measurements that make a task reliably passing.</param>
/// <param name="maxDraws">Most draws (samples) of the validation split per candidate, 1 or more.</param>
/// <param name="alternative">θ₁ of the SPRT in (0.5, 1): the share of discordant pairs a candidate worth accepting wins (default 0.7).</param>
/// <param name="power">1 − β of the SPRT in (0, 1) (default 0.8, the conventional power of Cohen 1988).</param>
/// <param name="finalAnalysis">After the last draw, test a candidate the SPRT left undecided with the α it did not spend.</param>
/// <exception cref="ArgumentOutOfRangeException">On construction: α outside (0, 0.5], power outside (0, 1) or θ₁ outside (0.5, 1).</exception>
internal sealed class PairedSequentialGate(double alpha = 0.05, bool sequential = true, int chunkSize = 8, bool vetoRegressions = true, int vetoMinSamples = 3,
    int maxDraws = 3, double alternative = 0.7, double power = 0.8, bool finalAnalysis = true) : IPairedGate
{
    /// <summary>Offset added to the sample index of a veto re-check, so it is a draw no other evaluation uses.</summary>
    public const int VetoRecheckSampleOffset = 1_000_000;

    private readonly (double Lower, double Upper) _bounds = PairedStatistics.SprtBoundaries(alpha, 1 - power);

    private readonly double _alternative = alternative is > 0.5 and < 1
        ? alternative
        : throw new ArgumentOutOfRangeException(nameof(alternative), alternative, "the alternative win share must be in (0.5, 1)");

    /// <inheritdoc />
    public string Name => "paired";

    /// <summary>Most draws per candidate.</summary>
    public int MaxDraws { get; } = Math.Max(1, maxDraws);

    /// <summary>
    /// The fewest discordant wins, without a loss, on which this gate accepts: sequential without the final analysis, the
    /// SPRT's <see cref="PairedStatistics.SprtWinsToAccept"/> (9 at α = 0.05, θ₁ = 0.7); otherwise the sign test's
    /// ⌈log₂(1/α)⌉ (5 at α = 0.05), since w wins and no loss give p = 2^−w — the final analysis of fewer wins than the SPRT
    /// needs has nothing spent before it and equals the sign test (and the SPRT never needs fewer, as 2θ₁ &lt; 2).
    /// </summary>
    public int WinsToAccept => sequential && !finalAnalysis
        ? PairedStatistics.SprtWinsToAccept(alpha, _alternative)
        : Math.Max(1, (int)Math.Ceiling(Math.Log2(1 / alpha) - 1e-9));

    /// <summary>
    /// Why no candidate is likely to be accepted against a current skill measured as <paramref name="currentSkill"/>, or null
    /// when one could be. A candidate wins only pairs the current skill failed, and acceptance needs
    /// <see cref="WinsToAccept"/> of them; from the current skill's f failures in m scored pass/fail measurements, the one-sided
    /// Clopper–Pearson upper bound u at the gate's power 1 − β (<see cref="PairedStatistics.FailureRateUpperBound"/>; 0.8 by
    /// default, the confidence with which the SPRT already stops for futility) bounds the failures a gate's D draws of n tasks
    /// would hold, about D·n·u (D = <see cref="MaxDraws"/>, or 1 when not sequential); below <see cref="WinsToAccept"/>, even
    /// a candidate that passes every task would most likely stay short of acceptance.
    /// </summary>
    /// <param name="currentSkill">The current skill's validation results on draws no selection has looked at (for the
    /// training loop: the current validation round's samples); errored and skipped results are ignored.</param>
    /// <param name="validationTasks">Tasks in the validation split (n ≥ 1).</param>
    /// <returns>A sentence for the run's summary, or null (also when a result is graded, as graded verifiers are not gated on wins).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="validationTasks"/> is less than 1.</exception>
    public string? CeilingReason(IReadOnlyList<RolloutResult> currentSkill, int validationTasks)
    {
        return PairedScoring.CeilingReason(currentSkill, validationTasks, sequential ? MaxDraws : 1, WinsToAccept, power);
    }

    /// <inheritdoc />
    public async Task<GateDecision> DecideAsync(GateContext context, CancellationToken cancellationToken)
    {
        var history = context.IncumbentHistory ?? new Dictionary<string, IReadOnlyList<RolloutResult>>();
        bool Reliable(string task) => history.TryGetValue(task, out var h) && h.Count >= vetoMinSamples && h.All(r => r.Outcome == TaskOutcome.Passed);
        var tally = new PairedTally(context);
        var draws = sequential ? MaxDraws : 1;
        var maxLlr = 0.0;
        var llr = 0.0;
        var looks = new List<int>();

        for (var draw = 0; draw < draws; draw++)
        {
            var sample = context.ValidationSample + draw;
            var order = PairedScoring.Order(context, sample);
            var done = 0;
            while (done < order.Count)
            {
                var chunk = sequential && !tally.Graded ? Math.Max(1, chunkSize) : order.Count;
                var part = order.Skip(done).Take(chunk).ToList();
                done += part.Count;
                await foreach (var (c, _) in tally.ScoreAsync(part, sample, cancellationToken).ConfigureAwait(false))
                {
                    if (vetoRegressions && c.Outcome != TaskOutcome.Passed && Reliable(c.TaskId) && !await PassesRecheckAsync(context, c.TaskId, sample, cancellationToken).ConfigureAwait(false))
                    {
                        return tally.Decide(GateVerdict.Reject, $"non-regression veto: the candidate fails task {c.TaskId} in 3 of 3 draws, which the current skill passed in all {history[c.TaskId].Count} measurements", null);
                    }
                }
                if (tally.Graded || !sequential)
                {
                    continue;
                }
                llr = PairedStatistics.SprtLogLikelihoodRatio(tally.Wins, tally.Losses, _alternative);
                looks.Add(tally.Wins + tally.Losses);
                maxLlr = Math.Max(maxLlr, llr);
                if (llr >= _bounds.Upper)
                {
                    return tally.Decide(GateVerdict.Accept, Describe($"Λ = {Math.Exp(llr):0.##} ≥ 1/α = {1 / alpha:0.##}: significant at α={alpha}", tally, draw + 1), AnytimeP(maxLlr));
                }
                if (llr <= _bounds.Lower)
                {
                    return tally.Decide(GateVerdict.Reject, Describe($"Λ = {Math.Exp(llr):0.###} ≤ β/(1−α) = {Math.Exp(_bounds.Lower):0.###}: futile (a gain of θ₁ = {_alternative} is unlikely)", tally, draw + 1), AnytimeP(maxLlr));
                }
            }

            if (tally.Graded)
            {
                var diffs = tally.Differences();
                var lower = PairedStatistics.PairedLowerBound(diffs, alpha);
                var upper = PairedStatistics.PairedUpperBound(diffs, alpha);
                var mean = diffs.Count == 0 ? 0 : diffs.Average();
                var verdict = lower > 0 ? GateVerdict.Accept : mean <= 0 || upper < 0 ? GateVerdict.Reject : GateVerdict.Inconclusive;
                return tally.Decide(verdict, string.Create(CultureInfo.InvariantCulture, $"paired t: mean difference {mean:+0.####;-0.####;0}, one-sided {1 - alpha:P0} bounds [{lower:0.####}, {upper:0.####}] over {diffs.Count} tasks"), null);
            }
            if (sequential && !tally.Graded && draw + 1 < draws)
            {
                // Another draw is paid for only while the candidate leads and, at its pace so far, would end significant
                // (stochastic curtailment). Both rules only stop early, so they can only lower the false-accept rate.
                if (tally.Wins <= tally.Losses)
                {
                    return tally.Decide(GateVerdict.Reject, Describe($"Λ = {Math.Exp(llr):0.###}: no more wins than losses after a whole draw", tally, draw + 1), AnytimeP(maxLlr));
                }
                if (finalAnalysis)
                {
                    var scale = (double)draws / (draw + 1);
                    // half-way paces round away from zero (3 wins in 2 of 3 draws pace to 5, not to the even 4)
                    var (pacedWins, pacedLosses) = ((int)Math.Round(tally.Wins * scale, MidpointRounding.AwayFromZero), (int)Math.Round(tally.Losses * scale, MidpointRounding.AwayFromZero));
                    var paced = PairedStatistics.SignTestPValue(pacedWins, pacedLosses);
                    if (paced > alpha)
                    {
                        return tally.Decide(GateVerdict.Inconclusive, Describe($"at this pace {draws} draws would give {pacedWins} wins, {pacedLosses} losses, sign test p = {paced:0.###} > α = {alpha}", tally, draw + 1), AnytimeP(maxLlr));
                    }
                }
                else if (llr * draws / (draw + 1) < _bounds.Upper)
                {
                    return tally.Decide(GateVerdict.Inconclusive, Describe($"Λ = {Math.Exp(llr):0.###}: at this pace {draws} draws would not reach 1/α = {1 / alpha:0.##}", tally, draw + 1), AnytimeP(maxLlr));
                }
            }
            if (!sequential)
            {
                var p = PairedStatistics.SignTestPValue(tally.Wins, tally.Losses);
                var verdict = p <= alpha ? GateVerdict.Accept : tally.Wins <= tally.Losses ? GateVerdict.Reject : GateVerdict.Inconclusive;
                return tally.Decide(verdict, string.Create(CultureInfo.InvariantCulture, $"sign test over {tally.Pairs.Count} tasks: {tally.Wins} wins, {tally.Losses} losses, p = {p:0.####}: {(verdict == GateVerdict.Accept ? $"significant at α={alpha}" : verdict == GateVerdict.Reject ? "no more wins than losses" : $"not significant at α={alpha}")}"), p);
            }
        }
        if (finalAnalysis && sequential && looks.Count > 0 && tally.Wins > tally.Losses)
        {
            var nullDistribution = PairedStatistics.TruncatedSprtNullDistribution(looks, alpha, _alternative);
            var p = nullDistribution.PValue(tally.Wins);
            var needed = nullDistribution.WinsToAccept(alpha);
            var accepted = tally.Wins >= needed;
            return tally.Decide(accepted ? GateVerdict.Accept : GateVerdict.Inconclusive,
                Describe($"Λ = {Math.Exp(llr):0.###} crossed neither boundary in {draws} draw(s); final analysis (the SPRT spent {nullDistribution.SprtSpent:0.####} of α = {alpha} over {looks.Count} looks): {needed} wins needed, p = {p:0.####}: {(accepted ? "significant" : "not significant")}", tally, draws), p);
        }
        var final = tally.Wins > tally.Losses ? GateVerdict.Inconclusive : GateVerdict.Reject;
        return tally.Decide(final, Describe($"Λ = {Math.Exp(llr):0.###} crossed neither boundary in {draws} draw(s): {(final == GateVerdict.Reject ? "no more wins than losses" : "not significant")}", tally, draws), AnytimeP(maxLlr));
    }

    /// <summary>The anytime-valid p-value of the SPRT so far: min(1, 1 / max Λ) (Ville's inequality).</summary>
    private static double AnytimeP(double maxLogLr) => Math.Min(1, Math.Exp(-maxLogLr));

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

    private static string Describe(FormattableString verdict, PairedTally tally, int draws) =>
        string.Create(CultureInfo.InvariantCulture, $"SPRT over {tally.Pairs.Count} paired tasks ({draws} draw(s)): {tally.Wins} wins, {tally.Losses} losses; {verdict.ToString(CultureInfo.InvariantCulture)}");

}
