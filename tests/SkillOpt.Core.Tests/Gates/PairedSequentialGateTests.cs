using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Tests.Gates;

public class PairedSequentialGateTests
{
    /// <summary>Outcomes by (skill, task, sample); counts every task the evaluator is asked to run.</summary>
    private sealed class World(Func<string, string, int, bool> passes)
    {
        public int CandidateTasks;
        public int IncumbentTasks;
        public List<int> SamplesAsked { get; } = [];

        public Task<Evaluation> Evaluate(string skill, string hash, IReadOnlyList<string> tasks, int sample, CancellationToken ct)
        {
            if (skill == "candidate")
            {
                CandidateTasks += tasks.Count;
            }
            else
            {
                IncumbentTasks += tasks.Count;
            }
            SamplesAsked.Add(sample);
            return Task.FromResult(new Evaluation(hash, sample, tasks.Select(t => new RolloutResult
            {
                TaskId = t,
                Outcome = passes(skill, t, sample) ? TaskOutcome.Passed : TaskOutcome.Failed,
                Score = passes(skill, t, sample) ? 1 : 0,
            }).ToList()));
        }
    }

    private static readonly string[] Tasks = Enumerable.Range(0, 40).Select(i => $"t{i:D2}").ToArray();
    private static int N(string t) => int.Parse(t[1..]);

    private static GateContext Context(World w, IReadOnlyDictionary<string, IReadOnlyList<RolloutResult>>? history = null) =>
        new("candidate", "c", "incumbent", "i", new Evaluation("i", 0, []), Tasks, w.Evaluate, Seed: 3, ValidationSample: 0, IncumbentHistory: history);

    [Fact]
    public async Task A_clear_improvement_is_accepted_before_the_whole_split_is_scored()
    {
        // incumbent passes 10 of 40; the candidate passes all: every discordant pair is a win, and 9 wins give
        // Λ = 1.4^9 = 20.7 ≥ 1/α = 20
        var w = new World((s, t, _) => N(t) < 10 || s == "candidate");
        var d = await new PairedSequentialGate().DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.True(w.CandidateTasks < 40, $"{w.CandidateTasks} tasks scored");
        Assert.Equal(40 - w.CandidateTasks, d.TasksSkipped);
        Assert.True(d.PValue <= 0.05);
        Assert.Equal([0], w.SamplesAsked.Distinct().ToArray());
        Assert.Equal(w.CandidateTasks, w.IncumbentTasks); // the current skill is measured on the same chunks only
    }

    [Fact]
    public async Task A_harmful_candidate_is_stopped_for_futility_after_a_few_losses()
    {
        // the candidate fails every task the incumbent passes: 3 losses give Λ = 0.6^3 = 0.216, 4 give 0.13 ≤ β/(1−α) = 0.21
        var w = new World((s, t, _) => s != "candidate" && N(t) < 30);
        var d = await new PairedSequentialGate(chunkSize: 4).DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Contains("futile", d.Reason);
        Assert.True(w.CandidateTasks <= 12, $"{w.CandidateTasks} tasks scored");
    }

    [Fact]
    public async Task A_candidate_that_changes_no_outcome_costs_one_draw()
    {
        var w = new World((_, t, _) => N(t) < 30);
        var d = await new PairedSequentialGate(chunkSize: 5).DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Equal(40, w.CandidateTasks);
        Assert.Equal([0], w.SamplesAsked.Distinct().ToArray());
    }

    [Fact]
    public async Task Without_sequential_evaluation_one_whole_draw_is_scored_and_sign_tested()
    {
        var w = new World((s, t, _) => N(t) < 30 || (s == "candidate" && N(t) < 36));
        var d = await new PairedSequentialGate(sequential: false).DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict); // 6 wins, 0 losses: p = 1/64
        Assert.Equal(40, w.CandidateTasks);
        Assert.Equal(0, d.TasksSkipped);
        Assert.Equal(1.0 / 64, d.PValue!.Value, 12);
    }

    [Fact]
    public async Task A_small_consistent_gain_earns_more_draws_and_is_accepted()
    {
        // two wins per draw: Λ = 1.4^2 per draw, 1.4^10 = 28.9 ≥ 20 after five
        var w = new World((s, t, _) => N(t) < 30 || (s == "candidate" && N(t) < 32));
        var d = await new PairedSequentialGate(maxDraws: 5).DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Equal([0, 1, 2, 3, 4], w.SamplesAsked.Distinct().Order().ToArray());
    }

    [Fact]
    public async Task A_moderate_gain_the_sprt_is_too_slow_for_is_accepted_by_the_final_analysis()
    {
        // every draw the candidate wins t20–t27 and loses t00–t03: 8 wins to 4 losses, ln Λ = 0.65 per draw, 1.95 after
        // three (Λ = 7.0 < 20). The final analysis' sign test over 24 wins to 12 losses (p = 0.033 alone) with what the
        // SPRT spent on its 15 looks stays at or under α.
        var w = new World((s, t, _) => s == "candidate" ? N(t) is >= 4 and < 28 : N(t) < 20);
        var d = await new PairedSequentialGate().DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Contains("final analysis", d.Reason);
        Assert.Contains("24 wins, 12 losses", d.Reason);
        Assert.InRange(d.PValue!.Value, PairedStatistics.SignTestPValue(24, 12), 0.05);
        Assert.Equal([0, 1, 2], w.SamplesAsked.Distinct().Order().ToArray());

        // without it the same candidate is inconclusive, after one draw (at this pace Λ would reach only 7.0)
        var w2 = new World((s, t, _) => s == "candidate" ? N(t) is >= 4 and < 28 : N(t) < 20);
        var d2 = await new PairedSequentialGate(finalAnalysis: false).DecideAsync(Context(w2), CancellationToken.None);
        Assert.Equal(GateVerdict.Inconclusive, d2.Verdict);
        Assert.Equal([0], w2.SamplesAsked.Distinct().ToArray());
    }

    [Fact]
    public async Task A_gain_whose_final_analysis_falls_short_is_inconclusive()
    {
        // 3 wins to 1 loss per draw: paced to 9 to 3 (p = 0.073 > α) after the first draw, so no second draw is paid for
        var w = new World((s, t, _) => s == "candidate" ? N(t) is >= 1 and < 23 : N(t) < 20);
        var d = await new PairedSequentialGate().DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Inconclusive, d.Verdict);
        Assert.Contains("at this pace 3 draws would give 9 wins, 3 losses", d.Reason);
        Assert.Equal([0], w.SamplesAsked.Distinct().ToArray());

        // 5 wins to 1 loss per draw goes all three draws (paced 15 to 3, p = 0.004), but 15 to 3 after the SPRT's looks is
        // accepted only if the final analysis says so; with one draw allowed it is 5 to 1, p = 0.109: inconclusive
        var w1 = new World((s, t, _) => s == "candidate" ? N(t) is >= 1 and < 25 : N(t) < 20);
        var one = await new PairedSequentialGate(maxDraws: 1).DecideAsync(Context(w1), CancellationToken.None);
        Assert.Equal(GateVerdict.Inconclusive, one.Verdict);
        Assert.Contains("final analysis", one.Reason);
        Assert.Equal(PairedStatistics.SignTestPValue(5, 1), one.PValue!.Value, 1e-12);
    }

    [Fact]
    public async Task A_pace_half_way_between_two_counts_is_rounded_up_and_earns_the_next_draw()
    {
        // wins without a loss: 2, then 1, then 2. After two draws 3 wins pace to 4.5 in three draws: rounded half away from
        // zero that is 5 to 0, p = 1/32 ≤ α, so the third draw is paid for (rounded half to even, 4 to 0 with p = 1/16 would
        // have stopped it); 5 to 0 after it is significant by the final analysis (the SPRT spends nothing below 9 wins)
        var w = new World((s, t, sample) => N(t) < 30 || (s == "candidate" && (N(t) == 30 || (N(t) == 31 && sample != 1))));
        var d = await new PairedSequentialGate().DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Contains("5 wins, 0 losses", d.Reason);
        Assert.Equal(1.0 / 32, d.PValue!.Value, 12);
        Assert.Equal([0, 1, 2], w.SamplesAsked.Distinct().Order().ToArray());
    }

    [Fact]
    public async Task A_gain_that_stays_insignificant_is_inconclusive_not_rejected()
    {
        var w = new World((s, t, sample) => N(t) < 30 || (s == "candidate" && N(t) == 35 && sample == 0));
        var d = await new PairedSequentialGate(maxDraws: 1).DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Inconclusive, d.Verdict);
    }

    [Fact]
    public async Task A_gain_too_slow_to_reach_significance_in_the_draws_left_stops_after_one_draw()
    {
        // one win per draw: ln Λ = ln 1.4 per draw, 3 draws would give 1.4^3 = 2.7 < 20, so no second draw is paid for
        var w = new World((s, t, _) => N(t) < 30 || (s == "candidate" && N(t) == 35));
        var d = await new PairedSequentialGate().DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Inconclusive, d.Verdict);
        Assert.Equal([0], w.SamplesAsked.Distinct().ToArray());
        Assert.Contains("at this pace", d.Reason);
    }

    [Fact]
    public async Task The_round_sets_the_sample_indices()
    {
        var w = new World((s, t, _) => N(t) < 10 || s == "candidate");
        var d = await new PairedSequentialGate().DecideAsync(Context(w) with { ValidationSample = 6 }, CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Equal([6], w.SamplesAsked.Distinct().ToArray());
        Assert.Equal(6, d.Candidate.SampleIndex);
    }

    [Fact]
    public async Task A_regression_on_a_reliably_passing_task_is_vetoed()
    {
        // candidate wins 12 tasks but breaks t00 (also on the re-check draw), which the incumbent passed in 3 of 3 measurements
        var w = new World((s, t, _) => s == "candidate" ? N(t) is > 0 and < 32 : N(t) < 20);
        var pass = new RolloutResult { TaskId = "t00", Outcome = TaskOutcome.Passed, Score = 1 };
        var history = new Dictionary<string, IReadOnlyList<RolloutResult>> { ["t00"] = [pass, pass, pass] };
        var d = await new PairedSequentialGate(sequential: false).DecideAsync(Context(w, history), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Contains("veto", d.Reason);
        Assert.Contains("t00", d.Reason);
        var d2 = await new PairedSequentialGate(sequential: false, vetoRegressions: false).DecideAsync(Context(w, history), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d2.Verdict);
    }

    [Fact]
    public async Task A_single_failure_that_passes_its_recheck_is_not_vetoed()
    {
        // the candidate fails t00 only on sample 0 (noise); the re-check draw passes
        var w = new World((s, t, sample) => s == "candidate" ? N(t) < 32 && !(N(t) == 0 && sample == 0) : N(t) < 20);
        var pass = new RolloutResult { TaskId = "t00", Outcome = TaskOutcome.Passed, Score = 1 };
        var history = new Dictionary<string, IReadOnlyList<RolloutResult>> { ["t00"] = [pass, pass, pass] };
        var d = await new PairedSequentialGate(sequential: false).DecideAsync(Context(w, history), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Contains(PairedSequentialGate.VetoRecheckSampleOffset, w.SamplesAsked);
    }

    [Fact]
    public async Task Graded_scores_use_the_paired_t_bound()
    {
        var w = new GradedWorld();
        var d = await new PairedSequentialGate().DecideAsync(new GateContext("candidate", "c", "incumbent", "i", new Evaluation("i", 0, []), Tasks, w.Evaluate, 1), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.Contains("paired t", d.Reason);
    }

    private sealed class GradedWorld
    {
        public Task<Evaluation> Evaluate(string skill, string hash, IReadOnlyList<string> tasks, int sample, CancellationToken ct) =>
            Task.FromResult(new Evaluation(hash, sample, tasks.Select(t => new RolloutResult
            {
                TaskId = t,
                Outcome = TaskOutcome.Failed,
                Score = skill == "candidate" ? 0.6 + N(t) % 3 * 0.05 : 0.4 + N(t) % 2 * 0.05,
            }).ToList()));
    }

    [Fact]
    public async Task The_false_accept_rate_of_a_useless_edit_stays_below_alpha_on_flaky_tasks()
    {
        // 40 tasks that each pass with probability 0.5 at random, for candidate and incumbent alike.
        var accepted = 0;
        const int trials = 400;
        for (var trial = 0; trial < trials; trial++)
        {
            var w = new World((s, t, sample) => Hash($"{trial}|{s}|{t}|{sample}") % 2 == 0);
            var d = await new PairedSequentialGate().DecideAsync(Context(w), CancellationToken.None);
            accepted += d.Verdict == GateVerdict.Accept ? 1 : 0;
        }
        Assert.True(accepted <= trials * 0.05, $"{accepted} of {trials} useless candidates accepted");
    }

    private static uint Hash(string s) => BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s)));

    private static List<RolloutResult> Measured(int passed, int failed, double? gradedScore = null) =>
        [.. Enumerable.Range(0, passed + failed).Select(i => new RolloutResult
        {
            TaskId = $"t{i % 15:D2}",
            Outcome = i < passed ? TaskOutcome.Passed : TaskOutcome.Failed,
            Score = gradedScore ?? (i < passed ? 1 : 0),
        })];

    [Fact]
    public void The_ceiling_is_reached_when_even_a_perfect_candidate_would_win_too_few_pairs()
    {
        var gate = new PairedSequentialGate(finalAnalysis: false); // α 0.05, θ₁ 0.7, power 0.8, 3 draws: 9 wins needed
        Assert.Equal(9, gate.WinsToAccept);

        // 14 of 15 passed: u(80%) = 0.187, 3 × 15 × 0.187 = 8.4 < 9
        var reason = gate.CeilingReason(Measured(14, 1), 15);
        Assert.NotNull(reason);
        Assert.Contains("failed 1 of 15 validation measurements", reason, StringComparison.Ordinal);
        Assert.Contains("fewer than the 9 wins", reason, StringComparison.Ordinal);
        Assert.NotNull(gate.CeilingReason(Measured(15, 0), 15)); // u = 0.102: 4.6
        Assert.NotNull(gate.CeilingReason(Measured(30, 0), 15)); // two draws: u = 0.052: 2.3

        // 2 failures in 15: the point estimate (3 × 15 × 2/15 = 6) would stop, the upper bound (u = 0.264: 11.9) does not
        Assert.Null(gate.CeilingReason(Measured(13, 2), 15));
        // a bigger split leaves room for wins: 15 of 15 passed on 40 tasks gives 3 × 40 × 0.102 = 12.2
        Assert.Null(gate.CeilingReason(Measured(15, 0), 40));
        // only a few measurements: 4 of 4 passed, u = 0.331: 14.9
        Assert.Null(gate.CeilingReason(Measured(4, 0), 15));
        // nothing measured, or graded results (gated by a t bound, not by wins)
        Assert.Null(gate.CeilingReason([], 15));
        Assert.Null(gate.CeilingReason(Measured(15, 0, gradedScore: 0.9), 15));
        // errored results are not measurements (counted as 11 passes, u = 0.136 would stop at 6.1)
        Assert.Null(gate.CeilingReason([.. Measured(4, 0), .. Enumerable.Range(0, 7).Select(i => new RolloutResult { TaskId = $"e{i}", Outcome = TaskOutcome.Errored })], 15));
        // the bound's confidence is the gate's power: at 0.5, 13 of 15 gives u = 0.174: 7.8, which stops
        var halfPower = new PairedSequentialGate(power: 0.5, finalAnalysis: false).CeilingReason(Measured(13, 2), 15);
        Assert.Contains("failed 2 of 15 validation measurements", halfPower, StringComparison.Ordinal);
        Assert.Contains("(0.174)", halfPower, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => gate.CeilingReason(Measured(15, 0), 0));

        // the final analysis accepts 5 wins without a loss after the last draw (p = 2^−5, nothing spent before): the same
        // 14 of 15 (8.4 expected failures) leaves room, 15 of 15 (4.6) still does not
        var withFinal = new PairedSequentialGate();
        Assert.Equal(5, withFinal.WinsToAccept);
        Assert.Null(withFinal.CeilingReason(Measured(14, 1), 15));
        Assert.Contains("fewer than the 5 wins", withFinal.CeilingReason(Measured(15, 0), 15), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_sequential_scoring_the_ceiling_uses_one_draw_and_the_sign_test()
    {
        var gate = new PairedSequentialGate(sequential: false);
        Assert.Equal(5, gate.WinsToAccept); // 2^−5 = 0.031 ≤ 0.05 < 2^−4
        Assert.NotNull(gate.CeilingReason(Measured(15, 0), 15)); // 1 × 15 × 0.102 = 1.5 < 5
        Assert.Null(gate.CeilingReason(Measured(11, 4), 15));    // u(80%) = 0.40: 6.0 ≥ 5
    }
}
