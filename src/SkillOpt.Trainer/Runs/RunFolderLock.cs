using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SkillOpt.Core.Runs;
using SkillOpt.Trainer.Commands;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer.Runs;

/// <summary>Who holds a run folder: written beside the lock as <c>.skillopt.lock.json</c>.</summary>
/// <param name="ProcessId">The trainer's process id.</param>
/// <param name="StartedAt">When the trainer process started (UTC).</param>
/// <param name="Host">The machine's name.</param>
/// <param name="Command">What it is doing, e.g. <c>skillopt train --skill math</c>.</param>
internal sealed record RunFolderHolder(int ProcessId, DateTimeOffset StartedAt, string Host, string Command)
{
    /// <summary>One line for messages: <c>process 4242 on build-7, started 2026-12-06 10:42:01Z (skillopt train --skill math)</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"process {ProcessId} on {Host}, started {StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z ({Command})");
}

/// <summary>
/// One trainer per run folder. <see cref="Acquire"/> opens <c>&lt;run&gt;/.skillopt.lock</c> with
/// <see cref="FileShare.None"/>, which .NET turns into an exclusive <c>flock</c> on Linux and macOS and a sharing lock on
/// Windows: the operating system holds it for the life of the open file and releases it when the process ends in any way,
/// kill -9 included. The holder (process id, start time, host, command) is written to <c>.skillopt.lock.json</c> for the
/// message a second trainer gets (<c>SKOPT2011</c>); a holder file left by a killed trainer means its lock is already
/// released, and the next trainer takes the folder over and says so. While held, the run folder is protected
/// (<see cref="AtomicFile.Protect"/>): if it vanishes, writes fail with <c>SKOPT2010</c> instead of creating it again.
/// </summary>
internal sealed class RunFolderLock : IDisposable
{
    /// <summary>The lock file's name in the run folder.</summary>
    public const string LockFileName = ".skillopt.lock";

    /// <summary>The holder file's name in the run folder.</summary>
    public const string HolderFileName = ".skillopt.lock.json";

    private readonly FileStream _lock;
    private readonly IDisposable _protection;
    private bool _disposed;

    private RunFolderLock(string folder, FileStream handle, IDisposable protection, RunFolderHolder holder, RunFolderHolder? takenOverFrom)
    {
        Folder = folder;
        _lock = handle;
        _protection = protection;
        Holder = holder;
        TakenOverFrom = takenOverFrom;
    }

    /// <summary>The run folder.</summary>
    public string Folder { get; }

    /// <summary>This process, as recorded in the holder file.</summary>
    public RunFolderHolder Holder { get; }

    /// <summary>The previous holder, when it ended without releasing the folder (killed, or its machine stopped).</summary>
    public RunFolderHolder? TakenOverFrom { get; }

    /// <summary>Takes the run folder for this process (creating it), or fails at once when another process holds it.</summary>
    /// <param name="folder">The run folder.</param>
    /// <param name="command">What this process does there (for the other trainer's message).</param>
    /// <returns>The held lock; dispose it to release the folder.</returns>
    /// <exception cref="TrainerException">Another process holds the folder (SKOPT2011, naming it).</exception>
    /// <exception cref="OutputWriteException">The folder or its lock file cannot be created (SKOPT2010).</exception>
    public static RunFolderLock Acquire(string folder, string command)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var full = AtomicFile.CreateDirectory(folder);
        var lockPath = Path.Combine(full, LockFileName);
        var holderPath = Path.Combine(full, HolderFileName);
        FileStream handle;
        try
        {
            handle = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException) && IsHeldElsewhere(ex))
        {
            var other = ReadHolderWhileHeld(holderPath);
            throw new TrainerException(TrainerDiagnostics.RunFolderLocked,
                $"another trainer is using the run folder {full}: {(other?.ToString() ?? "its holder has not recorded itself yet")}; "
                + "wait for it to finish, stop it (Ctrl+C), or train in another run folder (--run, or -p:SkillOptRunDirectory=…)", full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw OutputWriteException.From(lockPath, full, ex);
        }
        try
        {
            var previous = ReadHolder(holderPath);
            using var self = Process.GetCurrentProcess();
            var holder = new RunFolderHolder(Environment.ProcessId, new DateTimeOffset(self.StartTime).ToUniversalTime(), Environment.MachineName, command);
            AtomicFile.WriteJson(holderPath, holder);
            return new RunFolderLock(full, handle, AtomicFile.Protect(full), holder, previous);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Releases the folder: removes the holder file, then closes the lock file (which stays, so that the lock is never split between two files).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _protection.Dispose();
        try
        {
            File.Delete(Path.Combine(Folder, HolderFileName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // the next trainer takes over a holder file left behind, as after a kill
        }
        _lock.Dispose();
    }

    /// <summary>Whether opening the lock file failed because another open file holds its lock (EWOULDBLOCK/EAGAIN, or a Windows sharing violation).</summary>
    private static bool IsHeldElsewhere(IOException ex) =>
        ex.HResult is 11 or 35 || ex.HResult == unchecked((int)0x80070020) || ex.HResult == unchecked((int)0x80070021);

    private static RunFolderHolder? ReadHolderWhileHeld(string path)
    {
        // The holder writes its file just after taking the lock: give it a moment.
        for (var attempt = 0; ; attempt++)
        {
            var holder = ReadHolder(path);
            if (holder is not null || attempt == 10)
            {
                return holder;
            }
            Thread.Sleep(50);
        }
    }

    private static RunFolderHolder? ReadHolder(string path)
    {
        try
        {
            return AtomicFile.ReadJson<RunFolderHolder>(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
