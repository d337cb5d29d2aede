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
}
