using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Runs;

namespace SkillOpt.Providers;

/// <summary>
/// A folder of recorded responses, one JSON file per request key (<c>{key}.json</c>), written atomically by
/// <see cref="AtomicFile"/> with secrets removed.
/// </summary>
internal sealed class RecordingStore
{
    public const int SchemaVersion = 1;
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, NewLine = "\n" };

    public RecordingStore(string directory, SecretRedactor? redactor = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
        Redactor = redactor ?? SecretRedactor.None;
    }

    public string Directory { get; }

    public SecretRedactor Redactor { get; set; }

    public string PathFor(string key) => Path.Combine(Directory, key + ".json");

    /// <summary>Reads the response recorded under <paramref name="key"/>, or returns <see langword="null"/> when there is none.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a recording.</exception>
    public ChatResponse? TryRead(string key)
    {
        var path = PathFor(key);
        if (!File.Exists(path)) return null;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path, Encoding.UTF8));
            var response = root?["response"]?.Deserialize<ChatResponse>(AIJsonUtilities.DefaultOptions);
            return response ?? throw new InvalidDataException($"The recording '{path}' has no 'response'.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The recording '{path}' is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Keeps a response in the shape of schema version 1 whichever client produced it: drops the per-message
    /// <c>createdAt</c> (the response has its own) and usage counts in <c>additionalCounts</c> that are zero (the official
    /// OpenAI client reports audio and prediction tokens as 0), so that recording the same answer again gives the same bytes.
    /// </summary>
    internal static JsonNode? Normalize(JsonNode? response)
    {
        if (response is not JsonObject root) return response;
        if (root["messages"] is JsonArray messages)
            foreach (var message in messages.OfType<JsonObject>())
                message.Remove("createdAt");
        if (root["usage"] is JsonObject usage && usage["additionalCounts"] is JsonObject counts)
        {
            foreach (var zero in counts.Where(c => c.Value is JsonValue v && v.TryGetValue<long>(out var n) && n == 0).Select(c => c.Key).ToList())
                counts.Remove(zero);
            if (counts.Count == 0) usage.Remove("additionalCounts");
        }
        return root;
    }

    /// <summary>Writes the recording of <paramref name="response"/> under <paramref name="key"/>.</summary>
    public void Write(string key, string provider, string model, string lastUserMessage, ChatResponse response)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var document = new JsonObject
        {
            ["schema_version"] = SchemaVersion,
            ["key"] = key,
            ["provider"] = provider,
            ["model"] = model,
            ["last_user_message"] = lastUserMessage,
            ["response"] = Normalize(JsonSerializer.SerializeToNode(response, AIJsonUtilities.DefaultOptions)),
        };
        string text;
        using (var stream = new MemoryStream())
        {
            using (var writer = new Utf8JsonWriter(stream, WriterOptions))
                document.WriteTo(writer);
            text = Utf8NoBom.GetString(stream.ToArray()) + "\n";
        }
        text = Redactor.Redact(text);

        AtomicFile.WriteAllText(PathFor(key), text);
    }
}
