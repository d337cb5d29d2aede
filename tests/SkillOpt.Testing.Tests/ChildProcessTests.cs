using System.Collections.Concurrent;
using System.Globalization;
using SkillOpt.Core.Processes;

namespace SkillOpt.Testing.Tests;

/// <summary>
/// The one process-launch helper every caller uses (verifier processes and workers, the gate's verifier runs, task
/// listing, git, and the tests and benchmarks that run the built tools): arguments, environment, line callbacks, exit codes
/// and killing the process tree. Runs <c>/bin/sh</c>.
/// </summary>
public class ChildProcessTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Lines_arrive_in_order_per_stream_and_a_non_zero_exit_code_is_returned()
    {
        SkipUnlessUnix();
        var stdout = new ConcurrentQueue<string>();
        var stderr = new ConcurrentQueue<string>();
        using var process = Shell("i=1; while [ $i -le 500 ]; do echo \"line $i\"; i=$((i+1)); done; printf 'no newline'; echo oops >&2; exit 3", stdout.Enqueue, stderr.Enqueue);
        process.Start();

        var code = await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(await process.WaitForOutputAsync(Generous));

        Assert.Equal(3, code);
        Assert.Equal(3, process.ExitCode);
        Assert.Equal([.. Enumerable.Range(1, 500).Select(i => string.Create(CultureInfo.InvariantCulture, $"line {i}")), "no newline"], stdout.ToArray());
        Assert.Equal(["oops"], stderr.ToArray());
    }

    [Fact]
    public async Task Arguments_reach_the_process_one_by_one_unjoined()
    {
        SkipUnlessUnix();
        var result = await ChildProcess.RunAsync(new ChildProcessStart
        {
            FileName = "/bin/sh",
            Arguments = ["-c", "for a in \"$@\"; do echo \"[$a]\"; done", "sh", "two words", "quote\"d", "", "$HOME"],
        }, TestContext.Current.CancellationToken);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("[two words]\n[quote\"d]\n[]\n[$HOME]\n", result.Stdout);
    }

    [Fact]
    public async Task Variables_are_set_and_removed_and_the_working_directory_is_used()
    {
        SkipUnlessUnix();
        const string Removed = "SKILLOPT_CHILD_PROCESS_TEST_REMOVED";
        Environment.SetEnvironmentVariable(Removed, "inherited");
        try
        {
            var folder = Directory.CreateTempSubdirectory("skopt-child-").FullName;
            var result = await ChildProcess.RunAsync(new ChildProcessStart
            {
                FileName = "/bin/sh",
                Arguments = ["-c", $"echo \"set=${{SKILLOPT_CHILD_PROCESS_TEST_SET-unset}}\"; echo \"removed=${{{Removed}-unset}}\"; pwd -P"],
                WorkingDirectory = folder,
                Environment = new Dictionary<string, string?> { ["SKILLOPT_CHILD_PROCESS_TEST_SET"] = "ü value", [Removed] = null },
            }, TestContext.Current.CancellationToken);

            var lines = result.Stdout.Split('\n');
            Assert.Equal("set=ü value", lines[0]);
            Assert.Equal("removed=unset", lines[1]);
            Assert.EndsWith("/" + Path.GetFileName(folder), lines[2], StringComparison.Ordinal);
            Directory.Delete(folder);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Removed, null);
        }
    }

    [Fact]
    public async Task A_closed_standard_input_is_a_pipe_at_its_end()
    {
        SkipUnlessUnix();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancel.CancelAfter(Generous); // a shared standard input that stays open would block the read
        var result = await ChildProcess.RunAsync(new ChildProcessStart
        {
            FileName = "/bin/sh",
            Arguments = ["-c", "if [ -p /dev/stdin ]; then echo pipe; else echo other; fi; if read -r line; then echo \"read $line\"; else echo end; fi"],
            CloseStandardInput = true,
        }, cancel.Token);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("pipe\nend\n", result.Stdout);
    }

    [Fact]
    public async Task Kill_ends_the_process_and_the_child_it_started()
    {
        SkipUnlessUnix();
        Assert.SkipUnless(OperatingSystem.IsLinux(), "reads /proc");
        var pids = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = Shell("sleep 600 & echo $!; wait", line => pids.TrySetResult(int.Parse(line, CultureInfo.InvariantCulture)), null);
        process.Start();
        var grandchild = await pids.Task.WaitAsync(Generous, TestContext.Current.CancellationToken);
        Assert.True(Alive(grandchild), "the child's own child runs before the kill");

        process.Kill();
        await process.WaitForExitAsync(CancellationToken.None).WaitAsync(Generous, TestContext.Current.CancellationToken);

        Assert.NotEqual(0, process.ExitCode);
        // the grandchild is killed as well (polled: the kill signal is delivered asynchronously)
        var deadline = DateTime.UtcNow + Generous;
        while (Alive(grandchild) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
        Assert.False(Alive(grandchild), $"process {grandchild} (started by the killed process) still runs");
    }

    [Fact]
    public async Task Kill_before_the_start_after_the_exit_and_after_disposal_does_nothing()
    {
        SkipUnlessUnix();
        var process = Shell("exit 7", null, null);
        process.Kill();
        Assert.Null(process.Id);
        Assert.Null(process.ExitCode);

        process.Start();
        Assert.Equal(7, await process.WaitForExitAsync(TestContext.Current.CancellationToken));
        process.Kill();
        process.Kill();
        Assert.Equal(7, process.ExitCode);

        process.Dispose();
        process.Kill();
        process.Dispose();
        Assert.Equal(7, process.ExitCode);
        Assert.Throws<ObjectDisposedException>(process.Start);
    }

    [Fact]
    public async Task Cancelling_RunAsync_kills_the_process_and_a_missing_executable_throws()
    {
        SkipUnlessUnix();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var run = ChildProcess.RunAsync(new ChildProcessStart
        {
            FileName = "/bin/sh",
            Arguments = ["-c", "echo up; sleep 600"],
            OnStdout = _ => started.TrySetResult(),
        }, cancel.Token);
        await started.Task.WaitAsync(Generous, TestContext.Current.CancellationToken);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Generous, TestContext.Current.CancellationToken));

        await Assert.ThrowsAsync<System.ComponentModel.Win32Exception>(() => ChildProcess.RunAsync(
            new ChildProcessStart { FileName = "/nonexistent/skillopt-no-such-program" }, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_line_longer_than_the_limit_is_cut_with_a_note()
    {
        var lines = new List<string>();
        var text = new string('x', ChildProcess.MaxLineChars + 10) + "\nnext\r\n";
        await ChildProcess.PumpAsync(new StringReader(text), lines.Add);

        Assert.Equal(2, lines.Count);
        Assert.Equal(new string('x', ChildProcess.MaxLineChars) + "… [skillopt: 10 more characters of this line cut]", lines[0]);
        Assert.Equal("next", lines[1]);
    }

    private static ChildProcess Shell(string script, Action<string>? onStdout, Action<string>? onStderr) =>
        new(new ChildProcessStart { FileName = "/bin/sh", Arguments = ["-c", script], OnStdout = onStdout, OnStderr = onStderr });

    private static void SkipUnlessUnix() => Assert.SkipWhen(OperatingSystem.IsWindows(), "runs /bin/sh");

    /// <summary>True while the process exists and is not a zombie (a killed orphan may wait for a reaper in a container).</summary>
    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].TrimStart()[0];
            return state is not ('Z' or 'X');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
