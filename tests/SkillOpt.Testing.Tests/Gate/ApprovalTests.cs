using System.Text.RegularExpressions;
using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Gate;
using SkillOpt.Testing.Tests.Infrastructure;
using SkillOpt.Trainer.Approval;
using SkillOpt.Trainer.Commands;

namespace SkillOpt.Testing.Tests.Gate;

/// <summary>Approval files, approve = move, and auto-approval refused on build servers.</summary>
public class ApprovalTests
{
    private const string Approved = "# Skill\n\n- Old rule.\n";
    private const string Trained = "# Skill\n\n- Old rule.\n- New rule.\n";

    private static string ReceiptFor(string skill, int keys = 1) => ScoreReceipt.Create("m", "SKILL.md", skill, new ReceiptTarget("scripted", "scripted"), 0,
        new Dictionary<string, string> { ["m/t"] = "test" }, [], [new RolloutResult { TaskId = "m/t", Outcome = TaskOutcome.Passed, Score = 1 }], keys).ToJson();

    /// <summary>An approved skill and a pending training result (received skill, receipt and recording).</summary>
    private static ApprovalFiles Pending(TempFolder dir)
    {
        var files = new ApprovalFiles(dir.Combine("skills", "m", "SKILL.md"));
        Directory.CreateDirectory(files.Recording);
        File.WriteAllText(files.SkillFile, Approved);
        File.WriteAllText(files.Receipt, ReceiptFor(Approved));
        File.WriteAllText(Path.Combine(files.Recording, new string('a', 64) + ".json"), "{}");
        File.WriteAllText(files.RecordedSkill, Approved);
        Directory.CreateDirectory(files.ReceivedRecording);
        File.WriteAllText(files.ReceivedSkill, Trained);
        File.WriteAllText(files.ReceivedReceipt, ReceiptFor(Trained));
        File.WriteAllText(Path.Combine(files.ReceivedRecording, new string('b', 64) + ".json"), "{}");
        File.WriteAllText(Path.Combine(files.ReceivedRecording, "skill.md"), Trained);
        return files;
    }

    [Fact]
    public void Received_files_follow_verify_naming_and_are_git_ignored()
    {
        var files = new ApprovalFiles(Path.Combine("skills", "math", "SKILL.md"));
        Assert.Equal("SKILL.receipt.json", Path.GetFileName(files.Receipt));
        Assert.Equal("SKILL.recording", Path.GetFileName(files.Recording));
        Assert.Equal("SKILL.received.md", Path.GetFileName(files.ReceivedSkill));
        Assert.Equal("SKILL.received.receipt.json", Path.GetFileName(files.ReceivedReceipt));
        Assert.Equal("SKILL.received.recording", Path.GetFileName(files.ReceivedRecording));
        Assert.Equal(Path.Combine(files.Recording, "skill.md"), files.RecordedSkill);
        // every received name matches the repository's `*.received.*` ignore pattern
        Assert.All(files.Pairs, p => Assert.Matches(@"^[^/\\]+\.received\.[^/\\]+$", Path.GetFileName(p.Received)));
        Assert.Contains("*.received.*", File.ReadAllLines(Path.Combine(ToolPaths.SampleVerifiersProject, "..", "..", ".gitignore")));
        Assert.Equal(files.SkillFile, ApprovalFiles.SkillFileForReceivedReceipt(files.ReceivedReceipt));
    }

    [Fact]
    public void Approve_moves_the_received_skill_receipt_and_recording_over_the_committed_ones()
    {
        using var dir = new TempFolder();
        var files = Pending(dir);
        var report = ApprovalReport.Build(files);
        Assert.Equal(3, report.NotEqual.Count);
        Assert.Single(report.Delete);

        var moved = SkillApprover.Approve(files);
        Assert.Equal(3, moved.Count);
        Assert.Equal(Trained, File.ReadAllText(files.SkillFile));
        Assert.Equal(ReceiptFor(Trained), File.ReadAllText(files.Receipt));
        Assert.Equal([new string('b', 64)], ApprovalFiles.RecordingKeys(files.Recording));
        Assert.Equal(Trained, File.ReadAllText(files.RecordedSkill));
        Assert.Empty(files.PendingReceived());
        // no backup is left behind
        Assert.Equal(["SKILL.md", "SKILL.receipt.json", "SKILL.recording"], Directory.EnumerateFileSystemEntries(files.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(Assert.Throws<ApprovalException>(() => SkillApprover.Approve(files)).NothingPending);
    }

    /// <summary>Stands for the process dying: not an I/O error, so nothing is rolled back.</summary>
    private sealed class Crash : Exception;

    /// <summary>Approves with <paramref name="afterRename"/> called after each rename, and returns what it threw.</summary>
    private static TException ApproveFailing<TException>(ApprovalFiles files, Action<int> afterRename) where TException : Exception
    {
        SkillApprover.AfterRename = afterRename;
        try
        {
            return Assert.Throws<TException>(() => SkillApprover.Approve(files));
        }
        finally
        {
            SkillApprover.AfterRename = null;
        }
    }

    [Theory]
    [InlineData(0)] // recording set aside
    [InlineData(1)] // recording moved
    [InlineData(2)] // receipt set aside
    [InlineData(3)] // receipt moved
    [InlineData(4)] // skill set aside: SKILL.md is missing until the approval is finished
    [InlineData(5)] // skill moved: only the backups and the journal are left
    public void An_approval_interrupted_after_any_rename_is_finished_by_the_next_one(int crashAfter)
    {
        using var dir = new TempFolder();
        var files = Pending(dir);
        ApproveFailing<Crash>(files, n => { if (n == crashAfter) { throw new Crash(); } });
        Assert.True(File.Exists(files.ApprovalJournal));
        Assert.Matches(@"^[^/\\]+\.received\.[^/\\]+$", Path.GetFileName(files.ApprovalJournal)); // git-ignored with the received files
        Assert.DoesNotContain(files.Directory, File.ReadAllText(files.ApprovalJournal)); // names only, no paths

        var moved = SkillApprover.Approve(files);
        Assert.Equal(3 - (crashAfter + 1) / 2, moved.Count); // renames alternate: set aside, move in; the pairs moved before the crash are not moved again
        Assert.Equal(Trained, File.ReadAllText(files.SkillFile));
        Assert.Equal(ReceiptFor(Trained), File.ReadAllText(files.Receipt));
        Assert.Equal([new string('b', 64)], ApprovalFiles.RecordingKeys(files.Recording));
        Assert.Empty(files.PendingReceived());
        Assert.Equal(["SKILL.md", "SKILL.receipt.json", "SKILL.recording"], Directory.EnumerateFileSystemEntries(files.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(Assert.Throws<ApprovalException>(() => SkillApprover.Approve(files)).NothingPending);
    }

    [Fact]
    public void A_failed_rename_rolls_back_every_earlier_one_and_removes_the_journal()
    {
        using var dir = new TempFolder();
        var files = Pending(dir);
        var ex = ApproveFailing<ApprovalException>(files, n => { if (n == 3) { throw new IOException("disk full"); } }); // recording and receipt moved
        Assert.Equal("approval failed and was rolled back (the committed files are unchanged): disk full", ex.Message);
        Assert.Equal(Approved, File.ReadAllText(files.SkillFile));
        Assert.Equal(ReceiptFor(Approved), File.ReadAllText(files.Receipt));
        Assert.Equal([new string('a', 64)], ApprovalFiles.RecordingKeys(files.Recording));
        Assert.Equal(3, files.PendingReceived().Count);
        Assert.False(File.Exists(files.ApprovalJournal));
        Assert.Equal(6, Directory.EnumerateFileSystemEntries(files.Directory).Count()); // no backup left
    }

    [Fact]
    public void A_rollback_that_fails_keeps_the_journal_and_says_so()
    {
        using var dir = new TempFolder();
        var files = Pending(dir);
        var ex = ApproveFailing<ApprovalException>(files, n =>
        {
            if (n == 1)
            {
                Directory.CreateDirectory(files.ReceivedRecording); // something takes the received name: moving the recording back fails
                throw new IOException("disk full");
            }
        });
        Assert.StartsWith("approval failed and could not be rolled back completely (.SKILL.received.approving.json is kept: approve again to finish it)", ex.Message);
        Assert.True(File.Exists(files.ApprovalJournal));
    }

    [Fact]
    public void An_interrupted_approval_that_cannot_be_finished_unambiguously_says_what_to_do_and_changes_nothing()
    {
        using var dir = new TempFolder();
        var files = Pending(dir);
        ApproveFailing<Crash>(files, n => { if (n == 4) { throw new Crash(); } });
        File.WriteAllText(files.SkillFile, "# Skill\n\n- Written by hand meanwhile.\n");
        var ex = Assert.Throws<ApprovalException>(() => SkillApprover.Approve(files));
        Assert.Contains("SKILL.received.md, SKILL.md and its backup", ex.Message);
        Assert.Equal("# Skill\n\n- Written by hand meanwhile.\n", File.ReadAllText(files.SkillFile));
        Assert.Equal(Trained, File.ReadAllText(files.ReceivedSkill));
        Assert.True(File.Exists(files.ApprovalJournal));
    }

    [Fact]
    public void Approve_refuses_a_receipt_that_does_not_describe_the_received_skill_and_changes_nothing()
    {
        using var dir = new TempFolder();
        var files = Pending(dir);
        File.WriteAllText(files.ReceivedSkill, Trained + "- Edited after training.\n");
        var ex = Assert.Throws<ApprovalException>(() => SkillApprover.Approve(files));
        Assert.Contains("was made for a skill with sha256", ex.Message);
        Assert.Equal(Approved, File.ReadAllText(files.SkillFile));
        Assert.Equal(3, files.PendingReceived().Count);
    }

    [Fact]
    public void Auto_approval_is_refused_on_build_servers_unless_forced()
    {
        Assert.Null(BuildServer.Detect(_ => null));
        Assert.Equal("CI", BuildServer.Detect(n => n == "CI" ? "true" : null));
        Assert.Null(BuildServer.Detect(n => n == "CI" ? "false" : null));
        Assert.Equal("TF_BUILD", BuildServer.Detect(n => n == "TF_BUILD" ? "True" : null));
        Assert.Equal("GITHUB_ACTIONS", BuildServer.Detect(n => n == "GITHUB_ACTIONS" ? "true" : null));

        var ex = Assert.Throws<TrainerException>(() => new ApprovalRequest(Approve: true, Force: false).EnsureAllowed(() => "CI"));
        Assert.Equal("SKOPT3001", ex.Code);
        new ApprovalRequest(Approve: true, Force: true).EnsureAllowed(() => "CI");
        new ApprovalRequest(Approve: true, Force: false).EnsureAllowed(() => null);
        new ApprovalRequest(Approve: false, Force: false).EnsureAllowed(() => "CI");
    }

    [Fact]
    public async Task Skillopt_train_with_approve_fails_fast_under_ci_and_skillopt_approve_moves_files()
    {
        using var dir = new TempFolder();
        var refused = await Tool.SkilloptAsync(dir.Path, new Dictionary<string, string?> { ["CI"] = "true" },
            "train", "--verifier", ToolPaths.SampleVerifiers, "--skill", "arith", "--skill-file", dir.Combine("SKILL.md"), "--approve");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error SKOPT3001: auto-approval is refused on a build server (CI is set)", refused.Stderr);
        Assert.DoesNotContain("training skill", refused.Stdout);

        var files = Pending(dir);
        var approve = await Tool.SkilloptAsync(dir.Path, null, "approve");
        Assert.True(approve.ExitCode == 0, approve.ToString());
        Assert.Contains($"skillopt: approved {files.SkillFile}: SKILL.received.recording → SKILL.recording, SKILL.received.receipt.json → SKILL.receipt.json, SKILL.received.md → SKILL.md", approve.Stdout);
        Assert.Equal(Trained, File.ReadAllText(files.SkillFile));

        var nothing = await Tool.SkilloptAsync(dir.Path, null, "approve", "--skill-file", files.SkillFile);
        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("error SKOPT3002: nothing to approve", nothing.Stderr);
    }

    [Fact]
    public async Task Skillopt_approve_finds_and_finishes_an_interrupted_approval_that_left_no_received_receipt()
    {
        using var dir = new TempFolder();
        var files = Pending(dir);
        ApproveFailing<Crash>(files, n => { if (n == 4) { throw new Crash(); } }); // recording and receipt moved, SKILL.md set aside
        Assert.False(File.Exists(files.SkillFile));
        Assert.False(File.Exists(files.ReceivedReceipt));

        var approve = await Tool.SkilloptAsync(dir.Path, null, "approve");
        Assert.True(approve.ExitCode == 0, approve.ToString());
        Assert.Contains($"skillopt: approved {files.SkillFile}: SKILL.received.md → SKILL.md", approve.Stdout);
        Assert.Equal(Trained, File.ReadAllText(files.SkillFile));
        Assert.Equal(["SKILL.md", "SKILL.receipt.json", "SKILL.recording"], Directory.EnumerateFileSystemEntries(files.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Training_or_recording_over_an_interrupted_approval_is_refused_and_deletes_nothing()
    {
        using var dir = new TempFolder();
        var files = Pending(dir);
        ApproveFailing<Crash>(files, n => { if (n == 4) { throw new Crash(); } }); // SKILL.md set aside, SKILL.received.md still to move

        foreach (var command in new[] { "record", "train" })
        {
            var run = await Tool.SkilloptAsync(dir.Path, null, command, "--verifier", ToolPaths.SampleVerifiers, "--skill", "arith", "--skill-file", files.SkillFile);
            Assert.Equal(1, run.ExitCode);
            Assert.Contains($"error SKOPT3003: an approval of {files.SkillFile} was interrupted (.SKILL.received.approving.json is still there)", run.Stderr);
            // The command that works from here: `dotnet skillopt`, `skillopt`, or this trainer's `dotnet exec …/skillopt.dll`.
            Assert.Matches($@"(dotnet skillopt|skillopt|dotnet exec \S+/skillopt\.dll) approve --skill-file ""{Regex.Escape(files.SkillFile)}""", run.Stderr);
        }
        Assert.Equal(Trained, File.ReadAllText(files.ReceivedSkill));
        Assert.Single(SkillApprover.Approve(files));
        Assert.Equal(Trained, File.ReadAllText(files.SkillFile));
    }
}
