using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Tests.Gates;

public class PairedSequentialGateTests
{
    /// <summary>Outcomes by (skill, task, sample); counts every task the evaluator is asked to run.</summary>
    private sealed class World(Func<string, string, int, bool> passes)
    {
        public int CandidateTasks;
        public List<int> SamplesAsked { get; } = [];

        public Task<Evaluation> Evaluate(string skill, string hash, IReadOnlyList<string> tasks, int sample, CancellationToken ct)
        {
            if (skill == "candidate")
            {
                CandidateTasks += tasks.Count;
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
    public async Task A_clear_improvement_is_accepted()
    {
        // incumbent passes 20 of 40; candidate also passes 10 of the failed ones
        var w = new World((s, t, _) => N(t) < 20 || (s == "candidate" && N(t) < 30));
        var d = await new PairedSequentialGate().DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
        Assert.True(d.PValue <= 0.05 / 3);
        Assert.Equal([0], w.SamplesAsked.Distinct().ToArray()); // one draw was enough
    }

    [Fact]
    public async Task A_useless_candidate_is_rejected_after_the_possible_wins_only()
    {
        var w = new World((_, t, _) => N(t) < 30); // identical behaviour: 10 failed tasks, no wins possible
        var d = await new PairedSequentialGate(chunkSize: 5).DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        // tasks the incumbent failed come first; after 5 of them without a win, even 5 more wins (p = 1/32) could not
        // reach 0.05 / 3, so scoring stops
        Assert.Equal(5, w.CandidateTasks);
        Assert.Equal(35, d.TasksSkipped);
    }

    [Fact]
    public async Task Without_sequential_evaluation_every_task_is_scored()
    {
        var w = new World((_, t, _) => N(t) < 30);
        var d = await new PairedSequentialGate(sequential: false).DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Reject, d.Verdict);
        Assert.Equal(40, w.CandidateTasks);
        Assert.Equal(0, d.TasksSkipped);
    }

    [Fact]
    public async Task A_small_consistent_gain_earns_more_draws_and_is_accepted()
    {
        // two wins per draw: p = 0.25 after one draw, 1/64 after three (below 0.05 / 3)
        var w = new World((s, t, _) => N(t) < 30 || (s == "candidate" && N(t) < 32));
        var d = await new PairedSequentialGate().DecideAsync(Context(w), CancellationToken.None);
        Assert.Equal(GateVerdict.Accept, d.Verdict);
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
}
