using SkillOpt.Core;
using System.CommandLine;
using System.Diagnostics;
using System.Text;
using SkillOpt.Core.Processes;
using SkillOpt.Core.Runs;
using SkillOpt.Testing.Gate;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Approval;
using SkillOpt.Trainer.Console;
using SkillOpt.Trainer.Reports;

namespace SkillOpt.Trainer.Commands;

/// <summary>
/// <c>skillopt report</c>: a Markdown summary of a skill change (score table before → after, per-task flips, skill diff),
/// written to a file and appended to <c>$GITHUB_STEP_SUMMARY</c> when that is set; usable as a pull-request comment.
/// With received files pending it compares them with the approved ones; otherwise the committed receipt with a baseline:
/// <c>--before</c>/<c>--before-skill</c> files, or the same files at a git revision (<c>--base origin/main</c>). The
/// summary holds a Mermaid chart of the training run's validation per step when that run folder is found (<c>--run</c>).
/// <c>--html</c> writes the HTML report of a run folder (<see cref="HtmlRunReport"/>); <c>--compare</c> compares run folders
/// (<see cref="RunComparison"/>).
/// </summary>
internal static class ReportCommand
{
    /// <summary>The variable GitHub Actions sets to the job summary file.</summary>
    public const string GitHubStepSummary = "GITHUB_STEP_SUMMARY";

    /// <summary>Builds the <c>report</c> command.</summary>
    /// <param name="console">Where progress and diagnostics go.</param>
    public static Command Create(TrainerConsole console)
    {
        var command = new Command("report", "Write a Markdown summary of a skill change (scores before → after, per-task flips, skill diff) to a file and to $GITHUB_STEP_SUMMARY; "
            + "with --html the HTML report of a run; with --compare a comparison of runs.");
        var skillFile = new Option<string?>("--skill-file") { Description = "The committed skill file (its receipt and received files sit beside it)." };
        var verifier = new Option<string?>("--verifier") { Description = "Or: the verifier assembly that declares the skill." };
        var skill = new Option<string?>("--skill") { Description = "With --verifier: the skill (default: the only one declared); with --html: the skill whose latest run to report." };
        var before = new Option<string?>("--before") { Description = "Baseline receipt file (default: the approved receipt when received files are pending)." };
        var beforeSkill = new Option<string?>("--before-skill") { Description = "Baseline skill file, for the diff." };
        var gitBase = new Option<string?>("--base") { Description = "Baseline from git: the receipt and skill at this revision (e.g. origin/main)." };
        var output = new Option<string?>("--out") { Description = "File to write (default: .skillopt/reports/<skill>.md; with --html <run>/report.html; with --compare .skillopt/reports/compare.md and .html beside it)." };
        var html = new Option<bool>("--html") { Description = "Write the HTML report of a run folder (--run; default: the latest run of the skill under .skillopt/runs)." };
        var runFolder = new Option<string?>("--run") { Description = "The run folder: for --html, and for the Markdown summary's validation chart (default: the latest run under .skillopt/runs whose best skill is the one reported)." };
        var compare = new Option<string[]>("--compare") { Description = "Compare two or more run folders (Markdown and HTML).", AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.ZeroOrMore };
        var verbose = new Option<bool>("--verbose") { Description = "Print stack traces of unexpected errors." };
        foreach (var o in new Option[] { skillFile, verifier, skill, before, beforeSkill, gitBase, output, html, runFolder, compare, verbose })
        {
            command.Options.Add(o);
        }
        command.SetAction((parse, ct) => TrainerCommands.Guard(console, parse.GetValue(verbose), async () =>
        {
            if (parse.GetValue(compare) is { Length: > 0 } runs)
            {
                return Compare(console, runs, parse.GetValue(output));
            }
            if (parse.GetValue(html))
            {
                var skillName = parse.GetValue(skill) ?? (parse.GetValue(skillFile) is null && parse.GetValue(verifier) is null ? null
                    : new ApprovalFiles(ResolveSkillFile(parse.GetValue(skillFile), parse.GetValue(verifier), parse.GetValue(skill))).Stem);
                var folder = parse.GetValue(runFolder) ?? RunFolder.FindLatest(Path.Combine(".skillopt", "runs"), skillName)
                    ?? throw new TrainerException(TrainerDiagnostics.ReportInputs, $"no run folder{(skillName is null ? "" : $" of '{skillName}'")} under {Path.GetFullPath(Path.Combine(".skillopt", "runs"))}: pass --run <folder>");
                var written = WriteHtml(RunFolder.Open(folder), parse.GetValue(output));
                console.Info($"report: {written}");
                return TrainerDiagnostics.ExitOk;
            }
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
                pending = $"Waiting for approval: `{SkillOpt.Testing.Gate.SkillOptCommand.ForTrainer()} approve --skill-file {Display(files.SkillFile)}`";
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
            RunFolder? run = null;
            if (parse.GetValue(runFolder) is { } explicitRun)
            {
                run = RunFolder.Open(explicitRun);
            }
            else if (afterSide.Receipt is { } reviewed && (FindRun(Directory.GetCurrentDirectory(), name, reviewed.SkillSha256) ?? FindRun(files.Directory, name, reviewed.SkillSha256)) is { } found)
            {
                run = RunFolder.Open(found);
            }
            var markdown = SecretRedaction.Redact(SkillReport.Render(name, Display(files.SkillFile), beforeSide, afterSide, pending, run));
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

    /// <summary>Writes the HTML report of <paramref name="run"/> (default: <c>report.html</c> in the run folder) and returns its path.</summary>
    /// <param name="run">The run folder.</param>
    /// <param name="output">The file to write, or null.</param>
    public static string WriteHtml(RunFolder run, string? output = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        var file = Path.GetFullPath(output ?? Path.Combine(run.Root, HtmlRunReport.FileName));
        AtomicFile.WriteAllText(file, HtmlRunReport.Render(run));
        return file;
    }

    private static int Compare(TrainerConsole console, string[] runs, string? output)
    {
        if (runs.Length < 2)
        {
            throw new TrainerException(TrainerDiagnostics.InvalidOption, $"--compare needs two or more run folders, not {runs.Length}");
        }
        var compared = RunComparison.Load([.. runs.Select(RunFolder.Open)]);
        var markdownFile = Path.GetFullPath(output ?? Path.Combine(".skillopt", "reports", "compare.md"));
        var htmlFile = Path.ChangeExtension(markdownFile, ".html");
        AtomicFile.WriteAllText(markdownFile, RunComparison.Markdown(compared));
        AtomicFile.WriteAllText(htmlFile, RunComparison.Html(compared));
        console.Info($"report: {markdownFile} and {htmlFile}");
        return TrainerDiagnostics.ExitOk;
    }

    /// <summary>The latest run folder of the skill whose best skill has the hash, under <c>.skillopt/runs</c> of <paramref name="directory"/> or of a parent.</summary>
    private static string? FindRun(string directory, string skill, string bestHash)
    {
        for (var dir = new DirectoryInfo(directory); dir is not null; dir = dir.Parent)
        {
            if (RunFolder.FindLatest(Path.Combine(dir.FullName, ".skillopt", "runs"), skill, bestHash) is { } found)
            {
                return found;
            }
        }
        return null;
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
        ChildProcessResult git;
        try
        {
            git = await ChildProcess.RunAsync(new ChildProcessStart { FileName = "git", Arguments = ["-C", directory, "show", $"{revision}:./{name}"] }, ct).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new TrainerException(TrainerDiagnostics.ReportInputs, $"--base needs git: {ex.Message}");
        }
        var error = git.Stderr;
        if (git.ExitCode == 0)
        {
            return git.Stdout;
        }
        if (error.Contains("does not exist", StringComparison.OrdinalIgnoreCase) || error.Contains("exists on disk, but not in", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        throw new TrainerException(TrainerDiagnostics.ReportInputs, $"git show {revision}:./{name} failed: {error.Trim()}", directory);
    }
}
