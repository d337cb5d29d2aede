using System.CommandLine;
using SkillOpt.Testing.Gate;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Approval;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer.Commands;

/// <summary>
/// <c>skillopt approve</c>: moves a skill's received files (skill, receipt, recording) over the committed ones, like
/// Verify's "accept". Targets: the <c>--skill-file</c>s given; else the skills the <c>--verifier</c> declares (optionally one
/// <c>--skill</c>); else every <c>*.received.receipt.json</c> under the current folder, and every interrupted approval's
/// journal (<c>.*.received.approving.json</c>, see <see cref="SkillApprover"/>) (bin, obj and dot-folders skipped).
/// </summary>
internal static class ApproveCommand
{
    private static readonly HashSet<string> SkippedFolders = new(StringComparer.OrdinalIgnoreCase) { "bin", "obj", "node_modules", "TestResults", "artifacts" };

    /// <summary>Adds <c>--approve</c> and <c>--force-approve</c> to a command that writes received files.</summary>
    /// <param name="command">The command (<c>train</c>, <c>record</c>).</param>
    /// <returns>The two options.</returns>
    public static (Option<bool> Approve, Option<bool> Force) AddApprovalOptions(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var approve = new Option<bool>("--approve") { Description = "Approve the received files at once (local auto-approval; refused on a build server unless --force-approve)." };
        var force = new Option<bool>("--force-approve") { Description = "Allow --approve on a build server." };
        command.Options.Add(approve);
        command.Options.Add(force);
        return (approve, force);
    }

    /// <summary>Builds the <c>approve</c> command.</summary>
    /// <param name="console">Where progress and diagnostics go.</param>
    public static Command Create(TrainerConsole console)
    {
        var command = new Command("approve", "Approve trained skills: move SKILL.received.md, SKILL.received.receipt.json and SKILL.received.recording/ over the committed files.");
        var skillFiles = new Option<string[]>("--skill-file") { Description = "A committed skill file whose received files to approve (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var verifier = new Option<string?>("--verifier") { Description = "Approve the skills this verifier assembly declares." };
        var skill = new Option<string?>("--skill") { Description = "With --verifier: only this skill." };
        var verbose = new Option<bool>("--verbose") { Description = "Print stack traces of unexpected errors." };
        command.Options.Add(skillFiles);
        command.Options.Add(verifier);
        command.Options.Add(skill);
        command.Options.Add(verbose);
        command.SetAction((parse, ct) => TrainerCommands.Guard(console, parse.GetValue(verbose), () =>
        {
            var targets = Targets(parse.GetValue(skillFiles) ?? [], parse.GetValue(verifier), parse.GetValue(skill));
            if (targets.Count == 0)
            {
                throw new ApprovalException($"nothing to approve: no *.received.receipt.json under {Directory.GetCurrentDirectory()} (pass --skill-file or --verifier)", nothingPending: true);
            }
            foreach (var file in targets)
            {
                var files = new ApprovalFiles(file);
                var moved = SkillApprover.Approve(files);
                console.Info(moved.Count == 0
                    ? $"approved {files.SkillFile}: an interrupted approval had moved everything; its backups and journal were removed"
                    : $"approved {files.SkillFile}: {string.Join(", ", moved.Select(m => $"{Path.GetFileName(m.From)} → {Path.GetFileName(m.To)}"))}");
            }
            return Task.FromResult(TrainerDiagnostics.ExitOk);
        }));
        return command;
    }

    /// <summary>The committed skill files to approve (see the type's summary).</summary>
    internal static IReadOnlyList<string> Targets(IReadOnlyList<string> skillFiles, string? verifier, string? skill)
    {
        if (skillFiles.Count > 0)
        {
            return skillFiles.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
        }
        if (verifier is not null)
        {
            SkillProject project;
            try
            {
                project = SkillProject.Read(verifier);
            }
            catch (Exception ex) when (ex is IOException or BadImageFormatException or UnauthorizedAccessException)
            {
                throw new TrainerException(TrainerDiagnostics.VerifierNotFound, ex.Message, verifier);
            }
            var declared = project.Skills.Where(s => skill is null || s.Name == skill).ToList();
            if (declared.Count == 0)
            {
                throw new TrainerException(TrainerDiagnostics.SkillNotFound, skill is null ? "the verifier declares no skill" : $"the verifier declares no skill '{skill}'", verifier);
            }
            // With several skills, approve those that have something pending.
            var pending = declared.Where(d => new ApprovalFiles(d.SkillFile) is var f && (f.PendingReceived().Count > 0 || File.Exists(f.ApprovalJournal)))
                .Select(d => d.SkillFile).ToList();
            return declared.Count == 1 ? [declared[0].SkillFile] : pending;
        }
        return Find(Directory.GetCurrentDirectory())
            .Select(f => f.EndsWith(ApprovalFiles.JournalSuffix, StringComparison.Ordinal) ? SkillApprover.SkillFileForJournal(f) : ApprovalFiles.SkillFileForReceivedReceipt(f))
            .OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    private static IEnumerable<string> Find(string root)
    {
        var stack = new Stack<string>([root]);
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            string[] files, dirs;
            try
            {
                files = [.. Directory.GetFiles(dir, "*" + ApprovalFiles.ReceivedInfix + ".receipt.json"), .. Directory.GetFiles(dir, SkillApprover.JournalPattern)];
                dirs = Directory.GetDirectories(dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var f in files)
            {
                yield return f;
            }
            foreach (var d in dirs)
            {
                var name = Path.GetFileName(d);
                if (!name.StartsWith('.') && !SkippedFolders.Contains(name) && !name.EndsWith(".recording", StringComparison.Ordinal))
                {
                    stack.Push(d);
                }
            }
        }
    }
}
