using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SkillOpt.Core.Runs;

/// <summary>
/// The one writer of every file SkillOpt writes (run folders, result files, received files, recordings, reports): a temp
/// file in the same folder, flushed to disk, then renamed over the target, so readers see the old or the new file, never a
/// partial one. A failure is an <see cref="OutputWriteException"/> (<c>SKOPT2010</c>) that says what to free or fix.
/// </summary>
internal static class AtomicFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly Dictionary<string, int> Protected = new(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
    private static readonly AsyncLocal<Func<string, Exception?>?> Faults = new();

    /// <summary>Writes <paramref name="text"/> as UTF-8 without BOM; readers see the old or the new file, never a partial one.</summary>
    /// <param name="path">The file (its folders are created when missing, except a protected folder that vanished).</param>
    /// <param name="text">The content.</param>
    /// <exception cref="OutputWriteException">The disk is full, the file system read-only, access denied, a protected folder vanished, or another file-system error (SKOPT2010); the file keeps its old content.</exception>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(text);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var folder = ProtectedFolderOf(full);
        if (folder is not null && !Directory.Exists(folder))
        {
            throw OutputWriteException.Create(full, folder, OutputWriteFailure.Vanished, null);
        }
        var tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            Directory.CreateDirectory(dir);
            if (Faults.Value?.Invoke(full) is { } fault)
            {
                throw fault;
            }
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var bytes = Utf8NoBom.GetBytes(text);
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw OutputWriteException.From(full, folder ?? dir, ex);
        }
    }

    /// <summary>Creates <paramref name="path"/> and its parents when missing, with the errors of <see cref="WriteAllText"/>.</summary>
    /// <param name="path">The folder.</param>
    /// <returns>The folder's full path.</returns>
    /// <exception cref="OutputWriteException">The folder could not be created, or a protected folder above it vanished (SKOPT2010).</exception>
    public static string CreateDirectory(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var folder = ProtectedFolderOf(full);
        if (folder is not null && !Directory.Exists(folder))
        {
            throw OutputWriteException.Create(full, folder, OutputWriteFailure.Vanished, null);
        }
        try
        {
            Directory.CreateDirectory(full);
            return full;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw OutputWriteException.From(full, folder ?? full, ex);
        }
    }

    /// <summary>
    /// Protects <paramref name="folder"/> (a run folder) until the returned scope is disposed: a write below it finds the
    /// folder gone instead of silently creating it again, and write failures name it as the folder to fix.
    /// </summary>
    /// <param name="folder">The folder; it should exist.</param>
    /// <returns>Ends the protection (scopes nest).</returns>
    public static IDisposable Protect(string folder)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        lock (Protected)
        {
            Protected[full] = Protected.GetValueOrDefault(full) + 1;
        }
        return new Scope(() =>
        {
            lock (Protected)
            {
                if (--Protected[full] == 0)
                {
                    Protected.Remove(full);
                }
            }
        });
    }

    /// <summary>
    /// Makes every write in this asynchronous flow first ask <paramref name="fault"/>, which returns the error to throw
    /// (for example an <see cref="IOException"/> with the errno of a full disk) or <see langword="null"/>; for tests of
    /// disk faults. Disposing the scope ends it.
    /// </summary>
    internal static IDisposable InjectFaults(Func<string, Exception?> fault)
    {
        var previous = Faults.Value;
        Faults.Value = fault;
        return new Scope(() => Faults.Value = previous);
    }

    private static string? ProtectedFolderOf(string full)
    {
        lock (Protected)
        {
            if (Protected.Count == 0)
            {
                return null;
            }
            var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            return Protected.Keys.Where(f => full.StartsWith(f + Path.DirectorySeparatorChar, comparison)).MaxBy(f => f.Length);
        }
    }

    private sealed class Scope(Action end) : IDisposable
    {
        private Action? _end = end;

        public void Dispose() => Interlocked.Exchange(ref _end, null)?.Invoke();
    }

    /// <summary>Serialises <paramref name="value"/> with <see cref="SkillOptJson.Options"/> and writes it atomically.</summary>
    /// <exception cref="OutputWriteException">The file could not be written (SKOPT2010).</exception>
    public static void WriteJson<T>(string path, T value) => WriteAllText(path, JsonSerializer.Serialize(value, SkillOptJson.Options) + "\n");

    /// <summary>Reads a JSON file written by <see cref="WriteJson{T}"/>; <see langword="default"/> when the file does not exist.</summary>
    /// <exception cref="DamagedFileException">The file is not valid JSON for <typeparamref name="T"/> (cut short or changed
    /// outside SkillOpt): a <see cref="JsonException"/> that names the file, line and column (SKOPT2014 in the trainer).</exception>
    public static T? ReadJson<T>(string path)
    {
        if (!File.Exists(path))
        {
            return default;
        }
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), SkillOptJson.Options);
        }
        catch (JsonException ex)
        {
            throw new DamagedFileException(path, ex);
        }
    }
}

/// <summary>
/// A JSON file SkillOpt wrote cannot be read back: it is not valid JSON of its kind. SkillOpt writes every file whole
/// (<see cref="AtomicFile"/>), so it was cut short or changed outside SkillOpt (an editor, a partial copy, a disk fault).
/// </summary>
internal sealed class DamagedFileException : JsonException
{
    /// <summary>Wraps the serializer's error for <paramref name="file"/>.</summary>
    /// <param name="file">The file that could not be read.</param>
    /// <param name="inner">The serializer's error (its line and byte position are 0-based).</param>
    public DamagedFileException(string file, JsonException inner)
        : base($"{file}: {inner.Message}", inner.Path, inner.LineNumber, inner.BytePositionInLine, inner)
    {
        File = file;
        Detail = (inner.Message is { } m && m.IndexOf(" Path: ", StringComparison.Ordinal) is var i and > 0 ? m[..i] : inner.Message).TrimEnd('.', ' ');
    }

    /// <summary>The file that could not be read.</summary>
    public string File { get; }

    /// <summary>1-based line of the error; 0 when unknown.</summary>
    public int Line => LineNumber is { } l ? (int)Math.Min(int.MaxValue - 1, l) + 1 : 0;

    /// <summary>1-based column (byte position in the line) of the error; 0 when the line is unknown.</summary>
    public int Column => LineNumber is null ? 0 : BytePositionInLine is { } b ? (int)Math.Min(int.MaxValue - 1, b) + 1 : 1;

    /// <summary>What the serializer said, without its location.</summary>
    public string Detail { get; }
}

/// <summary>The JSON conventions of every file SkillOpt writes: snake_case names, enums as snake_case strings, indented, nulls omitted.</summary>
internal static class SkillOptJson
{
    /// <summary>Shared serializer options (read-only once used).</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}
