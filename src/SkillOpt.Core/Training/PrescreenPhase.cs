using SkillOpt.Core.Accounting;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Training;

/// <summary>A pre-screen's result: <see cref="Passed"/> when the candidate may go to validation.</summary>
/// <param name="Passed">The candidate may go to the validation gate.</param>
/// <param name="Reason">One sentence: what it fixed and broke.</param>
/// <param name="Fixes">Failed tasks of the step it passed.</param>
/// <param name="Breaks">Passed tasks of the step it failed.</param>
/// <param name="CandidateScore">Its mean score on the pre-screened tasks, in [0,1].</param>
/// <param name="IncumbentScore">The current skill's mean score on the same tasks in the step's rollout, in [0,1].</param>
/// <param name="Tasks">Tasks pre-screened.</param>
internal sealed record PrescreenResult(bool Passed, string Reason, int Fixes, int Breaks, double CandidateScore, double IncumbentScore, int Tasks);

/// <summary>
/// The pre-screen (docs/method.md, "One run", 2.7; default preset): the candidate on up to N failed and M passed tasks of
/// the step's rollout, with the rollout's sample index (so the pairs are exact), before it may cost a validation.
/// </summary>
internal sealed class PrescreenPhase(TrainingContext context, RolloutPhase rollouts)
{
    /// <summary>
    /// Pre-screens every built proposal (those that built the same candidate share one pre-screen: screened side by side they
    /// would race the cache). Returns the proposals with their results; each distinct candidate that failed has its files
    /// written and its edits added to the rejected-edit buffer once (the buffer bans an edit rejected in two different candidates).
    /// </summary>
    public async Task<List<Proposal>> ScreenAsync(RunScope run, Evaluation rollout, IReadOnlyList<Proposal> built, Phase phase, CancellationToken ct)
    {
        var distinct = built.DistinctBy(p => p.Candidate!.Hash).ToList();
        // one candidate: only the tasks its rule needs are run; several: every task, since the fixes and breaks choose among them
        var curtail = distinct.Count == 1;
        var screens = await Task.WhenAll(distinct.Select(p => ScreenOneAsync(rollout, p.Candidate!, phase, curtail, ct))).ConfigureAwait(false);
        var byHash = distinct.Select((p, i) => (p.Candidate!.Hash, screens[i])).ToDictionary(x => x.Hash, x => x.Item2, StringComparer.Ordinal);
        var screened = built.Select(p => p with { Screen = byHash[p.Candidate!.Hash] }).ToList();
        foreach (var p in screened.Where(p => !p.Screen!.Passed))
        {
            context.Store.SaveSkill(p.Candidate!.Hash, p.Candidate.Text);
            AtomicFile.WriteAllText(Path.Combine(p.Folder, "candidate_skill.md"), p.Candidate.Text);
            AtomicFile.WriteJson(Path.Combine(p.Folder, "decision.json"), new { verdict = "reject", gate = "prescreen", reason = p.Screen!.Reason, candidate_hash = p.Candidate.Hash });
        }
        foreach (var p in screened.Where(p => !p.Screen!.Passed).DistinctBy(p => p.Candidate!.Hash))
        {
            foreach (var e in p.Edits)
            {
                run.Buffer.Add(e, phase.Index, phase.Epoch, 0, p.Screen!.Reason, p.Edits.Count);
            }
        }
        return screened;
    }

    /// <summary>
    /// Passes when the candidate may go to validation: it fixes at least one failed task (when the batch had any) and breaks no
    /// more passed tasks than it fixes. Requiring zero breaks rejected most useful edits on flaky tasks (SimLab GSM8K
    /// benchmark), since any change to the skill redraws them. With <paramref name="curtail"/> the failed tasks are run first
    /// and the passed ones only when their breaks can still decide (the candidate fixed at least one failed task, or the batch
    /// had none, and fewer than there are passed tasks), and of those only as many as can still decide
    /// (<see cref="PassedTasksToRun"/>): the verdict is the one the whole pre-screen gives, for fewer target calls (a
    /// candidate that fixes nothing, or fixes at least as many tasks as it could break, costs only its failed tasks).
    /// </summary>
    private async Task<PrescreenResult> ScreenOneAsync(Evaluation rollout, SkillDocument candidate, Phase phase, bool curtail, CancellationToken ct)
    {
        var p = context.Settings.Prescreen;
        var failed = context.Order(rollout.Results.Where(r => r.Outcome == TaskOutcome.Failed).Select(r => r.TaskId), $"prescreen:{phase.Step}").Take(p.FailedTasks).ToList();
        var passed = context.Order(rollout.Results.Where(r => r.Outcome == TaskOutcome.Passed).Select(r => r.TaskId), $"prescreen:{phase.Step}").Take(p.PassedTasks).ToList();
        if (failed.Count + passed.Count == 0)
        {
            return new PrescreenResult(true, "no task to pre-screen on", 0, 0, 0, 0, 0);
        }
        var results = new List<RolloutResult>();
        if (curtail && failed.Count > 0)
        {
            results.AddRange((await rollouts.RunTasksAsync(candidate.Text, candidate.Hash, failed, rollout.SampleIndex, ChatStage.Prescreen, reuse: true, ct).ConfigureAwait(false)).Results);
        }
        var firstFixes = results.Count(r => r.Outcome == TaskOutcome.Passed);
        var decided = curtail && !NeedsPassedTasks(failed.Count, firstFixes, passed.Count);
        var passedRun = 0;
        if (!curtail)
        {
            results.AddRange((await rollouts.RunTasksAsync(candidate.Text, candidate.Hash, [.. failed, .. passed], rollout.SampleIndex, ChatStage.Prescreen, reuse: true, ct).ConfigureAwait(false)).Results);
            passedRun = passed.Count;
        }
        else if (!decided)
        {
            // the passed tasks in as few parts as decide: first the fewest whose passing clears the candidate, then more
            // only while what they broke leaves the verdict open
            var broken = 0;
            for (var next = PassedTasksToRun(firstFixes, passed.Count, passedRun, broken); next > 0; next = PassedTasksToRun(firstFixes, passed.Count, passedRun, broken))
            {
                var part = (await rollouts.RunTasksAsync(candidate.Text, candidate.Hash, passed.Skip(passedRun).Take(next).ToList(), rollout.SampleIndex, ChatStage.Prescreen, reuse: true, ct).ConfigureAwait(false)).Results;
                results.AddRange(part);
                broken += part.Count(r => r.Outcome == TaskOutcome.Failed);
                passedRun += next;
            }
        }
        var byId = results.ToDictionary(r => r.TaskId, StringComparer.Ordinal);
        var fixes = failed.Count(t => byId[t].Outcome == TaskOutcome.Passed);
        var breaks = passed.Where(t => byId.TryGetValue(t, out var r) && r.Outcome == TaskOutcome.Failed).ToList();
        var before = rollout.Results.Where(r => byId.ContainsKey(r.TaskId) && r.IsScored).ToList();
        var scored = results.Where(r => r.IsScored).ToList();
        var cs = scored.Count > 0 ? scored.Average(r => r.Score) : 0;
        var isScore = before.Count == 0 ? 0 : before.Average(r => r.Score);
        var (ok, reason) = Rule(failed.Count, fixes, passed.Count, breaks);
        if (decided && ok && passed.Count > 0)
        {
            reason = $"fixes {fixes} of {failed.Count} failed tasks, at least as many as the {passed.Count} passed ones it could break (not run)";
        }
        else if (!decided && passedRun < passed.Count)
        {
            reason += $" (of the {passedRun} run; the other {passed.Count - passedRun} could not change the verdict)";
        }
        return new PrescreenResult(ok, reason, fixes, breaks.Count, cs, isScore, results.Count);
    }

    /// <summary>
    /// Whether <see cref="Rule"/>'s verdict can still depend on the passed tasks once a candidate re-run on
    /// <paramref name="failedTasks"/> failed tasks fixed <paramref name="fixes"/> of them: not when it fixed none of several
    /// (rejected whatever it breaks) nor when it fixed at least as many as the <paramref name="passedTasks"/> it could break
    /// (it goes on whatever it breaks).
    /// </summary>
    internal static bool NeedsPassedTasks(int failedTasks, int fixes, int passedTasks) => !(failedTasks > 0 && fixes == 0) && fixes < passedTasks;

    /// <summary>
    /// How many more of the <paramref name="passedTasks"/> passed tasks to run, once <paramref name="run"/> of them ran and
    /// <paramref name="broken"/> of those failed, for a candidate that fixed <paramref name="fixes"/> failed tasks: 0 when
    /// <see cref="Rule"/>'s verdict is decided (it broke more than it fixed, or the rest cannot outnumber its fixes even if all
    /// break); else the fewest that would decide it if none of them broke, so the verdict is always the whole pre-screen's.
    /// E.g. 1 fix and 4 passed tasks: 3, then 1 more only if one of those 3 broke.
    /// </summary>
    internal static int PassedTasksToRun(int fixes, int passedTasks, int run, int broken)
    {
        var remaining = passedTasks - run;
        return broken > fixes || broken + remaining <= fixes ? 0 : remaining - (fixes - broken);
    }

    /// <summary>
    /// The pre-screen's rule: a candidate re-run on <paramref name="failedTasks"/> failed and <paramref name="passedTasks"/> passed
    /// tasks of its step goes on to validation unless it fixes none of the failed ones (when there were any) or breaks more
    /// passed tasks than it fixes.
    /// </summary>
    /// <returns>Whether it goes on, and the reason in words (the first three broken task ids).</returns>
    internal static (bool Passed, string Reason) Rule(int failedTasks, int fixes, int passedTasks, IReadOnlyList<string> broken)
    {
        if (failedTasks > 0 && fixes == 0)
        {
            return (false, $"fixes none of {failedTasks} failed tasks");
        }
        if (broken.Count > fixes)
        {
            return (false, $"fixes {fixes} of {failedTasks} failed tasks but breaks {broken.Count} of {passedTasks} passed ones ({string.Join(", ", broken.Take(3))})");
        }
        return (true, $"fixes {fixes} of {failedTasks} failed tasks, breaks {broken.Count} of {passedTasks} passed ones");
    }
}
