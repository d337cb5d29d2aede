using SkillOpt.Testing.Gate;

namespace SkillOpt.Trainer.Approval;

/// <summary>Approval cannot proceed: nothing to approve, or the received files do not belong together.</summary>
/// <param name="message">Why.</param>
/// <param name="nothingPending">True when no received file exists.</param>
public sealed class ApprovalException(string message, bool nothingPending = false) : Exception(message)
{
    /// <summary>True when no received file exists.</summary>
    public bool NothingPending { get; } = nothingPending;
}

/// <summary>
/// Approves a skill's received files: moves <c>SKILL.received.recording/</c>, <c>SKILL.received.receipt.json</c> and
/// <c>SKILL.received.md</c> over their committed counterparts (Verify's "approve = move"). All or nothing: the committed
/// files are first renamed aside, then the received ones renamed into place; if any step fails, everything is moved back.
/// Every step is a rename inside the skill's folder.
/// </summary>
public static class SkillApprover
{
    /// <summary>Approves the received files of <paramref name="files"/> and returns what moved (received → committed).</summary>
    /// <param name="files">The skill's approval files.</param>
    /// <exception cref="ApprovalException">No received file exists, the received receipt does not describe the skill that would be committed, or a rename failed (the previous state was restored).</exception>
    public static IReadOnlyList<(string From, string To)> Approve(ApprovalFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var pending = files.Pairs.Where(p => p.IsFolder ? Directory.Exists(p.Received) : File.Exists(p.Received)).ToList();
        if (pending.Count == 0)
        {
            throw new ApprovalException($"nothing to approve: no received files beside {files.SkillFile} ({Path.GetFileName(files.ReceivedSkill)}, {Path.GetFileName(files.ReceivedReceipt)}, {Path.GetFileName(files.ReceivedRecording)}/)", nothingPending: true);
        }
        Validate(files);

        var token = Guid.NewGuid().ToString("N")[..8];
        var backups = new List<(string Committed, string Backup, bool IsFolder)>();
        var moved = new List<(string From, string To, bool IsFolder)>();
        try
        {
            foreach (var (received, committed, isFolder) in pending)
            {
                if (isFolder ? Directory.Exists(committed) : File.Exists(committed))
                {
                    var backup = Path.Combine(files.Directory, $".{Path.GetFileName(committed)}.approve-{token}.bak");
                    Move(committed, backup, isFolder);
                    backups.Add((committed, backup, isFolder));
                }
                Move(received, committed, isFolder);
                moved.Add((received, committed, isFolder));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            foreach (var (from, to, isFolder) in Enumerable.Reverse(moved))
            {
                TryMove(to, from, isFolder);
            }
            foreach (var (committed, backup, isFolder) in backups)
            {
                TryMove(backup, committed, isFolder);
            }
            throw new ApprovalException($"approval failed and was rolled back (the committed files are unchanged): {ex.Message}");
        }
        foreach (var (_, backup, isFolder) in backups)
        {
            try
            {
                if (isFolder)
                {
                    Directory.Delete(backup, recursive: true);
                }
                else
                {
                    File.Delete(backup);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // the approval stands; a left-over backup is only clutter
            }
        }
        return moved.Select(m => (m.From, m.To)).ToList();
    }

    /// <summary>Checks that the received receipt describes the skill text that approval leaves committed.</summary>
    private static void Validate(ApprovalFiles files)
    {
        if (!File.Exists(files.ReceivedReceipt))
        {
            if (File.Exists(files.ReceivedSkill) || Directory.Exists(files.ReceivedRecording))
            {
                throw new ApprovalException($"{Path.GetFileName(files.ReceivedReceipt)} is missing: a received skill or recording without its receipt cannot be approved (was training interrupted?); train again or delete the received files");
            }
            return;
        }
        ScoreReceipt receipt;
        try
        {
            receipt = ScoreReceipt.Read(files.ReceivedReceipt);
        }
        catch (InvalidDataException ex)
        {
            throw new ApprovalException(ex.Message);
        }
        var skill = File.Exists(files.ReceivedSkill) ? files.ReceivedSkill : files.SkillFile;
        if (!File.Exists(skill))
        {
            throw new ApprovalException($"the receipt describes a skill, but neither {Path.GetFileName(files.ReceivedSkill)} nor {Path.GetFileName(files.SkillFile)} exists");
        }
        var hash = ScoreReceipt.Sha256(File.ReadAllText(skill));
        if (!string.Equals(hash, receipt.SkillSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ApprovalException($"{Path.GetFileName(files.ReceivedReceipt)} was made for a skill with sha256 {receipt.SkillSha256[..Math.Min(12, receipt.SkillSha256.Length)]}, but {Path.GetFileName(skill)} has {hash[..12]} (it changed after training); train or record again");
        }
        if (!Directory.Exists(files.ReceivedRecording) && !Directory.Exists(files.Recording))
        {
            throw new ApprovalException($"{Path.GetFileName(files.ReceivedRecording)}/ is missing: the replay gate needs the recording; train or record again");
        }
    }

    private static void Move(string from, string to, bool isFolder)
    {
        if (isFolder)
        {
            Directory.Move(from, to);
        }
        else
        {
            File.Move(from, to, overwrite: false);
        }
    }

    private static void TryMove(string from, string to, bool isFolder)
    {
        try
        {
            if (isFolder ? Directory.Exists(from) : File.Exists(from))
            {
                Move(from, to, isFolder);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // best effort: the message of the original failure names what happened
        }
    }
}
