using SkillOpt.Core.Configuration;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

/// <summary>The training loop with <c>gate.kind: posterior</c> (<see cref="PosteriorPairedGate"/>).</summary>
public class PosteriorGateLoopTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));

    /// <summary>
    /// The scripted world with small gains on validation: of the 20 validation tasks (task-20 … task-39) the initial skill
    /// passes 12; each procedure the skill holds makes two more pass and one that passed fail, on every draw. So a candidate
    /// that adds one procedure wins 2 and loses 1 discordant pair per draw: a real gain (+0.05) too small for the SPRT on
    /// three draws (6 to 3: sign test p = 0.25), and P(θ &gt; ½) = 0.79 for the posterior gate's Beta(3, 3) prior. Train
    /// and test tasks follow <see cref="ScriptedWorld"/>.
    /// </summary>
    private sealed class SmallGainRunner(Action<RolloutRequest>? onRequest = null) : IRolloutRunner
    {
        private int _calls;

        public int Calls => _calls;

        public Task<IReadOnlyList<RolloutResult>> RunAsync(RolloutRequest request, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            onRequest?.Invoke(request);
            Interlocked.Add(ref _calls, request.TaskIds.Count);
            return Task.FromResult<IReadOnlyList<RolloutResult>>([.. request.TaskIds.Select(id => Run(request.Skill, id))]);
        }

        private static RolloutResult Run(string skill, string taskId)
        {
            var scripted = ScriptedWorld.Run(skill, taskId);
            var j = int.Parse(taskId[5..], System.Globalization.CultureInfo.InvariantCulture) - 20;
            if (j is < 0 or >= 20)
            {
                return scripted;
            }
            var procedures = ScriptedWorld.Procedures.Count(p => skill.Contains($"[{p}]", StringComparison.Ordinal));
            var pass = j < 14 ? j <= 5 + 2 * procedures : j < 20 - procedures;
            return scripted with
            {
                Outcome = pass ? TaskOutcome.Passed : TaskOutcome.Failed,
                Score = pass ? 1 : 0,
                FinalAnswer = pass ? "42" : "41",
                Reason = pass ? null : "Assert.Equal() Failure: the answer was off",
            };
        }
    }

    /// <summary>The scripted world, except that a skill teaching [rates] fails every even-numbered task: a harmful edit to stop early.</summary>
    private sealed class RatesHurtRunner(Action<RolloutRequest>? onRequest) : IRolloutRunner
    {
        public Task<IReadOnlyList<RolloutResult>> RunAsync(RolloutRequest request, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            onRequest?.Invoke(request);
            return Task.FromResult<IReadOnlyList<RolloutResult>>([.. request.TaskIds.Select(id =>
            {
                var r = ScriptedWorld.Run(request.Skill, id);
                var hurt = request.Skill.Contains("[rates]", StringComparison.Ordinal) && int.Parse(id[5..], System.Globalization.CultureInfo.InvariantCulture) % 2 == 0;
                return hurt ? r with { Outcome = TaskOutcome.Failed, Score = 0, FinalAnswer = "41", Reason = "Assert.Equal() Failure: the answer was off" } : r;
            })]);
        }
    }

    private static SkillOptOptions Options(string kind, string extra = "") => SkillOptConfigLoader.Parse($"""
        seed: 7
        training:
          epochs: 2
          batch_size: 10
          minibatch_size: 4
          learning_rate:
            schedule: constant
            max: 1
            min: 1
          early_stopping:
            patience: 0
            ceiling: false
        gate:
          kind: {kind}
          combine_inconclusive: 0
          veto_regressions: false
        {extra}
        """, "posterior.yaml");

    private static async Task<(RunSummary Summary, List<HistoryRecord> History, List<RolloutRequest> Requests)> TrainAsync(SkillOptOptions options, string folder)
    {
        var requests = new List<RolloutRequest>();
        var runner = new SmallGainRunner(r => { lock (requests) { requests.Add(r); } });
        var summary = await new SkillTrainingLoop(options, runner, new ScriptedOptimizer(), folder)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        return (summary, AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!, requests);
    }

    [Fact]
    public async Task The_posterior_gate_accepts_small_real_gains_the_sequential_test_does_not()
    {
        var paired = await TrainAsync(Options("paired"), NewFolder());
        var posterior = await TrainAsync(Options("posterior"), NewFolder());

        // the SPRT (with its final analysis) never gets enough evidence from 2 wins and 1 loss per draw
        Assert.Equal(0, paired.Summary.Accepted);
        Assert.DoesNotContain(paired.History, h => h.Action == "accept");
        Assert.All(paired.History.Where(h => h.Kind == "step" && h.Validation is not null), h => Assert.Equal("paired", h.Validation!.Gate));

        // the posterior gate accepts them, each on the same 2-to-1 evidence per draw
        var accepted = posterior.History.Where(h => h.Action == "accept").ToList();
        Assert.True(accepted.Count >= 2, $"{accepted.Count} accepted");
        Assert.All(accepted, h => Assert.Equal("posterior", h.Validation!.Gate));
        Assert.All(accepted, h => Assert.True(h.Validation!.Wins > h.Validation.Losses && h.Validation.Losses > 0, $"{h.Validation.Wins} wins, {h.Validation.Losses} losses"));
        // an accepted candidate is the new best skill: the best is the last accepted one
        Assert.Equal(accepted[^1].CandidateHash, posterior.Summary.Best.Hash);
        Assert.True(posterior.Summary.Best.Test > paired.Summary.Best.Test, $"test {posterior.Summary.Best.Test} vs {paired.Summary.Best.Test}");

        // validation rounds of 3 draws: round r (after r acceptances) uses samples 3r … 3r + 2, and the current skill is
        // measured lazily by the gate (no stored evaluation of the whole split beyond the baseline's)
        var validate = posterior.Requests.Where(r => r.Stage == "validate").ToList();
        Assert.Contains(validate, r => r.SampleIndex == 3);
        Assert.All(validate, r => Assert.InRange(r.SampleIndex, 0, 3 * posterior.Summary.Accepted + 2));
        Assert.Contains(validate, r => r.SampleIndex > 0 && r.TaskIds.Count == 8); // chunks of gate.chunk_size
    }

    [Fact]
    public async Task A_run_interrupted_in_the_middle_of_a_posterior_gate_resumes_to_the_same_result()
    {
        var reference = await TrainAsync(Options("posterior"), NewFolder());

        var folder = NewFolder();
        using var cts = new CancellationTokenSource();
        var validations = 0;
        // the baseline validates once; cancel at the third chunk of the first step's gate
        var runner = new SmallGainRunner(r => { if (r.Stage == "validate" && ++validations == 5) { cts.Cancel(); } });
        var loop = new SkillTrainingLoop(Options("posterior"), runner, new ScriptedOptimizer(), folder);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop.RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), cts.Token));
        Assert.Equal(5, validations);

        var resumed = await TrainAsync(Options("posterior"), folder);
        Assert.Equal(reference.Summary.Best.Hash, resumed.Summary.Best.Hash);
        Assert.Equal((reference.Summary.Accepted, reference.Summary.Rejected, reference.Summary.Best.Test), (resumed.Summary.Accepted, resumed.Summary.Rejected, resumed.Summary.Best.Test));
        Assert.Equal(
            reference.History.Select(h => (h.Kind, h.Action, h.CandidateHash, h.Validation?.Wins, h.Validation?.Losses)),
            resumed.History.Select(h => (h.Kind, h.Action, h.CandidateHash, h.Validation?.Wins, h.Validation?.Losses)));
    }

    [Fact]
    public async Task A_run_interrupted_in_the_middle_of_a_strict_gate_that_reads_task_difficulty_resumes_to_the_same_result()
    {
        // the default preset's strict gate with its futility stop, whose predictive counts every stored validation but the
        // candidate's own: an interruption stores part of a candidate's validation, which the resumed decision must not count
        static async Task<(RunSummary Summary, List<HistoryRecord> History)> Run(string folder, Action<RolloutRequest>? onRequest, CancellationToken ct)
        {
            var summary = await new SkillTrainingLoop(HarnessConfig.Options(), new RatesHurtRunner(onRequest), new ScriptedOptimizer(), folder)
                .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), ct);
            return (summary, AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!);
        }
        var reference = await Run(NewFolder(), null, TestContext.Current.CancellationToken);
        var stopped = reference.History.Where(h => h.Validation is { Gate: "strict", TasksSkipped: > 0 }).ToList();
        Assert.NotEmpty(stopped);

        var folder = NewFolder();
        using var cts = new CancellationTokenSource();
        var validations = 0;
        // the baseline's validation is one request; cancel at the first chunk of the gate that the uninterrupted run stopped first
        var target = reference.History.Where(h => h.Validation is { Gate: "strict" }).TakeWhile(h => h != stopped[0]).Sum(h => (h.Validation!.Tasks + 7) / 8) + 2;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run(folder, r => { if (r.Stage == "validate" && ++validations == target) { cts.Cancel(); } }, cts.Token));
        Assert.Equal(target, validations);

        var resumed = await Run(folder, null, TestContext.Current.CancellationToken);
        Assert.Equal(reference.Summary.Best.Hash, resumed.Summary.Best.Hash);
        Assert.Equal(
            reference.History.Select(h => (h.Kind, h.Action, h.CandidateHash, h.Validation?.Tasks, h.Validation?.TasksSkipped, h.Reason)),
            resumed.History.Select(h => (h.Kind, h.Action, h.CandidateHash, h.Validation?.Tasks, h.Validation?.TasksSkipped, h.Reason)));
    }

    [Fact]
    public async Task The_ceiling_uses_the_posterior_gates_two_wins()
    {
        // the scripted world: once the skill passes all 20 validation tasks, 3 draws × 20 × u (u = 0.077 at 80%) = 4.6
        // failures to win is above the posterior gate's 2 wins, so unlike the SPRT's 5 it does not stop the run
        var o = HarnessConfig.Options("posterior");
        o.Training.EarlyStopping.Ceiling = true;
        var summary = await new SkillTrainingLoop(o, new ScriptedRunner(), new ScriptedOptimizer(), NewFolder())
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.Null(summary.EarlyStopping);
        Assert.Equal(1.0, summary.Best.Validation);

        IPairedGate gate = new PosteriorPairedGate();
        Assert.Equal(2, gate.WinsToAccept);
        // one perfect draw of 20 tasks: u = 1 − 0.2^(1/20) = 0.077, 3 × 20 × 0.077 = 4.6 failures to win ≥ 2: go on
        var perfect = Enumerable.Range(0, 20).Select(i => new RolloutResult { TaskId = $"t{i}", Outcome = TaskOutcome.Passed, Score = 1 }).ToList();
        Assert.Null(gate.CeilingReason(perfect, 20));
        // three perfect draws: u = 1 − 0.2^(1/60) = 0.0265, 3 × 20 × 0.0265 = 1.6 < 2: stop
        Assert.Contains("fewer than the 2 wins", gate.CeilingReason([.. perfect, .. perfect, .. perfect], 20), StringComparison.Ordinal);
        // one validation task: 3 draws × 1 × u(0 of 3) = 3 × 0.415 = 1.2 < 2 wins
        var tiny = Enumerable.Range(0, 3).Select(_ => new RolloutResult { TaskId = "t0", Outcome = TaskOutcome.Passed, Score = 1 }).ToList();
        Assert.StartsWith("the current skill failed 0 of 3 validation measurements this round", gate.CeilingReason(tiny, 1), StringComparison.Ordinal);
        Assert.Contains("fewer than the 2 wins", gate.CeilingReason(tiny, 1), StringComparison.Ordinal);
    }
}
