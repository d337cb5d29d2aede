using SkillOpt.Core.Runs;
using SkillOpt.Testing.Gate;

namespace SkillOpt.Trainer.Approval;

/// <summary>Approval cannot proceed: nothing to approve, or the received files do not belong together.</summary>
/// <param name="message">Why.</param>
/// <param name="nothingPending">True when no received file exists.</param>
internal sealed class ApprovalException(string message, bool nothingPending = false) : Exception(message)
{
    /// <summary>True when no received file exists.</summary>
    public bool NothingPending { get; } = nothingPending;
}

/// <summary>
/// Approves a skill's received files: moves <c>SKILL.received.recording/</c>, <c>SKILL.received.receipt.json</c> and
/// <c>SKILL.received.md</c> over their committed counterparts (Verify's "approve = move"). All or nothing: the committed
/// files are first renamed aside, then the received ones renamed into place; if a rename fails, everything is moved back.
/// Every step is a rename inside the skill's folder. Before the first rename the plan is written (atomically) to a journal,
/// <c>.SKILL.received.approving.json</c> (git-ignored with the received files); if the process dies part-way (killed, power
/// lost), the next approval of that skill reads the journal and finishes the renames it lists, since the files were
/// validated before it was written, so no committed file stays missing.
/// </summary>
internal static class SkillApprover
{
    private static readonly AsyncLocal<Action<int>?> s_afterRename = new();

    /// <summary>Test hook, for the calling flow only: called after each rename with its 0-based number; a test throws from it to stand for a crash.</summary>
    internal static Action<int>? AfterRename { get => s_afterRename.Value; set => s_afterRename.Value = value; }

    /// <summary>The journal files' name pattern, for finding interrupted approvals.</summary>
    internal const string JournalPattern = ".*" + ApprovalFiles.JournalSuffix;

    /// <summary>
    /// Refuses to go on while an approval of the skill is interrupted: its committed files may be half replaced, and writing
    /// new received files would delete the ones the journal still has to move.
    /// </summary>
    /// <param name="files">The skill's approval files.</param>
    /// <exception cref="ApprovalException">The skill's approval journal exists; the message gives the command that finishes it.</exception>
    public static void ThrowIfInterrupted(ApprovalFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (File.Exists(files.ApprovalJournal))
        {
            throw new ApprovalException($"an approval of {files.SkillFile} was interrupted ({Path.GetFileName(files.ApprovalJournal)} is still there), so its committed files may be half replaced; finish it first: {SkillOpt.Testing.Gate.SkillOptCommand.ForTrainer()} approve --skill-file \"{files.SkillFile}\"");
        }
    }

    /// <summary>The committed skill file an interrupted approval's journal belongs to, or null when its name does not follow the convention.</summary>
    /// <param name="journal">A <c>.{stem}.received.approving.json</c> path.</param>
    internal static string? SkillFileForJournal(string journal)
    {
        const string suffix = ApprovalFiles.JournalSuffix;
        var name = Path.GetFileName(journal);
        if (!name.StartsWith('.') || !name.EndsWith(suffix, StringComparison.Ordinal) || name.Length <= suffix.Length + 1)
        {
            return null;
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(journal))!;
        var stem = name[1..^suffix.Length];
        List<PlannedMove>? plan = null;
        try
        {
            plan = AtomicFile.ReadJson<List<PlannedMove>>(journal);
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
        {
            // Approve reports an unreadable journal; the skill file's name is only guessed here
        }
        var skill = plan?.FirstOrDefault(m => !m.IsFolder && !m.Committed.EndsWith(".receipt.json", StringComparison.Ordinal) && Path.GetFileName(m.Committed) == m.Committed);
        return Path.Combine(dir, skill?.Committed ?? stem + ".md");
    }

    /// <summary>Approves the received files of <paramref name="files"/> and returns what moved (received → committed).</summary>
    /// <param name="files">The skill's approval files.</param>
    /// <returns>The renames into place, received → committed; after an interrupted approval, those it had left to do (none
    /// when only its backups and journal were left).</returns>
    /// <exception cref="ApprovalException">No received file exists, the received receipt does not describe the skill that would
    /// be committed, a rename failed (the previous state was restored), or an interrupted approval's journal cannot be read or
    /// finished (the message says what to do).</exception>
    public static IReadOnlyList<(string From, string To)> Approve(ApprovalFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (File.Exists(files.ApprovalJournal))
        {
            return Resume(files);
        }
        var pending = files.Pairs.Where(p => Exists(p.Received, p.IsFolder)).ToList();
        if (pending.Count == 0)
        {
            throw new ApprovalException($"nothing to approve: no received files beside {files.SkillFile} ({Path.GetFileName(files.ReceivedSkill)}, {Path.GetFileName(files.ReceivedReceipt)}, {Path.GetFileName(files.ReceivedRecording)}/)", nothingPending: true);
        }
        Validate(files);

        var token = Guid.NewGuid().ToString("N")[..8];
        var plan = pending.Select(p => new PlannedMove(Path.GetFileName(p.Received), Path.GetFileName(p.Committed), $".{Path.GetFileName(p.Committed)}{ApprovalFiles.ReceivedInfix}.approve-{token}.bak", p.IsFolder)).ToList();
        AtomicFile.WriteJson(files.ApprovalJournal, plan);
        var backups = new List<(string Committed, string Backup, bool IsFolder)>();
        var moved = new List<(string From, string To, bool IsFolder)>();
        var renames = 0;
        try
        {
            foreach (var m in plan)
            {
                var (received, committed, backup) = (m.ReceivedPath(files), m.CommittedPath(files), m.BackupPath(files));
                if (Exists(committed, m.IsFolder))
                {
                    Move(committed, backup, m.IsFolder);
                    backups.Add((committed, backup, m.IsFolder));
                    AfterRename?.Invoke(renames++);
                }
                Move(received, committed, m.IsFolder);
                moved.Add((received, committed, m.IsFolder));
                AfterRename?.Invoke(renames++);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var restored = true;
            foreach (var (from, to, isFolder) in Enumerable.Reverse(moved))
            {
                restored &= TryMove(to, from, isFolder);
            }
            foreach (var (committed, backup, isFolder) in backups)
            {
                restored &= TryMove(backup, committed, isFolder);
            }
            if (!restored)
            {
                // the journal stays, so the next approval finishes the renames instead
                throw new ApprovalException($"approval failed and could not be rolled back completely ({Path.GetFileName(files.ApprovalJournal)} is kept: approve again to finish it): {ex.Message}");
            }
            TryDelete(files.ApprovalJournal, isFolder: false);
            throw new ApprovalException($"approval failed and was rolled back (the committed files are unchanged): {ex.Message}");
        }
        Finish(files, plan);
        return moved.Select(m => (m.From, m.To)).ToList();
    }

    /// <summary>
    /// Finishes an approval a crash interrupted: for each planned move whose received file or folder is still there, the
    /// committed one (if any, and not already set aside) is renamed to its backup and the received one into place; then the
    /// backups and the journal are deleted.
    /// </summary>
    private static IReadOnlyList<(string From, string To)> Resume(ApprovalFiles files)
    {
        var journal = files.ApprovalJournal;
        List<PlannedMove> plan;
        try
        {
            plan = AtomicFile.ReadJson<List<PlannedMove>>(journal) ?? throw new InvalidDataException("the file is empty");
        }
        catch (Exception ex) when (ex is InvalidDataException or System.Text.Json.JsonException)
        {
            throw new ApprovalException($"{Path.GetFileName(journal)} (an interrupted approval's journal) cannot be read: {ex.Message}; check the skill's files by hand, then delete it");
        }
        var moved = new List<(string From, string To)>();
        try
        {
            foreach (var m in plan)
            {
                var (received, committed, backup) = (m.ReceivedPath(files), m.CommittedPath(files), m.BackupPath(files));
                if (!Exists(received, m.IsFolder))
                {
                    continue; // moved before the crash
                }
                if (Exists(committed, m.IsFolder))
                {
                    if (Exists(backup, m.IsFolder))
                    {
                        throw new ApprovalException($"cannot finish the interrupted approval: {Path.GetFileName(received)}, {Path.GetFileName(committed)} and its backup {Path.GetFileName(backup)} all exist; keep the one you want, delete the others and {Path.GetFileName(journal)}");
                    }
                    Move(committed, backup, m.IsFolder);
                }
                Move(received, committed, m.IsFolder);
                moved.Add((received, committed));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ApprovalException($"cannot finish the interrupted approval ({Path.GetFileName(journal)} is kept, so approving again retries): {ex.Message}");
        }
        Finish(files, plan);
        return moved;
    }

    /// <summary>Deletes the backups, then the journal (an approval is done once its journal is gone).</summary>
    private static void Finish(ApprovalFiles files, IReadOnlyList<PlannedMove> plan)
    {
        foreach (var m in plan)
        {
            // the approval stands; a left-over backup is only clutter
            TryDelete(m.BackupPath(files), m.IsFolder);
        }
        // a journal that cannot be deleted only makes the next approval check that everything moved
        TryDelete(files.ApprovalJournal, isFolder: false);
    }

    /// <summary>One rename of an approval, by file name inside the skill's folder (the journal holds no paths).</summary>
    private sealed record PlannedMove(string Received, string Committed, string Backup, bool IsFolder)
    {
        public string ReceivedPath(ApprovalFiles f) => Inside(f, Received);
        public string CommittedPath(ApprovalFiles f) => Inside(f, Committed);
        public string BackupPath(ApprovalFiles f) => Inside(f, Backup);

        private static string Inside(ApprovalFiles f, string name) =>
            name.Length > 0 && Path.GetFileName(name) == name ? Path.Combine(f.Directory, name)
                : throw new ApprovalException($"{Path.GetFileName(f.ApprovalJournal)} names '{name}', which is not a file name in the skill's folder; delete the journal and check the skill's files by hand");
    }

    private static void TryDelete(string path, bool isFolder)
    {
        try
        {
            if (isFolder && Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else if (!isFolder)
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // best effort
        }
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

    private static bool Exists(string path, bool isFolder) => isFolder ? Directory.Exists(path) : File.Exists(path);

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

    /// <summary>Moves back what a failed approval moved; false when the rename failed (true when there was nothing to move).</summary>
    private static bool TryMove(string from, string to, bool isFolder)
    {
        try
        {
            if (Exists(from, isFolder))
            {
                Move(from, to, isFolder);
            }
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // the caller keeps the journal; the message of the original failure names what happened
            return false;
        }
    }
}
