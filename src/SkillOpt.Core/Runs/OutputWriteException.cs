using System.Globalization;

namespace SkillOpt.Core.Runs;

/// <summary>Why a file could not be written (see <see cref="OutputWriteException"/>).</summary>
internal enum OutputWriteFailure
{
    /// <summary>Another file-system error.</summary>
    Other,
    /// <summary>No space left on the device, or the disk quota is exceeded.</summary>
    DiskFull,
    /// <summary>The file system is mounted read-only.</summary>
    ReadOnly,
    /// <summary>The user may not write there.</summary>
    PermissionDenied,
    /// <summary>The folder no longer exists (deleted, or its drive unmounted) while it was being written.</summary>
    Vanished,
}

/// <summary>
/// A file SkillOpt writes (in a run folder, an output folder or beside a skill) could not be written: <c>SKOPT2010</c>,
/// with what to free or fix. The file being written keeps its old content (writes are atomic); the run is resumable once the
/// condition is fixed. An <see cref="IOException"/>, so callers that tolerate write failures keep doing so.
/// </summary>
internal sealed class OutputWriteException : IOException
{
    /// <summary>The diagnostic code of every write failure.</summary>
    public const string DiagnosticCode = DiagnosticCodes.OutputWriteFailed;

    private const int EPERM = 1, EACCES = 13, ENOSPC = 28, EROFS = 30, EDQUOT = 122, EDQUOTDarwin = 69;
    private const int WinAccessDenied = unchecked((int)0x80070005), WinWriteProtect = unchecked((int)0x80070013),
        WinHandleDiskFull = unchecked((int)0x80070027), WinDiskFull = unchecked((int)0x80070070);

    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file that could not be written.</param>
    /// <param name="folder">The folder to fix (the run folder when the file is in one, else the file's folder).</param>
    /// <param name="failure">Why.</param>
    /// <param name="message">The full message: what failed and what to do.</param>
    /// <param name="inner">The file system's error.</param>
    public OutputWriteException(string path, string folder, OutputWriteFailure failure, string message, Exception? inner = null)
        : base(message, inner)
    {
        Path = path;
        Folder = folder;
        Failure = failure;
    }

    /// <summary>The diagnostic code, <c>SKOPT2010</c>.</summary>
    public string Code => DiagnosticCode;

    /// <summary>The file that could not be written.</summary>
    public string Path { get; }

    /// <summary>The folder to fix: the protected folder (a run folder) the file is in, else the file's folder.</summary>
    public string Folder { get; }

    /// <summary>Why the write failed.</summary>
    public OutputWriteFailure Failure { get; }

    /// <summary>The canonical diagnostic line, <c>folder: error SKOPT2010: message</c>.</summary>
    public string Diagnostic => FileDiagnosticException.Format(Code, Folder, 0, 0, Message);

    /// <summary>Classifies a file-system error by its errno (Linux, macOS) or HRESULT (Windows) and says what to do.</summary>
    /// <param name="path">The file being written.</param>
    /// <param name="folder">The folder to name in the advice.</param>
    /// <param name="error">The <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> that the write threw.</param>
    /// <returns>The coded exception (the error itself when it already is one).</returns>
    public static OutputWriteException From(string path, string folder, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error is OutputWriteException known)
        {
            return known;
        }
        var failure = error switch
        {
            DirectoryNotFoundException => OutputWriteFailure.Vanished,
            UnauthorizedAccessException => OutputWriteFailure.PermissionDenied,
            { HResult: ENOSPC or EDQUOT or WinDiskFull or WinHandleDiskFull } => OutputWriteFailure.DiskFull,
            { HResult: EDQUOTDarwin } when OperatingSystem.IsMacOS() => OutputWriteFailure.DiskFull,
            { HResult: EROFS or WinWriteProtect } => OutputWriteFailure.ReadOnly,
            { HResult: EACCES or EPERM or WinAccessDenied } => OutputWriteFailure.PermissionDenied,
            _ => OutputWriteFailure.Other,
        };
        return Create(path, folder, failure, error);
    }

    /// <summary>Builds the exception with the message for <paramref name="failure"/>.</summary>
    /// <param name="path">The file being written.</param>
    /// <param name="folder">The folder to name in the advice.</param>
    /// <param name="failure">Why the write failed.</param>
    /// <param name="inner">The file system's error, if any.</param>
    public static OutputWriteException Create(string path, string folder, OutputWriteFailure failure, Exception? inner)
    {
        const string Resume = "then run the same command again: the run resumes after its last finished phase";
        var what = failure switch
        {
            OutputWriteFailure.DiskFull =>
                $"the disk is full (no space left on the device{Free(folder)}): free space on the file system that holds {folder} (or move the run folder with --run / SkillOptRunDirectory), {Resume}",
            OutputWriteFailure.ReadOnly =>
                $"the file system that holds {folder} is read-only: remount it writable or choose another run folder with --run / SkillOptRunDirectory, {Resume}",
            OutputWriteFailure.PermissionDenied =>
                $"permission denied: give this user write access to {folder} (or choose another run folder with --run / SkillOptRunDirectory), {Resume}",
            OutputWriteFailure.Vanished =>
                $"the folder {folder} no longer exists (deleted, or its drive unmounted while the run was writing): restore or remount it and run the same command again to resume, or start over in a new run folder",
            _ => $"{inner?.Message ?? "the file system refused the write"}: fix the cause, {Resume}",
        };
        var io = inner is null || failure is OutputWriteFailure.Other ? "" : $" ({inner.Message.TrimEnd('.')})";
        return new OutputWriteException(path, folder, failure, $"could not write {path}{io}: {what}", inner);
    }

    private static string Free(string folder)
    {
        try
        {
            var root = System.IO.Path.GetPathRoot(System.IO.Path.GetFullPath(folder));
            var existing = folder;
            while (!Directory.Exists(existing) && System.IO.Path.GetDirectoryName(existing) is { } parent)
            {
                existing = parent;
            }
            var free = new DriveInfo(existing ?? root ?? folder).AvailableFreeSpace;
            return string.Create(CultureInfo.InvariantCulture, $"; {free / 1_048_576.0:0.#} MB free now");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return "";
        }
    }
}
