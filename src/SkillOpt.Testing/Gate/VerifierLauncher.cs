using System.Globalization;
using System.Text;
using System.Text.Json;
using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Verifiers;

namespace SkillOpt.Testing.Gate;

/// <summary>One skill task as the verifier lists it.</summary>
/// <param name="TaskId">Stable task id.</param>
/// <param name="Split">Split: <c>train</c>, <c>val</c> or <c>test</c>.</param>
internal sealed record ListedTask(string TaskId, string Split);

/// <summary>What a verifier process run produced.</summary>
/// <param name="Results">One result per requested task; a task without a result file is Errored with the output's tail.</param>
/// <param name="ExitCode">The process's exit code, or <see langword="null"/> when it was killed at the timeout.</param>
/// <param name="Output">The process's whole standard output and error.</param>
internal sealed record VerifierRun(IReadOnlyList<RolloutResult> Results, int? ExitCode, string Output);

/// <summary>
/// Starts a verifier test executable with the same contract as the <c>skillopt</c> trainer (docs/verifiers.md):
/// <c>dotnet exec &lt;assembly&gt; -automated -trait "skillopt.task=&lt;id&gt;" …</c> in the assembly's folder, with
/// <c>SKILLOPT_*</c> variables in its environment, reading one result file per task from <c>SKILLOPT_RESULTS_DIR</c>.
/// The skill gate uses it to run its own test assembly in replay or live mode; the start command and the task listing
/// are <see cref="VerifierExecutable"/>'s, the same the trainer uses.
/// </summary>
internal sealed class VerifierLauncher
{
    private readonly VerifierExecutable _executable;

    /// <summary>Opens the verifier assembly at <paramref name="assemblyPath"/>.</summary>
    /// <param name="assemblyPath">Path of the verifier's <c>.dll</c>.</param>
    /// <exception cref="FileNotFoundException">The assembly does not exist.</exception>
    public VerifierLauncher(string assemblyPath) => _executable = new VerifierExecutable(assemblyPath);

    /// <summary>Absolute path of the verifier assembly.</summary>
    public string AssemblyPath => _executable.AssemblyPath;

    /// <summary>Lists the tasks of <paramref name="skill"/> (<c>-list full/json -trait skillopt.skill=&lt;skill&gt;</c>).</summary>
    /// <param name="skill">Skill name.</param>
    /// <param name="environment">Variables to set (a <see langword="null"/> value removes one); at least <c>SKILLOPT_CONFIG</c>, which fixes the splits.</param>
    /// <param name="timeout">Most time the listing may take.</param>
    /// <param name="cancellationToken">Cancels the listing (the process is killed).</param>
    /// <exception cref="InvalidOperationException">The process failed, timed out or printed no task list.</exception>
    public async Task<IReadOnlyList<ListedTask>> ListAsync(string skill, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(skill);
        using var limit = new CancellationTokenSource(timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(limit.Token, cancellationToken);
        try
        {
            var tasks = await _executable.ListAsync(environment, skill, linked.Token).ConfigureAwait(false);
            return tasks.Select(t => new ListedTask(t.TaskId, t.Split)).ToList();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"`{Path.GetFileName(AssemblyPath)} -list full/json` did not finish within {timeout.TotalSeconds:0} s.");
        }
        catch (VerifierListingException ex)
        {
            throw new InvalidOperationException(ex.Message, ex);
        }
    }

    /// <summary>Runs <paramref name="taskIds"/> in one verifier process and reads their result files.</summary>
    /// <param name="taskIds">Task ids to run (one <c>-trait skillopt.task=…</c> each).</param>
    /// <param name="environment">Variables to set (a <see langword="null"/> value removes one); <c>SKILLOPT_RESULTS_DIR</c> is set to <paramref name="resultsDir"/>.</param>
    /// <param name="resultsDir">Folder for the result files (created; should be empty).</param>
    /// <param name="timeout">Most time the process may run before its tree is killed.</param>
    /// <param name="cancellationToken">Cancels the run (the process is killed).</param>
    public async Task<VerifierRun> RunAsync(IReadOnlyList<string> taskIds, IReadOnlyDictionary<string, string?> environment, string resultsDir, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        ArgumentNullException.ThrowIfNull(environment);
        if (taskIds.Count == 0)
        {
            return new VerifierRun([], 0, "");
        }
        Directory.CreateDirectory(resultsDir);
        var args = new List<string> { "-automated", "-noColor", "-noLogo" };
        foreach (var id in taskIds)
        {
            args.Add("-trait");
            args.Add($"skillopt.task={id}");
        }
        var env = new Dictionary<string, string?>(environment) { [VerifierEnvironment.ResultsDir] = resultsDir };
        var (exit, all) = await RunProcessAsync(args, env, timeout, cancellationToken).ConfigureAwait(false);
        var results = new List<RolloutResult>(taskIds.Count);
        foreach (var id in taskIds)
        {
            var path = VerifierResultFile.PathFor(resultsDir, id);
            if (!File.Exists(path))
            {
                var why = exit is null ? $"the verifier process ran past {timeout.TotalSeconds:0} s and was killed"
                    : exit is 0 or 1 ? $"the verifier process finished (exit code {exit}) without a result for this task"
                    : $"the verifier process crashed (exit code {exit})";
                results.Add(RolloutResult.Errored(id, $"{why}. Output tail:\n{Tail(all, 1500)}"));
                continue;
            }
            try
            {
                results.Add(VerifierResultFile.Read(path).Result);
            }
            catch (InvalidDataException ex)
            {
                results.Add(RolloutResult.Errored(id, ex.Message));
            }
        }
        return new VerifierRun(results, exit, all);
    }

    private async Task<(int? Exit, string Output)> RunProcessAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout, CancellationToken ct)
    {
        var all = new StringBuilder();
        void OnLine(string line)
        {
            lock (all)
            {
                all.AppendLine(line);
            }
        }
        using var process = _executable.Process(args, environment, OnLine, OnLine);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not start {VerifierExecutable.DotnetHost} exec {AssemblyPath}: {ex.Message}", ex);
        }
        using var limit = new CancellationTokenSource(timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(limit.Token, ct);
        int? exit;
        try
        {
            exit = await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            exit = null;
        }
        await process.WaitForOutputAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        lock (all)
        {
            return (exit, all.ToString());
        }
    }

    /// <summary>The last lines of a process's output, without xUnit's JSON messages.</summary>
    internal static string Tail(string text, int max)
    {
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && !l.StartsWith("{\"$type\":", StringComparison.Ordinal));
        var t = string.Join("\n", lines).Trim();
        return t.Length <= max ? t : "…" + t[^max..];
    }
}
