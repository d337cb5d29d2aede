using System.Text.RegularExpressions;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

public class CombinationTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));

    /// <summary>
    /// Decides by the procedures the candidate adds over the current skill (scripted world): two or more → accept, one →
    /// inconclusive (a real but small gain), none → reject. Scores both skills on the sample it is given, like the paired gate.
    /// </summary>
    private sealed class ProcedureCountGate : IValidationGate
    {
        public List<(string Candidate, int Sample, GateVerdict Verdict)> Calls { get; } = [];

        public string Name => "scripted";

        public async Task<GateDecision> DecideAsync(GateContext context, CancellationToken cancellationToken)
        {
            var inc = await context.Evaluate(context.IncumbentSkill, context.IncumbentHash, context.ValidationTasks, context.ValidationSample, cancellationToken);
            var cand = await context.Evaluate(context.CandidateSkill, context.CandidateHash, context.ValidationTasks, context.ValidationSample, cancellationToken);
            var gain = Procedures(context.CandidateSkill).Except(Procedures(context.IncumbentSkill)).Count();
            var verdict = gain >= 2 ? GateVerdict.Accept : gain == 1 ? GateVerdict.Inconclusive : GateVerdict.Reject;
            Calls.Add((context.CandidateSkill, context.ValidationSample, verdict));
            return new GateDecision(verdict, $"{gain} procedure(s) added", cand.MeanScore, inc.MeanScore, cand);
        }
    }

    private static HashSet<string> Procedures(string skill) => Regex.Matches(skill, @"\[(\w+)\]").Select(m => m.Groups[1].Value).ToHashSet();

    private static SkillOptOptions Options(int combine)
    {
        var o = HarnessConfig.Options();
        o.Training.LearningRate.Max = 1; // one procedure per candidate: alone, each is only "inconclusive"
        o.Training.LearningRate.Min = 1;
        o.Training.EarlyStopping.Patience = 0;
        o.Gate.CombineInconclusive = combine;
        return o;
    }

    private static async Task<(RunSummary Summary, List<HistoryRecord> History, ProcedureCountGate Gate, RunState State)> TrainAsync(int combine, string folder)
    {
        var gate = new ProcedureCountGate();
        var summary = await new SkillTrainingLoop(Options(combine), new ScriptedRunner(), new ScriptedOptimizer(), folder, gate: gate)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        return (summary, AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!, gate,
            AtomicFile.ReadJson<RunState>(Path.Combine(folder, "runtime_state.json"))!);
    }

    [Fact]
    public async Task Inconclusive_candidates_are_combined_and_the_combination_is_gated_on_fresh_samples()
    {
        var off = await TrainAsync(combine: 0, NewFolder());
        var folder = NewFolder();
        var on = await TrainAsync(combine: 2, folder);

        // without combination every one-procedure candidate stays inconclusive and the skill never changes
        Assert.All(off.History, h => Assert.Null(h.Combination));
        Assert.Equal(0, off.Summary.Accepted);
        Assert.True(off.Summary.Inconclusive >= 2, $"{off.Summary.Inconclusive} inconclusive");

        var combined = on.History.Where(h => h.Combination is not null).ToList();
        Assert.NotEmpty(combined);
        var first = combined[0].Combination!;
        // it follows the step's own inconclusive verdict, and pools that step with the earlier inconclusive one
        Assert.Equal("inconclusive", combined[0].Action);
        Assert.Equal(2, first.Steps.Count);
        Assert.Equal(combined[0].Step, first.Steps[^1]);
        Assert.Equal("inconclusive", on.History.Single(h => h.Kind == "step" && h.Step == first.Steps[0]).Action);

        // fresh samples: the combination's gate saw a sample index no step's gate used
        var stepSamples = on.Gate.Calls.Where(c => c.Sample < 2_000_000).Select(c => c.Sample).ToHashSet();
        var comboSamples = combined.Select(h => h.Combination!.FirstSample).ToList();
        Assert.All(comboSamples, s => Assert.DoesNotContain(s, stepSamples));
        Assert.Equal(comboSamples.Count, comboSamples.Distinct().Count());
        Assert.Equal(combined.Count, on.State.Combinations);

        // an accepted combination holds both candidates' procedures and becomes the current (and best) skill
        var accepted = combined.First(h => h.Combination!.Action == "accept");
        Assert.Equal(accepted.Combination!.CandidateHash, accepted.CurrentHash);
        Assert.True(accepted.Combination.EditsApplied >= 2);
        Assert.True(on.Summary.Accepted >= 1);
        Assert.True(on.Summary.Best.Validation > off.Summary.Best.Validation, $"{on.Summary.Best.Validation} vs {off.Summary.Best.Validation}");
        Assert.Equal(0, EarlyStopping.StepsWithoutAcceptance(on.History.Where(h => h.Phase <= accepted.Phase).ToList()));

        // the pool is part of the checkpoint: the run folder resumes to the same result for no new rollout
        var again = await TrainAsync(combine: 2, folder);
        Assert.Equal(on.Summary.Best.Hash, again.Summary.Best.Hash);
        Assert.Empty(again.Gate.Calls);
    }

    [Fact]
    public void Combination_is_on_with_the_paired_sequential_gate_and_off_with_the_posterior_gate_and_in_classic()
    {
        // the default preset's strict gate has no inconclusive verdict, and combining measured nothing with the posterior gate
        // (docs/method.md), so it is off with both
        Assert.Equal(0, new SkillOptOptions().ApplyPreset().Gate.CombineInconclusive);
        Assert.Equal(0, new SkillOptOptions { Gate = { Kind = "posterior" } }.ApplyPreset().Gate.CombineInconclusive);
        Assert.Equal(2, new SkillOptOptions { Gate = { Kind = "paired" } }.ApplyPreset().Gate.CombineInconclusive);
        Assert.Equal(0, new SkillOptOptions { Preset = "classic" }.ApplyPreset().Gate.CombineInconclusive);
        var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("gate:\n  combine_inconclusive: -1\n", "skillopt.yaml"));
        Assert.Contains("gate.combine_inconclusive", ex.Message, StringComparison.Ordinal);
    }
}
