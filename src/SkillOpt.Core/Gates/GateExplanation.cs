using System.Globalization;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Gates;

/// <summary>
/// Gate verdicts in plain words, for the console and the reports, e.g. <c>reject — the candidate won 3 and lost 7 of its
/// 16 paired validation measurements (6 unchanged); a real gain is unlikely</c> (a measurement is one validation task in one
/// draw; the paired gate may draw each task more than once). The statistics behind a verdict (the
/// gate's own <see cref="GateDecision.Reason"/>, likelihood ratio, p-value) stay in the run folder (<c>decision.json</c>,
/// <c>history.json</c>) and in the HTML report.
/// </summary>
internal static class GateExplanation
{
    /// <summary>Describes a gate decision of the training loop (or of a pre-screen) in plain words.</summary>
    /// <param name="action">The verdict as written in <c>history.json</c>: <c>accept</c>, <c>reject</c>, <c>inconclusive</c>, <c>skip</c>, <c>applied_ungated</c>, <c>updated</c> or <c>none</c>.</param>
    /// <param name="validation">The evidence recorded with it (may be null: no candidate was gated).</param>
    /// <param name="reason">The gate's own reason (statistics), used for the kinds of verdict that counts cannot explain (a regression veto, a pre-screen).</param>
    /// <returns>One line starting with the verdict, then <c> — </c> and the explanation; never empty.</returns>
    public static string Describe(string action, ValidationSummary? validation, string? reason)
    {
        ArgumentNullException.ThrowIfNull(action);
        var ci = CultureInfo.InvariantCulture;
        if (action == "skip")
        {
            return "skip — no candidate was built" + (string.IsNullOrWhiteSpace(reason) ? "" : $" ({reason})");
        }
        if (action == "applied_ungated")
        {
            return "applied without validation — the classic slow update changes the skill without a gate";
        }
        if (action is "none" or "updated" || validation is null)
        {
            return action + (string.IsNullOrWhiteSpace(reason) ? "" : $" — {reason}");
        }
        if (validation.Gate == "prescreen")
        {
            var why = reason is null ? "" : reason.StartsWith("pre-screen: ", StringComparison.Ordinal) ? reason["pre-screen: ".Length..] : reason;
            return string.Create(ci, $"{action} at the pre-screen — on the {validation.Tasks} tasks of this step it was tried on, the candidate {Plain(why)}; it did not go to validation");
        }
        if (reason is not null && reason.Contains("non-regression veto", StringComparison.Ordinal))
        {
            var task = reason.Split(' ').SkipWhile(w => w != "task").Skip(1).FirstOrDefault();
            return $"{action} — the candidate fails task {task ?? "?"} again and again, which the current skill always passed (a regression)";
        }
        if (validation.Wins is { } wins && validation.Losses is { } losses && validation.PairedTasks is { } paired)
        {
            var counts = string.Create(ci, $"the candidate won {wins} and lost {losses} of its {paired} paired validation measurements ({paired - wins - losses} unchanged)");
            if (reason is not null && reason.StartsWith("paired t:", StringComparison.Ordinal))
            {
                counts = string.Create(ci, $"the candidate's mean score {Signed(validation.CandidateScore - validation.IncumbentScore)} the current skill's on {paired} validation tasks");
            }
            return action switch
            {
                "accept" => $"accept — {counts}; a real gain is likely, so it becomes the current skill",
                "inconclusive" => $"inconclusive — {counts}; that may be a gain, but not a sure one, so the current skill stays",
                _ when wins <= losses => $"reject — {counts}; it is not better",
                _ => $"reject — {counts}; a real gain is unlikely",
            };
        }
        if (action == "reject" && validation.TasksSkipped > 0)
        {
            // the strict gate's futility stop: the candidate was scored on part of the split only
            return string.Create(ci, $"reject — the candidate scored {validation.CandidateScore:0.###} on the first {validation.Tasks} of {validation.Tasks + validation.Errored + validation.TasksSkipped} validation tasks against the current skill's {validation.IncumbentScore:0.###}; it is unlikely to end above it, so scoring stopped");
        }
        var scores = string.Create(ci, $"the candidate scored {validation.CandidateScore:0.###} against the current skill's {validation.IncumbentScore:0.###} on {validation.Tasks} validation tasks");
        return action switch
        {
            "accept" => $"accept — {scores}, so it becomes the current skill",
            "inconclusive" => $"inconclusive — {scores}; not a sure gain, so the current skill stays",
            _ => $"reject — {scores}; it is not better",
        };
    }

    /// <summary>Describes a gate decision as it is made (the same words as <see cref="Describe(string, ValidationSummary?, string?)"/>).</summary>
    /// <param name="decision">The decision.</param>
    /// <param name="gate">The gate's configuration name (<c>paired</c>, <c>strict</c>).</param>
    public static string Describe(GateDecision decision, string gate)
    {
        ArgumentNullException.ThrowIfNull(decision);
        return Describe(decision.Verdict.ToString().ToLowerInvariant(),
            new ValidationSummary(decision.CandidateScore, decision.IncumbentScore, decision.Candidate.ScoredCount, decision.Candidate.ErroredCount, decision.TasksSkipped, decision.PValue, gate,
                decision.Wins, decision.Losses, decision.PairedTasks),
            decision.Reason);
    }

    private static string Signed(double d) =>
        Math.Abs(d) < 5e-4 ? "equals that of" : (d > 0 ? "is higher by " : "is lower by ") + Math.Abs(d).ToString("0.###", CultureInfo.InvariantCulture) + " than";

    private static string Plain(string why) =>
        why.StartsWith("fixes ", StringComparison.Ordinal) ? "fixed " + why["fixes ".Length..].Replace(" but breaks ", " but broke ", StringComparison.Ordinal).Replace(", breaks ", ", broke ", StringComparison.Ordinal) : why;
}
