using SkillOpt.Testing.Tests.Infrastructure;

namespace SkillOpt.Testing.Tests.Gate;

/// <summary>
/// The sample verifier's one-line gate class (SimMathSkillGate) on its committed, approved skill, receipt and recording:
/// it passes with no model and no network, and each check fails for its own reason.
/// </summary>
public class GateReplayTests
{
    [Fact]
    public async Task The_committed_sample_passes_its_gate_with_no_model_and_no_network()
    {
        // No endpoint and no SimLab: the replay makes zero model calls; the live check is skipped without SKILLOPT_LIVE.
        var run = await SimMath.GateAsync(null);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Total: 4, Errors: 0, Failed: 0, Skipped: 1", run.Stdout);
        Assert.Contains("SimMathSkillGate.Test_split_holds_up_live [SKIP]", run.Stdout);
        Assert.Contains("live re-check of skill 'simmath' is opt-in: set SKILLOPT_LIVE=1", run.Stdout);
    }

    [Fact]
    public async Task A_hand_edited_skill_fails_with_a_unified_diff_against_the_approved_text()
    {
        using var dir = new TempFolder();
        var skill = SimMath.CopyApproved(dir);
        File.AppendAllText(skill, "- Always answer 42.\n");
        var run = await SimMath.GateAsync(SimMath.At(dir));
        Assert.Equal(1, run.ExitCode);
        var message = SimMath.Failure(run, "Skill_matches_its_receipt");
        Assert.Contains("SKOPT3201: the committed skill 'simmath' does not match its approved receipt: it was edited without training and approval.", message);
        Assert.Contains("--- approved (SKILL.recording/skill.md)", message);
        Assert.Contains("+++ committed (SKILL.md)", message);
        Assert.Matches(@"@@ -\d+,\d+ \+\d+,\d+ @@", message);
        Assert.Contains("+- Always answer 42.", message);
        Assert.Contains("skillopt record --verifier ", message);
        Assert.Contains($"skillopt approve --skill-file {skill}", message);
        // the replay refuses to run an unapproved skill, and nothing is pending
        Assert.Contains("SKOPT3201", SimMath.Failure(run, "Test_split_replays_as_approved"));
        Assert.DoesNotContain("No_received_files_are_pending [FAIL]", run.Stdout);
    }

    [Fact]
    public async Task A_pending_received_file_fails_with_verify_style_sections_and_the_approve_command()
    {
        using var dir = new TempFolder();
        var skill = SimMath.CopyApproved(dir);
        File.WriteAllText(dir.Combine("SKILL.received.md"), File.ReadAllText(skill) + "- A trained rule.\n");
        File.WriteAllText(dir.Combine("SKILL.received.receipt.json"), "{}\n");
        var run = await SimMath.GateAsync(SimMath.At(dir), "No_received_files_are_pending");
        Assert.Equal(1, run.ExitCode);
        var message = SimMath.Failure(run, "No_received_files_are_pending");
        Assert.Contains("SKOPT3202: skill 'simmath' has received files waiting for approval", message);
        Assert.Contains($"Directory: {dir.Path}", message);
        Assert.Contains("""
            NotEqual:
              - Received: SKILL.received.receipt.json
                Verified: SKILL.receipt.json
              - Received: SKILL.received.md
                Verified: SKILL.md
            """.Replace("\r\n", "\n"), string.Join("\n", message.Split('\n').Select(l => l.StartsWith("      ", StringComparison.Ordinal) ? l[6..] : l)));
        Assert.Contains($"Approve: skillopt approve --skill-file {skill}", message);
    }

    [Fact]
    public async Task An_interrupted_approval_fails_the_pending_check_with_the_command_that_finishes_it()
    {
        using var dir = new TempFolder();
        var skill = SimMath.CopyApproved(dir);
        File.WriteAllText(dir.Combine(".SKILL.received.approving.json"), "[]\n");
        var run = await SimMath.GateAsync(SimMath.At(dir), "No_received_files_are_pending");
        Assert.Equal(1, run.ExitCode);
        var message = SimMath.Failure(run, "No_received_files_are_pending");
        Assert.Contains("SKOPT3202: skill 'simmath': an approval was interrupted (.SKILL.received.approving.json is still there)", message);
        Assert.Contains($"Finish it: skillopt approve --skill-file {skill}", message);
    }

    [Fact]
    public async Task A_replay_miss_after_a_verifier_prompt_change_fails_with_the_command_that_re_records()
    {
        // SKILLOPT_SAMPLE_FAULT=prompt rewords the verifier's prompt, as an edit of the verifier would.
        var run = await SimMath.GateAsync(new Dictionary<string, string?> { ["SKILLOPT_SAMPLE_FAULT"] = "prompt" }, "Test_split_replays_as_approved");
        Assert.Equal(1, run.ExitCode);
        var message = SimMath.Failure(run, "Test_split_replays_as_approved");
        Assert.Contains("SKOPT3204: 7 of 7 test tasks of skill 'simmath' asked the target something the approved recording does not hold", message);
        Assert.Contains("- simmath/WordProblems.Solves/syn-001: no recording for \"Please solve: A ribbon is 9 feet long. How many inches long is it?\" (request ", message);
        Assert.Contains("First miss: SkillOpt.Providers.RecordingMissException: No recorded response for request", message);
        Assert.Contains($"skillopt record --verifier {ToolPaths.SampleVerifiers} --skill simmath --skill-file {Path.Combine(SimMath.Folder, "SKILL.md")} --config {Path.Combine(SimMath.Folder, "skillopt.yaml")}", message);
    }
}
