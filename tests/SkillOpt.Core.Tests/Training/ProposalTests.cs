using SkillOpt.Core.Configuration;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

public class ProposalTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));

    private static async Task<(RunSummary Summary, List<HistoryRecord> History, ScriptedOptimizer Optimizer)> TrainAsync(int proposals, string folder)
    {
        var o = HarnessConfig.Options();
        o.Training.LearningRate.Max = 1; // one procedure per candidate, so proposals that read the failures in another order differ
        o.Training.LearningRate.Min = 1;
        o.Training.Proposals = proposals;
        var optimizer = new ScriptedOptimizer();
        var summary = await new SkillTrainingLoop(o, new ScriptedRunner(), optimizer, folder)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        return (summary, AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!, optimizer);
    }

    [Fact]
    public async Task Each_step_proposes_several_candidates_and_gates_the_one_that_fixes_most()
    {
        var folder = NewFolder();
        var (summary, history, optimizer) = await TrainAsync(proposals: 3, folder);
        var steps = history.Where(h => h.Kind == "step").ToList();
        Assert.NotEmpty(steps);
        Assert.All(steps, s => Assert.Equal([1, 2, 3], s.Proposals!.Select(p => p.Proposal)));

        // the proposals differ: reading the failures in another order, the optimizer names another missing procedure
        Assert.Contains(steps, s => s.Proposals!.Where(p => p.CandidateHash is not null).Select(p => p.CandidateHash).Distinct().Count() >= 2);

        // a gated step gated exactly one proposal: one that passed the pre-screen with the most fixed tasks net of broken ones
        var gated = steps.Where(s => s.Validation?.Gate != "prescreen" && s.CandidateHash is not null).ToList();
        Assert.NotEmpty(gated);
        foreach (var s in gated)
        {
            var chosen = Assert.Single(s.Proposals!, p => p.Outcome == "gated");
            Assert.Equal(s.CandidateHash, chosen.CandidateHash);
            var rivals = s.Proposals!.Where(p => p.Outcome is "gated" or "not_chosen").ToList();
            Assert.Equal(rivals.Max(p => p.Fixes!.Value - p.Breaks!.Value), chosen.Fixes!.Value - chosen.Breaks!.Value);
            Assert.All(s.Proposals!.Where(p => p.Outcome == "reject"), p => Assert.StartsWith("pre-screen: ", p.Reason, StringComparison.Ordinal));
        }
        Assert.Contains(gated, s => s.Proposals!.Any(p => p.Outcome == "not_chosen" && p.CandidateHash != s.CandidateHash));

        // every proposal's files are kept, and the record counts every proposal's optimizer calls
        Assert.All(Enumerable.Range(1, 3), k => Assert.True(File.Exists(Path.Combine(folder, "steps", "step_0001", $"proposal_{k}", "selected_edits.json"))));
        Assert.Equal(optimizer.SchemaNames.Count(n => n == "skillopt_reflection"), history.Sum(h => h.ReflectionCalls));
        Assert.True(summary.Accepted >= 1);

        // proposals that built the same rejected candidate are one rejection: the buffer does not count it twice (which would ban its edits)
        Assert.Contains(steps, s => s.Proposals!.Count(p => p.Outcome == "reject") >= 2 && s.Proposals!.Where(p => p.Outcome == "reject").Select(p => p.CandidateHash).Distinct().Count() == 1);
        var buffer = RejectedEditBuffer.Load(Path.Combine(folder, "rejected_edits.json"));
        Assert.All(buffer.Entries.GroupBy(e => (e.Phase, e.Key)), g => Assert.Single(g)); // one edit per candidate here (learning rate 1)
    }

    [Theory]
    [InlineData("1,2,0,1|1,3,0,1|1,4,2,1", 1)] // most fixes net of breaks: 3 beats 2 (4 fixes but 2 breaks)
    [InlineData("1,2,0,3|1,2,0,1|1,2,0,1", 1)] // a tie goes to the fewest edits, then to the first
    [InlineData("0,5,0,1|1,1,0,2", 1)]         // only a proposal that passed the pre-screen can be gated
    [InlineData("0,0,0,1|0,1,3,1", -1)]        // none passed
    public void The_gated_proposal_has_the_most_net_fixes_then_the_fewest_edits(string screens, int expected)
    {
        var parsed = screens.Split('|').Select(s => s.Split(',').Select(int.Parse).ToArray()).Select(a => (a[0] == 1, a[1], a[2], a[3])).ToList();
        Assert.Equal(expected, ProposalPhase.ChooseProposal(parsed));
    }

    [Fact]
    public async Task One_proposal_keeps_the_step_folder_and_record_as_they_were()
    {
        var folder = NewFolder();
        var (_, history, optimizer) = await TrainAsync(proposals: 1, folder);
        Assert.All(history, h => Assert.Null(h.Proposals));
        Assert.True(File.Exists(Path.Combine(folder, "steps", "step_0001", "selected_edits.json")));
        Assert.False(Directory.Exists(Path.Combine(folder, "steps", "step_0001", "proposal_1")));
        Assert.Equal(optimizer.SchemaNames.Count(n => n == "skillopt_reflection"), history.Sum(h => h.ReflectionCalls));
    }

    [Fact]
    public void Proposals_default_to_one_and_more_than_one_needs_the_prescreen()
    {
        Assert.Equal(1, new SkillOptOptions().ApplyPreset().Training.Proposals);
        Assert.Equal(1, new SkillOptOptions { Preset = "classic" }.ApplyPreset().Training.Proposals);
        Assert.Equal(3, SkillOptConfigLoader.Parse("training:\n  proposals: 3\n", "skillopt.yaml").Training.Proposals);
        var zero = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("training:\n  proposals: 0\n", "skillopt.yaml"));
        Assert.Contains("training.proposals", zero.Message, StringComparison.Ordinal);
        var classic = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("preset: classic\ntraining:\n  proposals: 2\n", "skillopt.yaml"));
        Assert.Contains("gate.prescreen.enabled", classic.Message, StringComparison.Ordinal);
    }
}
