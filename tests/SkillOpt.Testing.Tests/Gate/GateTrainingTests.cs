using SkillOpt.SimLab;
using SkillOpt.Testing.Gate;
using SkillOpt.Testing.Tests.Infrastructure;

namespace SkillOpt.Testing.Tests.Gate;

/// <summary>
/// The whole approval loop with the real trainer against SimLab: train → received files (no diff tool) → the gate reports
/// them pending → report → approve → the gate passes → re-recording the approved skill gives a byte-identical receipt.
/// </summary>
public class GateTrainingTests
{
    [Fact]
    public async Task Train_then_approve_then_the_gate_passes_and_re_recording_is_byte_identical()
    {
        using var dir = new TempFolder();
        foreach (var file in new[] { "skillopt.yaml", "scenario.yaml" })
        {
            File.Copy(Path.Combine(SimMath.Folder, file), dir.Combine(file));
        }
        var scenario = SimMath.LoadScenario();
        var skill = dir.Combine("SKILL.md");
        File.WriteAllText(skill, scenario.InitialSkill);
        var config = dir.Combine("skillopt.yaml");
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: TestContext.Current.CancellationToken);
        var env = new Dictionary<string, string?> { ["SKILLOPT_TARGET_ENDPOINT"] = server.BaseUrl, ["SKILLOPT_OPTIMIZER_ENDPOINT"] = server.BaseUrl };

        var train = await Tool.SkilloptAsync(dir.Path, env, "train", "--verifier", ToolPaths.SampleVerifiers, "--skill", "simmath", "--skill-file", skill, "--config", config, "--run", "run");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("skillopt: receipt: validation 1 (10/10 passed), test 1 (7/7 passed), 17 recorded requests; target simlab/simlab-target (SIMULATED: not a language model)", train.Stdout);
        // the approval check: the trained skill against the committed one on the 7 test tasks, the committed side from the run
        Assert.Contains("skillopt: approval check: comparing the trained skill with the committed skill f5a004e50620 on 7 test tasks × 1 draw(s) (no further calls", train.Stdout);
        Assert.Contains("skillopt: approval check: received vs committed skill on 7 test tasks × 1 draw(s): 6 wins, 0 losses, mean difference +0.857, one-sided sign test p = 0.0156 ≤ α = 0.025: better", train.Stdout);
        Assert.DoesNotContain("SKOPT3103", train.Stdout + train.Stderr);
        Assert.Contains($"skillopt: received: waiting for approval in {dir.Path}: SKILL.received.recording, SKILL.received.receipt.json, SKILL.received.md", train.Stdout);
        Assert.Contains("skillopt: diff tool: not opened (DiffEngine is disabled here", train.Stdout);
        var files = new ApprovalFiles(skill);
        var check = ScoreReceipt.Read(files.ReceivedReceipt).ApprovalCheck!;
        Assert.Equal(("better", 6, 0, 7, ScoreReceipt.Sha256(scenario.InitialSkill)), (check.Verdict, check.Wins, check.Losses, check.Pairs, check.CommittedSha256));
        Assert.Equal("better", System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(dir.Combine("run", "summary.json")))!["approval_check"]!["verdict"]!.GetValue<string>());
        Assert.Equal(scenario.InitialSkill, File.ReadAllText(skill)); // the committed skill is untouched until approval
        Assert.Equal(File.ReadAllText(dir.Combine("run", "best_skill.md")), File.ReadAllText(files.ReceivedSkill));
        Assert.Equal(17, ApprovalFiles.RecordingKeys(files.ReceivedRecording).Count);
        var recordings = string.Concat(Directory.GetFiles(files.ReceivedRecording).Select(File.ReadAllText));
        Assert.DoesNotContain(server.BaseUrl, recordings); // no endpoint (and no key) in the recording

        // The gate sees the pending training result: the first approval has New files and a changed skill.
        var pending = await SimMath.GateAsync(SimMath.At(dir));
        Assert.Equal(1, pending.ExitCode);
        var message = SimMath.Failure(pending, "No_received_files_are_pending");
        Assert.Contains("New:", message);
        Assert.Contains("- SKILL.received.recording/", message);
        Assert.Contains("- SKILL.received.receipt.json", message);
        Assert.Contains("NotEqual:", message);
        Assert.Contains("- Received: SKILL.received.md", message);
        Assert.Contains("SKOPT3207: skill 'simmath' has no approved receipt", SimMath.Failure(pending, "Skill_matches_its_receipt"));

        // The Markdown report (also appended to $GITHUB_STEP_SUMMARY).
        var summary = dir.Combine("summary.md");
        var report = await Tool.SkilloptAsync(dir.Path, new Dictionary<string, string?> { ["GITHUB_STEP_SUMMARY"] = summary }, "report", "--skill-file", skill, "--out", "report.md");
        Assert.True(report.ExitCode == 0, report.ToString());
        var markdown = File.ReadAllText(dir.Combine("report.md"));
        Assert.Equal(markdown + "\n", File.ReadAllText(summary));
        Assert.Contains("| received | `", markdown);
        Assert.Contains("| 1.000 (10/10) | 1.000 (7/7) |", markdown);
        Assert.Contains("**simulated target (simlab): these are not language-model results**", markdown);
        Assert.Contains("```diff\n--- committed\n+++ received\n", markdown);
        Assert.Contains("+- Convert units before combining quantities", markdown);

        var approve = await Tool.SkilloptAsync(dir.Path, null, "approve", "--skill-file", skill);
        Assert.True(approve.ExitCode == 0, approve.ToString());
        Assert.Empty(files.PendingReceived());
        var gate = await SimMath.GateAsync(SimMath.At(dir));
        Assert.True(gate.ExitCode == 0, gate.ToString());
        Assert.Contains("Total: 4, Errors: 0, Failed: 0, Skipped: 1", gate.Stdout);

        // Re-recording the approved skill against the same (deterministic) target reproduces the receipt byte for byte:
        // the received files equal the approved ones and are removed again.
        var receipt = File.ReadAllBytes(files.Receipt);
        var record = await Tool.SkilloptAsync(dir.Path, env, "record", "--verifier", ToolPaths.SampleVerifiers, "--skill", "simmath", "--skill-file", skill, "--config", config);
        Assert.True(record.ExitCode == 0, record.ToString());
        Assert.Contains("skillopt: received: the skill, its receipt and its recorded requests equal the approved ones; nothing to approve", record.Stdout);
        Assert.Empty(files.PendingReceived());
        Assert.Equal(receipt, File.ReadAllBytes(files.Receipt));
        // …and the committed sample's receipt was made the same way from the same inputs.
        Assert.Equal(File.ReadAllBytes(Path.Combine(SimMath.Folder, "SKILL.receipt.json")), receipt);
    }

    [Fact]
    public async Task A_trained_skill_not_shown_better_at_the_approval_level_is_written_labelled_with_a_warning()
    {
        // the same training as above, with approval.alpha 0.0001 and two draws of the test split: 14 pairs whose sign test
        // cannot reach 0.0001, so the skill is written for approval with verdict not_shown_better and warning SKOPT3103
        using var dir = new TempFolder();
        File.Copy(Path.Combine(SimMath.Folder, "scenario.yaml"), dir.Combine("scenario.yaml"));
        File.WriteAllText(dir.Combine("skillopt.yaml"), File.ReadAllText(Path.Combine(SimMath.Folder, "skillopt.yaml")) + "\napproval:\n  alpha: 0.0001\n  test_draws: 2\n");
        var scenario = SimMath.LoadScenario();
        var skill = dir.Combine("SKILL.md");
        File.WriteAllText(skill, scenario.InitialSkill);
        await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: TestContext.Current.CancellationToken);
        var env = new Dictionary<string, string?> { ["SKILLOPT_TARGET_ENDPOINT"] = server.BaseUrl, ["SKILLOPT_OPTIMIZER_ENDPOINT"] = server.BaseUrl };

        var train = await Tool.SkilloptAsync(dir.Path, env, "train", "--verifier", ToolPaths.SampleVerifiers, "--skill", "simmath", "--skill-file", skill, "--config", dir.Combine("skillopt.yaml"), "--run", "run");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("on 7 test tasks × 2 draw(s)", train.Stdout);
        Assert.Contains("warning SKOPT3103: the trained skill is not shown better than the committed one on the test split", train.Stdout + train.Stderr);
        var files = new ApprovalFiles(skill);
        Assert.True(File.Exists(files.ReceivedSkill)); // written for approval all the same
        var check = ScoreReceipt.Read(files.ReceivedReceipt).ApprovalCheck!;
        Assert.Equal(("not_shown_better", 2, 14, 0.0001), (check.Verdict, check.Draws, check.Pairs, check.Alpha));
        Assert.True(check.PValue > 0.0001);
        Assert.True(check.Wins > check.Losses);
        // the extra draw scored both skills again, without recording into the received recording
        Assert.True(Directory.Exists(dir.Combine("run", "receipt", "approval")));
        Assert.Equal(17, ApprovalFiles.RecordingKeys(files.ReceivedRecording).Count);
    }
}
