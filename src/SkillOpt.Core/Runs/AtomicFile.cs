using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SkillOpt.Core.Runs;

/// <summary>Writes files atomically (temp file in the same folder, flushed, then renamed over the target).</summary>
public static class AtomicFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes <paramref name="text"/> as UTF-8 without BOM; readers see the old or the new file, never a partial one.</summary>
    /// <exception cref="IOException">The file system refused the write or the rename.</exception>
    public static void WriteAllText(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var bytes = Utf8NoBom.GetBytes(text);
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Serialises <paramref name="value"/> with <see cref="SkillOptJson.Options"/> and writes it atomically.</summary>
    public static void WriteJson<T>(string path, T value) => WriteAllText(path, JsonSerializer.Serialize(value, SkillOptJson.Options) + "\n");

    /// <summary>Reads a JSON file written by <see cref="WriteJson{T}"/>; <see langword="default"/> when the file does not exist.</summary>
    /// <exception cref="JsonException">The file is not valid JSON for <typeparamref name="T"/> (the message names the file).</exception>
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
            throw new JsonException($"{path}: {ex.Message}", ex);
        }
    }
}

/// <summary>The JSON conventions of every file SkillOpt writes: snake_case names, enums as snake_case strings, indented, nulls omitted.</summary>
public static class SkillOptJson
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
