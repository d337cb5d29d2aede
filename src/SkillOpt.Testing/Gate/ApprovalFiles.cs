namespace SkillOpt.Testing.Gate;

/// <summary>
/// The approval files of one skill, named after Verify's conventions: the committed (approved) files sit beside the skill
/// file, and each has a <em>received</em> twin, its name with <c>.received</c> inserted after the skill file's stem, which
/// training writes and <c>skillopt approve</c> moves over the committed one. For <c>skills/math/SKILL.md</c>:
/// <list type="table">
/// <listheader><term>committed (approved)</term><description>received (pending, git-ignored by <c>*.received.*</c>)</description></listheader>
/// <item><term><c>SKILL.md</c></term><description><c>SKILL.received.md</c></description></item>
/// <item><term><c>SKILL.receipt.json</c></term><description><c>SKILL.received.receipt.json</c></description></item>
/// <item><term><c>SKILL.recording/</c></term><description><c>SKILL.received.recording/</c></description></item>
/// </list>
/// The recording folder holds one <c>{sha256 request key}.json</c> per recorded target request and <c>skill.md</c>, the
/// skill text the recording (and the receipt) was made with, so that a hand edit can be shown as a diff.
/// </summary>
internal sealed class ApprovalFiles
{
    /// <summary>The name of the approved skill's copy inside a recording folder.</summary>
    public const string SkillCopyName = "skill.md";

    /// <summary>The infix that marks a received file (<c>.received</c>).</summary>
    public const string ReceivedInfix = ".received";

    /// <summary>Names the approval files of <paramref name="skillFile"/>.</summary>
    /// <param name="skillFile">The committed skill file (it need not exist).</param>
    /// <exception cref="ArgumentException">The path is empty or names a folder.</exception>
    public ApprovalFiles(string skillFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(skillFile);
        SkillFile = Path.GetFullPath(skillFile);
        var name = Path.GetFileName(SkillFile);
        if (name.Length == 0)
        {
            throw new ArgumentException($"'{skillFile}' names a folder, not a skill file.", nameof(skillFile));
        }
        Directory = Path.GetDirectoryName(SkillFile)!;
        Stem = Path.GetFileNameWithoutExtension(name);
        Extension = Path.GetExtension(name);
    }

    /// <summary>Folder that holds the skill file and its approval files (absolute).</summary>
    public string Directory { get; }

    /// <summary>The skill file's name without its extension (<c>SKILL</c>).</summary>
    public string Stem { get; }

    /// <summary>The skill file's extension with its dot (<c>.md</c>), or an empty string.</summary>
    public string Extension { get; }

    /// <summary>The committed skill file (<c>SKILL.md</c>).</summary>
    public string SkillFile { get; }

    /// <summary>The committed score receipt (<c>SKILL.receipt.json</c>).</summary>
    public string Receipt => Path.Combine(Directory, Stem + ".receipt.json");

    /// <summary>The committed recording folder (<c>SKILL.recording/</c>).</summary>
    public string Recording => Path.Combine(Directory, Stem + ".recording");

    /// <summary>The approved skill text inside the committed recording (<c>SKILL.recording/skill.md</c>).</summary>
    public string RecordedSkill => Path.Combine(Recording, SkillCopyName);

    /// <summary>The received skill file (<c>SKILL.received.md</c>).</summary>
    public string ReceivedSkill => Path.Combine(Directory, Stem + ReceivedInfix + Extension);

    /// <summary>The received score receipt (<c>SKILL.received.receipt.json</c>).</summary>
    public string ReceivedReceipt => Path.Combine(Directory, Stem + ReceivedInfix + ".receipt.json");

    /// <summary>The received recording folder (<c>SKILL.received.recording/</c>).</summary>
    public string ReceivedRecording => Path.Combine(Directory, Stem + ReceivedInfix + ".recording");

    /// <summary>
    /// The journal of an approval in progress (<c>.SKILL.received.approving.json</c>, git-ignored by <c>*.received.*</c>): it
    /// exists only while <c>skillopt approve</c> renames files, or after it was interrupted, until the next approval finishes it.
    /// </summary>
    public string ApprovalJournal => Path.Combine(Directory, "." + Stem + JournalSuffix);

    /// <summary>The end of an approval journal's name (<c>.received.approving.json</c>), after <c>.</c> and the skill file's stem.</summary>
    public const string JournalSuffix = ReceivedInfix + ".approving.json";

    /// <summary>The (received, committed) pairs in the order approval moves them: recording, receipt, skill.</summary>
    public IReadOnlyList<(string Received, string Committed, bool IsFolder)> Pairs =>
    [
        (ReceivedRecording, Recording, true),
        (ReceivedReceipt, Receipt, false),
        (ReceivedSkill, SkillFile, false),
    ];

    /// <summary>The received files and folders that exist (pending approval), in <see cref="Pairs"/> order.</summary>
    public IReadOnlyList<string> PendingReceived() =>
        Pairs.Where(p => p.IsFolder ? System.IO.Directory.Exists(p.Received) : File.Exists(p.Received)).Select(p => p.Received).ToList();

    /// <summary>Returns the committed skill file whose received receipt is <paramref name="receivedReceipt"/>, or <see langword="null"/> when the name does not follow the convention.</summary>
    /// <param name="receivedReceipt">A <c>{stem}.received.receipt.json</c> path.</param>
    /// <param name="skillExtension">The skill file's extension when no received skill file tells it (default <c>.md</c>).</param>
    public static string? SkillFileForReceivedReceipt(string receivedReceipt, string skillExtension = ".md")
    {
        const string suffix = ReceivedInfix + ".receipt.json";
        var name = Path.GetFileName(receivedReceipt);
        if (!name.EndsWith(suffix, StringComparison.Ordinal) || name.Length == suffix.Length)
        {
            return null;
        }
        var stem = name[..^suffix.Length];
        var dir = Path.GetDirectoryName(Path.GetFullPath(receivedReceipt))!;
        var received = !System.IO.Directory.Exists(dir) ? null : System.IO.Directory.GetFiles(dir, stem + ReceivedInfix + ".*")
            .Select(Path.GetFileName)
            .FirstOrDefault(n => n is not null && !n.EndsWith(".receipt.json", StringComparison.Ordinal));
        var extension = received is null ? skillExtension : received[(stem + ReceivedInfix).Length..];
        return Path.Combine(dir, stem + extension);
    }

    /// <summary>The number of recorded requests in a recording folder: files named <c>{64 hex digits}.json</c>.</summary>
    /// <param name="folder">A recording folder; a missing folder has none.</param>
    public static IReadOnlyList<string> RecordingKeys(string folder) =>
        System.IO.Directory.Exists(folder)
            ? System.IO.Directory.GetFiles(folder, "*.json")
                .Select(f => Path.GetFileNameWithoutExtension(f))
                .Where(k => k.Length == 64 && k.All(char.IsAsciiHexDigitLower))
                .Order(StringComparer.Ordinal)
                .ToList()
            : [];
}
