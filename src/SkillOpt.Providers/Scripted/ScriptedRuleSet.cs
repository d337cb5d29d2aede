using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SkillOpt.Core.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SkillOpt.Providers.Scripted;

/// <summary>A rules file that the <see cref="ScriptedChatClient"/> cannot use, with the file, line and column (1-based) of the problem (code SKOPT2201).</summary>
internal sealed class ScriptedRulesException : SkillOpt.Core.FileDiagnosticException
{
    /// <summary>Diagnostic code of every rules-file error.</summary>
    public const string DiagnosticCode = DiagnosticCodes.ScriptedRules;

    /// <summary>Creates the exception.</summary>
    /// <param name="file">The rules file.</param>
    /// <param name="line">1-based line (0 when unknown).</param>
    /// <param name="column">1-based column (0 when unknown).</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public ScriptedRulesException(string file, int line, int column, string detail, Exception? inner = null)
        : base(DiagnosticCode, file, line, column, detail, inner)
    {
    }
}

/// <summary>A tool call a rule makes the scripted model request.</summary>
/// <param name="Name">Tool name.</param>
/// <param name="Arguments">Arguments as a JSON object (string values may hold <c>$1</c>-style substitutions).</param>
internal sealed record ScriptedToolCall(string Name, JsonObject Arguments);

/// <summary>
/// One rule: conditions on the request (all must hold), an optional list of keywords the skill must contain, and what to
/// answer. Text conditions are ordinal and case-sensitive; regular expressions use .NET syntax.
/// </summary>
internal sealed record ScriptedRule
{
    /// <summary>Optional name, shown in diagnostics.</summary>
    public string? Name { get; init; }
    /// <summary>1-based line of the rule in its file.</summary>
    public int Line { get; init; }
    /// <summary>Regex the last user message must match (its groups feed substitutions).</summary>
    public Regex? UserMatches { get; init; }
    /// <summary>Texts the last user message must contain.</summary>
    public IReadOnlyList<string> UserContains { get; init; } = [];
    /// <summary>Texts the last user message must not contain.</summary>
    public IReadOnlyList<string> UserLacks { get; init; } = [];
    /// <summary>Texts the system message (the skill) must contain for the rule to apply.</summary>
    public IReadOnlyList<string> SystemContains { get; init; } = [];
    /// <summary>Texts the system message must not contain for the rule to apply.</summary>
    public IReadOnlyList<string> SystemLacks { get; init; } = [];
    /// <summary>Name of the JSON schema the request asks for (<c>ChatResponseFormatJson.SchemaName</c>, e.g. <c>skillopt_reflection</c>).</summary>
    public string? Schema { get; init; }
    /// <summary>Role of the last message: <c>user</c> or <c>tool</c>.</summary>
    public string? LastRole { get; init; }
    /// <summary>Regex the last tool result must match (its groups feed substitutions when set).</summary>
    public Regex? ToolResultMatches { get; init; }
    /// <summary>Keyword-target mode: keywords the skill must all contain for <see cref="Reply"/>; otherwise <see cref="Otherwise"/> is answered.</summary>
    public IReadOnlyList<string> Requires { get; init; } = [];
    /// <summary>Reply text (substitutions: <c>$1</c>, <c>${name}</c>, <c>$$</c>).</summary>
    public string? Reply { get; init; }
    /// <summary>Tool calls to request instead of (or with) a reply.</summary>
    public IReadOnlyList<ScriptedToolCall> ToolCalls { get; init; } = [];
    /// <summary>Reply when <see cref="Requires"/> is not met; <see langword="null"/> uses the file's <c>default</c>.</summary>
    public string? Otherwise { get; init; }
}

/// <summary>
/// The rules of a <see cref="ScriptedChatClient"/>, loaded from a YAML or JSON file (see docs/verifiers.md, "Scripted
/// models"). Top-level keys: <c>default</c>, <c>latency_ms</c>, <c>rules</c> and <c>keyword_target</c>.
/// </summary>
internal sealed class ScriptedRuleSet
{
    private static readonly string[] TopKeys = ["default", "latency_ms", "rules", "keyword_target"];
    private static readonly string[] RuleKeys = ["name", "when", "requires", "reply", "reply_json", "tool_calls", "otherwise"];
    private static readonly string[] WhenKeys = ["user_matches", "user_contains", "user_lacks", "system_contains", "system_lacks", "schema", "last_role", "tool_result_matches"];
    private static readonly string[] KeywordKeys = ["name", "task", "needs", "answer", "wrong"];

    /// <summary>Rules, tried in order; the first whose conditions hold answers.</summary>
    public IReadOnlyList<ScriptedRule> Rules { get; init; } = [];

    /// <summary>Reply when no rule matches (default: <c>I don't know.</c>).</summary>
    public string Default { get; init; } = "I don't know.";

    /// <summary>Delay before each reply (simulated latency).</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Loads a rules file.</summary>
    /// <param name="path">YAML or JSON file.</param>
    /// <exception cref="ScriptedRulesException">The file is missing or invalid.</exception>
    public static ScriptedRuleSet Load(string path)
    {
        if (Directory.Exists(path))
        {
            throw new ScriptedRulesException(path, 0, 0, "names a folder, not a rules file (models.<role>.endpoint names the scripted model's YAML or JSON rules file)");
        }
        if (!System.IO.File.Exists(path))
        {
            throw new ScriptedRulesException(path, 0, 0, "the scripted model's rules file does not exist (models.<role>.endpoint names it; relative paths are resolved against the configuration file's folder)");
        }
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ScriptedRulesException(path, 0, 0, $"the scripted model's rules file cannot be read: {ex.Message}", ex);
        }
        return Parse(text, path);
    }

    /// <summary>Parses rules from YAML or JSON text.</summary>
    /// <param name="text">The rules.</param>
    /// <param name="fileName">Name used in error messages.</param>
    /// <exception cref="ScriptedRulesException">The text is invalid.</exception>
    public static ScriptedRuleSet Parse(string text, string fileName)
    {
        YamlStream stream;
        try
        {
            stream = YamlNesting.Load(text, "a rules file");
        }
        catch (MalformedYamlException ex)
        {
            throw new ScriptedRulesException(fileName, ex.Line, ex.Column, ex.Message, ex.InnerException ?? ex);
        }
        if (stream.Documents.Count == 0)
        {
            return new ScriptedRuleSet();
        }
        if (stream.Documents.Count > 1)
        {
            throw Error(fileName, stream.Documents[1].RootNode, "the file holds several YAML documents (---); keep one (the rules of the others would be ignored)");
        }
        var root = stream.Documents[0].RootNode as YamlMappingNode ?? throw Error(fileName, stream.Documents[0].RootNode, "the rules file must be a mapping with 'rules', 'keyword_target', 'default' and 'latency_ms'");
        CheckKeys(fileName, root, TopKeys, "");
        var rules = new List<ScriptedRule>();
        if (Child(root, "rules") is { } list)
        {
            foreach (var item in Sequence(fileName, list, "rules"))
            {
                rules.Add(ParseRule(fileName, item));
            }
        }
        if (Child(root, "keyword_target") is { } kt)
        {
            foreach (var item in Sequence(fileName, kt, "keyword_target"))
            {
                rules.Add(ParseKeywordTarget(fileName, item));
            }
        }
        var latency = Child(root, "latency_ms") is { } l ? LatencyMs(fileName, l) : 0;
        return new ScriptedRuleSet
        {
            Rules = rules,
            Default = Child(root, "default") is { } d ? Scalar(fileName, d, "default") : "I don't know.",
            Latency = TimeSpan.FromMilliseconds(latency),
        };
    }

    private static ScriptedRule ParseRule(string file, YamlNode node)
    {
        var map = node as YamlMappingNode ?? throw Error(file, node, "each rule must be a mapping");
        CheckKeys(file, map, RuleKeys, "rules[].");
        var rule = new ScriptedRule { Name = Opt(file, map, "name"), Line = (int)map.Start.Line };
        if (Child(map, "when") is { } whenNode)
        {
            var when = whenNode as YamlMappingNode ?? throw Error(file, whenNode, "'when' must be a mapping");
            CheckKeys(file, when, WhenKeys, "rules[].when.");
            var lastRole = Opt(file, when, "last_role");
            if (lastRole is not null and not ("user" or "tool"))
            {
                throw Error(file, Child(when, "last_role")!, "last_role must be 'user' or 'tool'");
            }
            rule = rule with
            {
                UserMatches = Regex(file, when, "user_matches"),
                UserContains = Strings(file, when, "user_contains"),
                UserLacks = Strings(file, when, "user_lacks"),
                SystemContains = Strings(file, when, "system_contains"),
                SystemLacks = Strings(file, when, "system_lacks"),
                Schema = Opt(file, when, "schema"),
                LastRole = lastRole,
                ToolResultMatches = Regex(file, when, "tool_result_matches"),
            };
        }
        var reply = Opt(file, map, "reply");
        if (Child(map, "reply_json") is { } json)
        {
            if (reply is not null)
            {
                throw Error(file, json, "a rule has either 'reply' or 'reply_json', not both");
            }
            reply = ToJson(file, json, "reply_json")?.ToJsonString() ?? "null";
        }
        var calls = new List<ScriptedToolCall>();
        if (Child(map, "tool_calls") is { } tc)
        {
            foreach (var c in Sequence(file, tc, "tool_calls"))
            {
                var cm = c as YamlMappingNode ?? throw Error(file, c, "each tool call must be a mapping with 'name' and 'arguments'");
                CheckKeys(file, cm, ["name", "arguments"], "rules[].tool_calls[].");
                var name = Opt(file, cm, "name") ?? throw Error(file, cm, "a tool call needs a 'name'");
                var args = Child(cm, "arguments") is { } a ? ToJson(file, a, "arguments") as JsonObject ?? throw Error(file, a, "'arguments' must be a mapping") : [];
                calls.Add(new ScriptedToolCall(name, args));
            }
        }
        if (reply is null && calls.Count == 0)
        {
            throw Error(file, map, $"rule{(rule.Name is null ? "" : $" '{rule.Name}'")} needs a 'reply', 'reply_json' or 'tool_calls'");
        }
        return rule with { Requires = Strings(file, map, "requires"), Reply = reply, ToolCalls = calls, Otherwise = Opt(file, map, "otherwise") };
    }

    private static ScriptedRule ParseKeywordTarget(string file, YamlNode node)
    {
        var map = node as YamlMappingNode ?? throw Error(file, node, "each keyword_target entry must be a mapping with 'task', 'needs' and 'answer'");
        CheckKeys(file, map, KeywordKeys, "keyword_target[].");
        var task = Child(map, "task") is null ? throw Error(file, map, "a keyword_target entry needs 'task' (a regex on the task text)") : Regex(file, map, "task");
        var needs = Strings(file, map, "needs");
        if (needs.Count == 0)
        {
            throw Error(file, map, "a keyword_target entry needs 'needs' (the keyword or keywords the skill must contain)");
        }
        return new ScriptedRule
        {
            Name = Opt(file, map, "name"),
            Line = (int)map.Start.Line,
            UserMatches = task,
            Requires = needs,
            Reply = Opt(file, map, "answer") ?? throw Error(file, map, "a keyword_target entry needs 'answer'"),
            Otherwise = Opt(file, map, "wrong"),
        };
    }

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    private static void CheckKeys(string file, YamlMappingNode map, string[] allowed, string prefix)
    {
        foreach (var k in map.Children.Keys)
        {
            var name = (k as YamlScalarNode)?.Value ?? "?";
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                throw Error(file, k, $"unknown key '{prefix}{name}' (known keys: {string.Join(", ", allowed)})");
            }
        }
    }

    private static IEnumerable<YamlNode> Sequence(string file, YamlNode node, string key) =>
        node as YamlSequenceNode ?? throw Error(file, node, $"'{key}' must be a list");

    private static string Scalar(string file, YamlNode node, string key) =>
        (node as YamlScalarNode)?.Value ?? throw Error(file, node, $"'{key}' must be a text value");

    private static string? Opt(string file, YamlMappingNode map, string key) => Child(map, key) is { } n ? Scalar(file, n, key) : null;

    private static IReadOnlyList<string> Strings(string file, YamlMappingNode map, string key) => Child(map, key) switch
    {
        null => [],
        YamlScalarNode s => [s.Value ?? ""],
        YamlSequenceNode seq => seq.Select(n => Scalar(file, n, key)).ToList(),
        var other => throw Error(file, other, $"'{key}' must be a text or a list of texts"),
    };

    private static Regex? Regex(string file, YamlMappingNode map, string key)
    {
        var pattern = Opt(file, map, key);
        if (pattern is null)
        {
            return null;
        }
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            throw Error(file, Child(map, key)!, $"'{key}' is not a valid regular expression: {ex.Message}");
        }
    }

    /// <summary>The most <c>latency_ms</c> may be: a day, the longest a rollout may last (<c>rollouts.timeout_seconds</c>).</summary>
    private const double MaxLatencyMs = 86_400_000;

    /// <summary><c>latency_ms</c>: a finite number of milliseconds from 0 to <see cref="MaxLatencyMs"/> (more would overflow the delay).</summary>
    private static double LatencyMs(string file, YamlNode node) =>
        double.TryParse(Scalar(file, node, "latency_ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v is >= 0 and <= MaxLatencyMs
            ? v
            : throw Error(file, node, $"'latency_ms' must be a number from 0 to {MaxLatencyMs.ToString("N0", CultureInfo.InvariantCulture)} (milliseconds; a day at most)");

    /// <summary>Converts YAML to JSON: plain scalars that read as numbers, booleans or null become those; everything else is a string.</summary>
    /// <param name="file">The rules file, for errors.</param>
    /// <param name="node">The value.</param>
    /// <param name="key">The key it is under (<c>reply_json</c>, <c>arguments</c>), for errors.</param>
    private static JsonNode? ToJson(string file, YamlNode node, string key) => node switch
    {
        YamlMappingNode m => ToJsonObject(file, m, key),
        YamlSequenceNode s => new JsonArray(s.Children.Select(c => ToJson(file, c, key)).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } p => PlainScalar(p.Value),
        YamlScalarNode q => JsonValue.Create(q.Value ?? ""),
        _ => null,
    };

    private static JsonObject ToJsonObject(string file, YamlMappingNode map, string key)
    {
        var obj = new JsonObject();
        foreach (var (k, v) in map.Children)
        {
            var name = (k as YamlScalarNode ?? throw Error(file, k, $"a key in '{key}' must be a text, not a list or mapping")).Value ?? "";
            // YAML tells keys apart by their tags too ('a' and '!!str a'); JSON only by name
            if (!obj.TryAdd(name, ToJson(file, v, key)))
            {
                throw Error(file, k, $"the key '{name}' is written twice in '{key}'");
            }
        }
        return obj;
    }

    private static JsonNode? PlainScalar(string? v) =>
        v is null or "null" or "~" or "" ? null
        : v is "true" or "false" ? JsonValue.Create(v == "true")
        : long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? JsonValue.Create(i)
        : double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? JsonValue.Create(d)
        : JsonValue.Create(v);

    private static ScriptedRulesException Error(string file, YamlNode node, string message) =>
        new(file, (int)node.Start.Line, (int)node.Start.Column, message);

    internal static JsonSerializerOptions Json { get; } = new() { WriteIndented = false };
}
