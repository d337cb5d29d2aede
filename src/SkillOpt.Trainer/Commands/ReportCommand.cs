using System.CommandLine;
using System.Diagnostics;
using System.Text;
using SkillOpt.Core.Runs;
using SkillOpt.Testing.Gate;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Approval;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer.Commands;

/// <summary>
/// <c>skillopt report</c>: a Markdown summary of a skill change (score table before → after, per-task flips, skill diff),
/// written to a file and appended to <c>$GITHUB_STEP_SUMMARY</c> when that is set; usable as a pull-request comment.
/// With received files pending it compares them with the approved ones; otherwise the committed receipt with a baseline:
/// <c>--before</c>/<c>--before-skill</c> files, or the same files at a git revision (<c>--base origin/main</c>).
/// </summary>
public static class ReportCommand
{
    /// <summary>The variable GitHub Actions sets to the job summary file.</summary>
    public const string GitHubStepSummary = "GITHUB_STEP_SUMMARY";

    /// <summary>Builds the <c>report</c> command.</summary>
    /// <param name="console">Where progress and diagnostics go.</param>
    public static Command Create(TrainerConsole console)
    {
        var command = new Command("report", "Write a Markdown summary of a skill change (scores before → after, per-task flips, skill diff) to a file and to $GITHUB_STEP_SUMMARY.");
        var skillFile = new Option<string?>("--skill-file") { Description = "The committed skill file (its receipt and received files sit beside it)." };
        var verifier = new Option<string?>("--verifier") { Description = "Or: the verifier assembly that declares the skill." };
        var skill = new Option<string?>("--skill") { Description = "With --verifier: the skill (default: the only one declared)." };
        var before = new Option<string?>("--before") { Description = "Baseline receipt file (default: the approved receipt when received files are pending)." };
        var beforeSkill = new Option<string?>("--before-skill") { Description = "Baseline skill file, for the diff." };
        var gitBase = new Option<string?>("--base") { Description = "Baseline from git: the receipt and skill at this revision (e.g. origin/main)." };
        var output = new Option<string?>("--out") { Description = "Markdown file to write (default: .skillopt/reports/<skill>.md)." };
        var verbose = new Option<bool>("--verbose") { Description = "Print stack traces of unexpected errors." };
        foreach (var o in new Option[] { skillFile, verifier, skill, before, beforeSkill, gitBase, output, verbose })
        {
            command.Options.Add(o);
        }
        command.SetAction((parse, ct) => TrainerCommands.Guard(console, parse.GetValue(verbose), async () =>
        {
            var file = ResolveSkillFile(parse.GetValue(skillFile), parse.GetValue(verifier), parse.GetValue(skill));
            var files = new ApprovalFiles(file);
            var committedText = File.Exists(files.SkillFile) ? File.ReadAllText(files.SkillFile) : null;
            ReportSide beforeSide, afterSide;
            string? pending = null;
            if (File.Exists(files.ReceivedReceipt))
            {
                afterSide = new ReportSide("received", ReadReceipt(files.ReceivedReceipt), File.Exists(files.ReceivedSkill) ? File.ReadAllText(files.ReceivedSkill) : committedText);
                beforeSide = File.Exists(files.Receipt)
                    ? new ReportSide("approved", ReadReceipt(files.Receipt), ApprovedText(files) ?? committedText)
                    : new ReportSide("committed", null, committedText);
                pending = $"Waiting for approval: `skillopt approve --skill-file {Display(files.SkillFile)}`";
            }
            else
            {
                if (!File.Exists(files.Receipt))
                {
                    throw new TrainerException(TrainerDiagnostics.ReportInputs, $"the skill has no receipt ({Path.GetFileName(files.Receipt)}) and no received one: train it first", files.SkillFile);
                }
                afterSide = new ReportSide("committed", ReadReceipt(files.Receipt), committedText);
                if (parse.GetValue(before) is { } b)
                {
                    var bs = parse.GetValue(beforeSkill);
                    beforeSide = new ReportSide("baseline", ReadReceipt(Path.GetFullPath(b)), bs is null ? null : File.ReadAllText(bs));
                }
                else if (parse.GetValue(gitBase) is { } rev)
                {
                    var receipt = await GitShowAsync(files.Directory, rev, Path.GetFileName(files.Receipt), ct).ConfigureAwait(false);
                    var text = await GitShowAsync(files.Directory, rev, Path.GetFileName(files.SkillFile), ct).ConfigureAwait(false);
                    beforeSide = new ReportSide(rev, receipt is null ? null : Parse(receipt, $"{rev}:{Path.GetFileName(files.Receipt)}"), text);
                }
                else
                {
                    beforeSide = new ReportSide("baseline", null, null);
                }
            }
            var name = afterSide.Receipt?.Skill ?? beforeSide.Receipt?.Skill ?? files.Stem;
            var markdown = SkillReport.Render(name, Display(files.SkillFile), beforeSide, afterSide, pending);
            var outFile = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(".skillopt", "reports", name + ".md"));
            AtomicFile.WriteAllText(outFile, markdown);
            console.Info($"report: {outFile}");
            if (Environment.GetEnvironmentVariable(GitHubStepSummary) is { Length: > 0 } summary)
            {
                File.AppendAllText(summary, markdown + "\n", new UTF8Encoding(false));
                console.Info($"report: appended to ${GitHubStepSummary}");
            }
            return TrainerDiagnostics.ExitOk;
        }));
        return command;
    }

    private static string ResolveSkillFile(string? skillFile, string? verifier, string? skill)
    {
        if (skillFile is not null)
        {
            return Path.GetFullPath(skillFile);
        }
        if (verifier is null)
        {
            throw new TrainerException(TrainerDiagnostics.InvalidOption, "pass --skill-file, or --verifier (and --skill)");
        }
        var project = SkillProject.Read(verifier);
        var declared = project.Skills.Where(s => skill is null || s.Name == skill).ToList();
        return declared.Count == 1 ? declared[0].SkillFile
            : throw new TrainerException(TrainerDiagnostics.SkillNotFound, declared.Count == 0 ? $"the verifier declares no skill{(skill is null ? "" : $" '{skill}'")}" : "the verifier declares several skills; pass --skill", verifier);
    }

    private static ScoreReceipt ReadReceipt(string path)
    {
        try
        {
            return ScoreReceipt.Read(path);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            throw new TrainerException(TrainerDiagnostics.ReportInputs, ex.Message, path);
        }
    }

    private static ScoreReceipt Parse(string json, string origin)
    {
        try
        {
            return ScoreReceipt.Parse(json, origin);
        }
        catch (InvalidDataException ex)
        {
            throw new TrainerException(TrainerDiagnostics.ReportInputs, ex.Message);
        }
    }

    /// <summary>The approved skill text: the recording's copy when it matches the committed receipt.</summary>
    private static string? ApprovedText(ApprovalFiles files) => File.Exists(files.RecordedSkill) ? File.ReadAllText(files.RecordedSkill) : null;

    private static string Display(string path)
    {
        var rel = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return (rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? path : rel).Replace('\\', '/');
    }

    /// <summary>The file's content at a git revision (<c>git show rev:./name</c> in its folder); <see langword="null"/> when it did not exist there.</summary>
    private static async Task<string?> GitShowAsync(string directory, string revision, string name, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
        };
        foreach (var a in new[] { "-C", directory, "show", $"{revision}:./{name}" })
        {
            psi.ArgumentList.Add(a);
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("git did not start");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new TrainerException(TrainerDiagnostics.ReportInputs, $"--base needs git: {ex.Message}");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
            var text = await stdout.ConfigureAwait(false);
            var error = await stderr.ConfigureAwait(false);
            if (process.ExitCode == 0)
            {
                return text;
            }
            if (error.Contains("does not exist", StringComparison.OrdinalIgnoreCase) || error.Contains("exists on disk, but not in", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
            throw new TrainerException(TrainerDiagnostics.ReportInputs, $"git show {revision}:./{name} failed: {error.Trim()}", directory);
        }
    }
}
