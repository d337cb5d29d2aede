using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Tests.Gates;

public class StrictImprovementGateTests
{
    /// <summary>The stored validation of the current skill: it passes the tasks numbered below <paramref name="passing"/> of the 40.</summary>
    private static Evaluation Stored(int passing) => new("i", 0, [.. ScriptedValidation.Tasks.Select(t => new RolloutResult
    {
        TaskId = t,
        Outcome = ScriptedValidation.N(t) < passing ? TaskOutcome.Passed : TaskOutcome.Failed,
        Score = ScriptedValidation.N(t) < passing ? 1 : 0,
    })]);

    private static GateContext Context(ScriptedValidation w, int passing, int seed = 3) =>
        w.Context() with { Incumbent = Stored(passing), Seed = seed };

    [Fact]
    public async Task Without_a_stop_probability_the_candidate_is_scored_on_the_whole_split_and_ties_reject()
    {
        // the reference's gate: one evaluation of every task; 20 of 40 against a stored 20 of 40 is a tie
        var w = new ScriptedValidation((_, t, _) => t >= 20);
        var d = await new StrictImprovementGate().DecideAsync(Context(w, 20), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Equal(40, w.CandidateTasks);
        Assert.Equal(0, d.TasksSkipped);

        var better = new ScriptedValidation((_, t, _) => t >= 19);
        Assert.Equal(GateVerdict.Accept, (await new StrictImprovementGate().DecideAsync(Context(better, 20), CancellationToken.None)).Verdict);
    }

    [Fact]
    public async Task A_hopeless_candidate_is_stopped_after_its_first_chunk()
    {
        // the current skill passed 20 of 40; the candidate passes nothing: after 0 of 8 it needs 21 of the 32 left, and the
        // predictive probability of that under a uniform prior is far below 0.05
        var w = new ScriptedValidation((_, _, _) => false);
        var d = await new StrictImprovementGate(0.05).DecideAsync(Context(w, 20), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Contains("stopped", d.Reason);
        Assert.Equal(8, w.CandidateTasks);
        Assert.Equal(32, d.TasksSkipped);
        Assert.Equal(8, d.Candidate.Results.Count);
        Assert.Equal([0], w.Samples);
    }

    [Fact]
    public async Task A_clear_improvement_is_still_scored_on_the_whole_split_before_it_is_accepted()
    {
        // acceptance needs the whole draw, so that the stored score of an accepted candidate is a whole split's mean
        var w = new ScriptedValidation((_, _, _) => true);
        var d = await new StrictImprovementGate(0.05).DecideAsync(Context(w, 20), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Equal(40, w.CandidateTasks);
        Assert.Equal(1.0, d.CandidateScore);
    }

    [Fact]
    public async Task A_graded_candidate_is_stopped_only_once_it_cannot_end_above_the_stored_score()
    {
        // graded scores get no predictive stop, only the certain one: at 0.2 a task, against a stored 0.9, even 32 perfect
        // tasks after the first chunk end at (8 × 0.2 + 32) / 40 = 0.84
        var stored = new Evaluation("i", 0, [.. ScriptedValidation.Tasks.Select(t => new RolloutResult { TaskId = t, Outcome = TaskOutcome.Passed, Score = 0.9 })]);
        var scored = 0;
        Task<Evaluation> Graded(string skill, string hash, IReadOnlyList<string> tasks, int sample, CancellationToken ct)
        {
            scored += tasks.Count;
            return Task.FromResult(new Evaluation(hash, sample, [.. tasks.Select(t => new RolloutResult { TaskId = t, Outcome = TaskOutcome.Passed, Score = 0.2 })]));
        }
        var context = new GateContext("candidate", "c", "incumbent", "i", stored, ScriptedValidation.Tasks, Graded, Seed: 3);
        var d = await new StrictImprovementGate(0.05).DecideAsync(context, CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Contains("even a pass on every remaining task is not enough to beat current 0.9", d.Reason);
        Assert.Equal(8, scored);

        // at 0.6 a task against 0.5 it goes on to the end and is accepted
        var stored2 = stored with { Results = [.. stored.Results.Select(r => r with { Score = 0.5 })] };
        scored = 0;
        Task<Evaluation> Better(string skill, string hash, IReadOnlyList<string> tasks, int sample, CancellationToken ct)
        {
            scored += tasks.Count;
            return Task.FromResult(new Evaluation(hash, sample, [.. tasks.Select(t => new RolloutResult { TaskId = t, Outcome = TaskOutcome.Passed, Score = 0.6 })]));
        }
        var d2 = await new StrictImprovementGate(0.05).DecideAsync(context with { Incumbent = stored2, Evaluate = Better }, CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d2.Verdict);
        Assert.Equal(40, scored);
    }

    [Fact]
    public async Task The_futility_stop_accepts_only_what_the_whole_split_accepts_and_saves_calls()
    {
        // 300 seeded worlds with candidates and stored scores of every quality: the stopped gate accepts a subset of what the
        // reference's gate accepts (acceptance always reads the whole split) and scores fewer tasks in all
        int full = 0, stopped = 0, both = 0, scoredFull = 0, scoredStopped = 0;
        for (var trial = 0; trial < 300; trial++)
        {
            var rate = trial % 10 / 10.0 + 0.05;
            var rng = new Random(trial);
            var outcomes = ScriptedValidation.Tasks.Select(_ => rng.NextDouble() < rate).ToArray();
            var passing = 4 * (trial % 9) + 2;
            var a = new ScriptedValidation((_, t, _) => outcomes[t]);
            var b = new ScriptedValidation((_, t, _) => outcomes[t]);
            var whole = await new StrictImprovementGate().DecideAsync(Context(a, passing, trial), CancellationToken.None);
            var early = await new StrictImprovementGate(0.05).DecideAsync(Context(b, passing, trial), CancellationToken.None);
            full += whole.Verdict == GateVerdict.Accept ? 1 : 0;
            stopped += early.Verdict == GateVerdict.Accept ? 1 : 0;
            both += whole.Verdict == GateVerdict.Accept && early.Verdict == GateVerdict.Accept ? 1 : 0;
            scoredFull += a.CandidateTasks;
            scoredStopped += b.CandidateTasks;
        }
        Assert.Equal(stopped, both);
        Assert.InRange(full, 60, 240);
        Assert.True(stopped >= full * 0.9, $"{stopped} of {full} acceptances kept");
        Assert.True(scoredStopped < scoredFull * 0.8, $"{scoredStopped} against {scoredFull} tasks scored");
    }

    [Fact]
    public void The_stop_probability_and_the_chunk_size_are_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StrictImprovementGate(-0.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StrictImprovementGate(0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StrictImprovementGate(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StrictImprovementGate(0.05, 0));
    }

    [Theory]
    [InlineData(60, 0.5, 31)]
    [InlineData(40, 0.525, 22)]
    [InlineData(10, 0.0, 1)]
    [InlineData(10, 1.0, 11)]
    [InlineData(3, 2.0 / 3, 3)]
    [InlineData(200, 0.1, 21)]
    public void The_passes_needed_are_the_fewest_whose_mean_is_strictly_above_the_stored_score(int total, double incumbent, int expected) =>
        Assert.Equal(expected, StrictCurtailment.PassesNeeded(total, incumbent));

    [Fact]
    public void The_predictive_probability_is_the_beta_binomial_tail()
    {
        // nothing scored yet: the uniform prior's predictive of the passes among m tasks is uniform on 0..m, so needing 6
        // of 10 has probability 5/11
        Assert.Equal(5.0 / 11, StrictCurtailment.ProbabilityAbove(0, 0, 10, 0.5), 12);
        // 3 passes, 5 failures, 32 to go, above 0.5 of 40: 18 or more of BetaBin(32, 4, 6), summed here term by term
        var direct = 0.0;
        for (var k = 18; k <= 32; k++)
        {
            direct += Math.Exp(MathNet.Numerics.SpecialFunctions.BinomialLn(32, k) + MathNet.Numerics.SpecialFunctions.BetaLn(k + 4, 32 - k + 6) - MathNet.Numerics.SpecialFunctions.BetaLn(4, 6));
        }
        Assert.Equal(direct, StrictCurtailment.ProbabilityAbove(3, 5, 32, 0.5), 10);
        Assert.InRange(direct, 0.15, 0.25); // 0.2016: a candidate at 3 of 8 still has a fair chance of 18 of the 32 left
        // certain outcomes
        Assert.Equal(1, StrictCurtailment.ProbabilityAbove(21, 0, 19, 0.5));
        Assert.Equal(0, StrictCurtailment.ProbabilityAbove(0, 20, 20, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => StrictCurtailment.ProbabilityAbove(-1, 0, 3, 0.5));
    }

    [Fact]
    public async Task With_task_difficulty_a_first_chunk_of_hard_tasks_is_not_read_as_a_weak_candidate()
    {
        // the candidate fails the 8 tasks of its first chunk and passes the other 32; the run's history says those 8 are
        // hard (failed 10 of 10 times) and the rest easy (passed 10 of 10); the current skill stored 20 of 40
        var first = PairedScoring.SeededOrder(ScriptedValidation.Tasks, "3|strict-order|c").Take(8).Select(ScriptedValidation.N).ToHashSet();
        var history = ScriptedValidation.Tasks.ToDictionary(t => t, t => first.Contains(ScriptedValidation.N(t)) ? new TaskTally(0, 10) : new TaskTally(10, 0));
        var alike = new ScriptedValidation((_, t, _) => !first.Contains(t));
        var uniform = await new StrictImprovementGate(0.05, 8, byTask: true).DecideAsync(Context(alike, 20), CancellationToken.None);
        // no history: the remaining tasks are alike, 0 of 8 reads as hopeless
        Assert.Equal(GateVerdict.Reject, uniform.Verdict);
        Assert.Equal(8, alike.CandidateTasks);

        var byTask = new ScriptedValidation((_, t, _) => !first.Contains(t));
        var d = await new StrictImprovementGate(0.05, 8, byTask: true).DecideAsync(Context(byTask, 20) with { TaskHistory = history }, CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Equal(40, byTask.CandidateTasks);
        Assert.Equal(0.8, d.CandidateScore, 12);

        // and the option off ignores a history it is given
        var off = new ScriptedValidation((_, t, _) => !first.Contains(t));
        Assert.Equal(GateVerdict.Reject, (await new StrictImprovementGate(0.05, 8).DecideAsync(Context(off, 20) with { TaskHistory = history }, CancellationToken.None)).Verdict);
        Assert.Equal(8, off.CandidateTasks);
    }

    [Fact]
    public void The_predictive_by_task_reads_each_remaining_task_by_its_difficulty()
    {
        // 8 hard tasks failed, 32 easy ones to come, 21 needed of 40: alike, hopeless; by task, likely
        var hardFailed = Enumerable.Repeat((false, -3.0), 8).ToList();
        var easy = Enumerable.Repeat(3.0, 32).ToList();
        Assert.True(StrictCurtailment.ProbabilityAbove(0, 8, 32, 0.5) < 0.001);
        Assert.True(StrictCurtailment.ProbabilityAboveByTask(hardFailed, easy, 21) > 0.9);
        // 8 easy tasks passed, 32 hard ones to come, 13 more needed: alike, likely; by task, hopeless
        var easyPassed = Enumerable.Repeat((true, 3.0), 8).ToList();
        var hard = Enumerable.Repeat(-3.0, 32).ToList();
        Assert.True(StrictCurtailment.ProbabilityAbove(8, 0, 32, 0.5) > 0.5);
        Assert.InRange(StrictCurtailment.ProbabilityAboveByTask(easyPassed, hard, 13), 0, 0.05); // below the default stop probability: stopped
        // certain outcomes and bad input
        Assert.Equal(1, StrictCurtailment.ProbabilityAboveByTask([], [0.0], 0));
        Assert.Equal(0, StrictCurtailment.ProbabilityAboveByTask([], [0.0, 0.0], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => StrictCurtailment.ProbabilityAboveByTask([], [0.0], 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => StrictCurtailment.ProbabilityAboveByTask([], [0.0], 1, double.NaN));
    }

    [Theory]
    [InlineData(0.0, 1.2, -0.7, true, 1)]
    [InlineData(2.0, -1.5, 0.4, false, 1)]
    [InlineData(-1.0, 0.5, 1.5, true, 2)]
    public void The_predictive_by_task_is_the_integral_over_the_shift_posterior(double a, double b, double c, bool passedC, int toGo)
    {
        // two remaining tasks (logits a, b), one scored (logit c): the mixture over θ ~ N(0, 1) updated by the scored
        // outcome, integrated here with the trapezoid rule on a fine grid far wider than the implementation's
        static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
        double num = 0, den = 0;
        for (var theta = -10.0; theta <= 10.0; theta += 0.001)
        {
            var w = Math.Exp(-theta * theta / 2) * (passedC ? Sigmoid(c + theta) : 1 - Sigmoid(c + theta));
            var pa = Sigmoid(a + theta);
            var pb = Sigmoid(b + theta);
            var tail = toGo == 1 ? 1 - (1 - pa) * (1 - pb) : pa * pb;
            num += w * tail;
            den += w;
        }
        Assert.Equal(num / den, StrictCurtailment.ProbabilityAboveByTask([(passedC, c)], [a, b], toGo), 3);
    }

    [Theory]
    [InlineData(0, 0, 0.0)]
    [InlineData(3, 1, 0.8472978603872037)]
    [InlineData(0, 9, -2.9444389791664403)]
    public void A_tasks_logit_has_Jeffreys_prior(int passes, int failures, double expected) =>
        Assert.Equal(expected, StrictCurtailment.TaskLogit(passes, failures), 12);
}
