using System.Globalization;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Testing.Gate;

/// <summary>The verdict of a live re-check.</summary>
internal enum LiveVerdict
{
    /// <summary>No drop: as many or more tasks improved than regressed (or nothing changed).</summary>
    Holds,
    /// <summary>Some tasks regressed, but not significantly: the gate passes with a warning.</summary>
    Inconclusive,
    /// <summary>A significant drop: the gate fails.</summary>
    Regressed,
}

/// <summary>One task whose outcome changed between the receipt and the live run.</summary>
/// <param name="TaskId">Task id.</param>
/// <param name="Approved">Outcome in the receipt.</param>
/// <param name="Live">Outcome in the live run.</param>
internal sealed record TaskFlip(string TaskId, ReceiptTask Approved, ReceiptTask Live);

/// <summary>The result of <see cref="LiveComparison.Compare"/>.</summary>
/// <param name="Verdict">Holds, inconclusive or regressed.</param>
/// <param name="Pairs">Tasks scored in both the receipt and the live run.</param>
/// <param name="Wins">Tasks that improved (binary: failed → passed).</param>
/// <param name="Losses">Tasks that regressed (binary: passed → failed).</param>
/// <param name="Graded">True when some score is neither 0 nor 1: the paired t bound decided, not the sign test.</param>
/// <param name="PValue">One-sided exact sign-test p-value of "the live run is worse" (binary), or <see langword="null"/> (graded).</param>
/// <param name="UpperBound">One-sided upper confidence bound of the mean score change (graded), or <see langword="null"/> (binary).</param>
/// <param name="ApprovedMean">Mean approved score over the pairs.</param>
/// <param name="LiveMean">Mean live score over the pairs.</param>
/// <param name="Alpha">Significance level used.</param>
/// <param name="Flips">Tasks whose outcome or score changed, sorted by id.</param>
/// <param name="NotCompared">Tasks of the receipt's test split that were not scored in both runs (errored, skipped or missing), sorted.</param>
internal sealed record LiveComparisonResult(LiveVerdict Verdict, int Pairs, int Wins, int Losses, bool Graded, double? PValue, double? UpperBound,
    double ApprovedMean, double LiveMean, double Alpha, IReadOnlyList<TaskFlip> Flips, IReadOnlyList<string> NotCompared)
{
    /// <summary>One paragraph for people: the counts, the test and the verdict.</summary>
    public string Describe()
    {
        var ci = CultureInfo.InvariantCulture;
        var test = Graded
            ? $"paired t: upper {(1 - Alpha).ToString("0.##", ci)} bound of the mean change {UpperBound?.ToString("0.####", ci) ?? "n/a"}"
            : $"exact sign test: {Losses} regressed vs {Wins} improved, one-sided p = {PValue?.ToString("0.####", ci) ?? "n/a"}";
        var verdict = Verdict switch
        {
            LiveVerdict.Regressed => $"a significant drop at alpha {Alpha.ToString("0.###", ci)}",
            LiveVerdict.Inconclusive => $"a drop that is not significant at alpha {Alpha.ToString("0.###", ci)} (inconclusive)",
            _ => "no drop",
        };
        return $"{Pairs} test tasks compared: approved mean {ApprovedMean.ToString("0.###", ci)} → live mean {LiveMean.ToString("0.###", ci)}; {test}: {verdict}."
            + (NotCompared.Count == 0 ? "" : $" Not compared (errored, skipped or missing in one run): {NotCompared.Count}.");
    }
}

/// <summary>
/// Compares a live re-run of the test split with the approved receipt task by task (paired): binary scores by SkillOpt.Core's
/// exact sign test on the discordant pairs (<see cref="PairedStatistics.SignTestPValue"/>, one-sided: the live run is worse),
/// graded scores by the paired t upper bound of the mean change (<see cref="PairedStatistics.PairedUpperBound"/>). A
/// significant drop is <see cref="LiveVerdict.Regressed"/>; more regressions than improvements (binary) or a lower mean
/// (graded) without significance is <see cref="LiveVerdict.Inconclusive"/>; anything else <see cref="LiveVerdict.Holds"/>.
/// </summary>
internal static class LiveComparison
{
    /// <summary>Compares the receipt's test outcomes with live results.</summary>
    /// <param name="approved">The receipt's test split, by task id.</param>
    /// <param name="live">Live results (any order; tasks not in the receipt are ignored).</param>
    /// <param name="alpha">Significance level in (0, 1), e.g. 0.05.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not in (0, 1).</exception>
    public static LiveComparisonResult Compare(IReadOnlyDictionary<string, ReceiptTask> approved, IEnumerable<RolloutResult> live, double alpha)
    {
        ArgumentNullException.ThrowIfNull(approved);
        ArgumentNullException.ThrowIfNull(live);
        if (alpha is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in (0, 1)");
        }
        var liveById = live.GroupBy(r => r.TaskId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => ReceiptTask.From(g.Last()), StringComparer.Ordinal);
        var pairs = new List<(string Id, ReceiptTask A, ReceiptTask L)>();
        var notCompared = new List<string>();
        var flips = new List<TaskFlip>();
        foreach (var (id, a) in approved.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!liveById.TryGetValue(id, out var l) || !a.IsScored || !l.IsScored)
            {
                if (a.IsScored || (l is not null && l.IsScored))
                {
                    notCompared.Add(id);
                }
                continue;
            }
            pairs.Add((id, a, l));
            if (a.Outcome != l.Outcome || Math.Abs((a.Score ?? 0) - (l.Score ?? 0)) > 1e-9)
            {
                flips.Add(new TaskFlip(id, a, l));
            }
        }
        var graded = pairs.Any(p => p.A.Score is not (0 or 1) || p.L.Score is not (0 or 1));
        var approvedMean = pairs.Count == 0 ? 0 : pairs.Average(p => p.A.Score ?? 0);
        var liveMean = pairs.Count == 0 ? 0 : pairs.Average(p => p.L.Score ?? 0);
        int wins, losses;
        double? pValue = null, upper = null;
        LiveVerdict verdict;
        if (!graded)
        {
            wins = pairs.Count(p => p.A.Outcome != "passed" && p.L.Outcome == "passed");
            losses = pairs.Count(p => p.A.Outcome == "passed" && p.L.Outcome != "passed");
            pValue = PairedStatistics.SignTestPValue(losses, wins);
            verdict = pValue <= alpha ? LiveVerdict.Regressed : losses > wins ? LiveVerdict.Inconclusive : LiveVerdict.Holds;
        }
        else
        {
            var d = pairs.Select(p => (p.L.Score ?? 0) - (p.A.Score ?? 0)).ToList();
            wins = d.Count(x => x > 1e-9);
            losses = d.Count(x => x < -1e-9);
            upper = PairedStatistics.PairedUpperBound(d, alpha);
            verdict = upper < 0 ? LiveVerdict.Regressed : d.Count > 0 && d.Average() < -1e-9 ? LiveVerdict.Inconclusive : LiveVerdict.Holds;
        }
        return new LiveComparisonResult(verdict, pairs.Count, wins, losses, graded, pValue, upper, approvedMean, liveMean, alpha, flips, notCompared);
    }
}
