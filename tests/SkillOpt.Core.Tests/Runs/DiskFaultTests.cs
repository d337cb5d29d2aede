using System.Text.Json;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Runs;

/// <summary>A run folder on a full, read-only or vanished file system: a coded error, the last checkpoint intact, and a resume once it is fixed.</summary>
public class DiskFaultTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));

    /// <summary>An <see cref="IOException"/> as .NET raises it on Linux and macOS: the errno in <see cref="Exception.HResult"/>.</summary>
    private static IOException Errno(int errno, string message) => new(message, errno);

    [Fact]
    public void A_real_full_device_is_recognised_as_a_full_disk()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && File.Exists("/dev/full"), "/dev/full is Linux's always-full device");
        var error = Assert.ThrowsAny<IOException>(() =>
        {
            using var fs = new FileStream("/dev/full", FileMode.Open, FileAccess.Write);
            fs.Write(new byte[16]);
            fs.Flush(flushToDisk: true);
        });
        var coded = OutputWriteException.From("/dev/full", "/tmp/run", error);
        Assert.Equal((OutputWriteFailure.DiskFull, "SKOPT2010"), (coded.Failure, coded.Code));
        Assert.Contains("the disk is full", coded.Message, StringComparison.Ordinal);
        Assert.Contains("free space on the file system that holds /tmp/run", coded.Message, StringComparison.Ordinal);
        Assert.StartsWith("/tmp/run: error SKOPT2010: could not write /dev/full", coded.Diagnostic, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(28, OutputWriteFailure.DiskFull, "free space on the file system")]
    [InlineData(122, OutputWriteFailure.DiskFull, "free space on the file system")]
    [InlineData(30, OutputWriteFailure.ReadOnly, "remount it writable")]
    [InlineData(13, OutputWriteFailure.PermissionDenied, "give this user write access")]
    [InlineData(5, OutputWriteFailure.Other, "fix the cause")]
    public void A_refused_write_keeps_the_old_file_leaves_no_temp_file_and_says_what_to_do(int errno, object writeFailure, string advice)
    {
        var failure = (OutputWriteFailure)writeFailure; // object: the Core types are internal, a public test method cannot take them
        var folder = Directory.CreateTempSubdirectory("skillopt-disk-").FullName;
        try
        {
            var file = Path.Combine(folder, "state.json");
            AtomicFile.WriteAllText(file, "old");
            using (AtomicFile.InjectFaults(path => path == file ? Errno(errno, "simulated") : null))
            {
                var ex = Assert.Throws<OutputWriteException>(() => AtomicFile.WriteAllText(file, "new"));
                Assert.Equal(failure, ex.Failure);
                Assert.Contains(advice, ex.Message, StringComparison.Ordinal);
                Assert.Contains("run the same command again", ex.Message, StringComparison.Ordinal);
                AtomicFile.WriteAllText(Path.Combine(folder, "other.json"), "unaffected");
            }
            Assert.Equal("old", File.ReadAllText(file));
            Assert.Equal(["other.json", "state.json"], Directory.GetFiles(folder).Select(Path.GetFileName).Order());
            AtomicFile.WriteAllText(file, "new");
            Assert.Equal("new", File.ReadAllText(file));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_protected_folder_that_vanished_is_not_created_again()
    {
        var folder = Directory.CreateTempSubdirectory("skillopt-vanish-").FullName;
        using (AtomicFile.Protect(folder))
        {
            Directory.Delete(folder, recursive: true);
            var ex = Assert.Throws<OutputWriteException>(() => AtomicFile.WriteAllText(Path.Combine(folder, "steps", "x.json"), "{}"));
            Assert.Equal(OutputWriteFailure.Vanished, ex.Failure);
            Assert.Equal(folder, ex.Folder);
            Assert.Contains("no longer exists", ex.Message, StringComparison.Ordinal);
            Assert.Throws<OutputWriteException>(() => AtomicFile.CreateDirectory(Path.Combine(folder, "rollouts")));
            Assert.False(Directory.Exists(folder));
        }
        // unprotected, the folder is simply created
        AtomicFile.WriteAllText(Path.Combine(folder, "x.json"), "{}");
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task A_disk_that_fills_up_mid_run_stops_it_with_a_coded_error_and_the_run_resumes_to_the_same_result()
    {
        var reference = NewFolder();
        await new SkillTrainingLoop(HarnessConfig.Options(), new ScriptedRunner(), new ScriptedOptimizer(), reference)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);

        // The disk fills up at the third checkpoint: every later write fails until space is freed.
        var folder = NewFolder();
        var checkpoints = 0;
        var full = false;
        OutputWriteException error;
        using (AtomicFile.InjectFaults(path =>
        {
            if (Path.GetFileName(path) == "runtime_state.json" && Interlocked.Increment(ref checkpoints) == 3)
            {
                full = true;
            }
            return full ? Errno(28, "No space left on device") : null;
        }))
        {
            error = await Assert.ThrowsAsync<OutputWriteException>(() => new SkillTrainingLoop(HarnessConfig.Options(), new ScriptedRunner(), new ScriptedOptimizer(), folder)
                .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken));
        }
        Assert.Equal(OutputWriteFailure.DiskFull, error.Failure);
        Assert.Equal("SKOPT2010", error.Code);
        Assert.EndsWith("runtime_state.json", error.Path, StringComparison.Ordinal);

        // Nothing is corrupt: every JSON file parses, and the checkpoint is the last one written before the disk filled.
        foreach (var json in Directory.GetFiles(folder, "*.json", SearchOption.AllDirectories))
        {
            using var _ = JsonDocument.Parse(File.ReadAllText(json));
        }
        Assert.Empty(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories));
        var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "runtime_state.json"))).RootElement;
        Assert.Equal(2, state.GetProperty("completed_phases").GetInt32());
        Assert.False(File.Exists(Path.Combine(folder, "summary.json")));

        // Space freed: the same command resumes and ends where an uninterrupted run ends.
        await new SkillTrainingLoop(HarnessConfig.Options(), new ScriptedRunner(), new ScriptedOptimizer(), folder)
            .RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        Assert.Equal(File.ReadAllText(Path.Combine(reference, "best_skill.md")), File.ReadAllText(Path.Combine(folder, "best_skill.md")));
        static List<string> Actions(string f) => AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(f, "history.json"))!
            .Select(h => $"{h.Phase}:{h.Kind}:{h.Step}:{h.Action}:{h.CandidateHash}").ToList();
        Assert.Equal(Actions(reference), Actions(folder));
    }
}
