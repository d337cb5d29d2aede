// Longer than 400 lines: one YAML walk that locates every error (file, line, column, key) for every section of skillopt.yaml; the ranges are in ConfigRanges.
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace SkillOpt.Core.Configuration;

/// <summary>
/// Loads <c>skillopt.yaml</c>: snake_case keys; an unknown key, a section that is empty or not a mapping, a value of the
/// wrong type or outside its documented range (<see cref="ConfigRanges"/>) is a <see cref="SkillOptConfigException"/> with
/// the file, line, column and key, whatever the shape of the YAML.
/// </summary>
internal static partial class SkillOptConfigLoader
{
    private static readonly INamingConvention Naming = UnderscoredNamingConvention.Instance;
    /// <summary>The deepest nesting of collections a configuration may have (<see cref="YamlNesting.MaxDepth"/>); deeper is SKOPT1003.</summary>
    public const int MaxNestingDepth = YamlNesting.MaxDepth;

    private static readonly string[] Providers = ["openai", "openai-compatible", "azure-openai", "anthropic", "scripted", "simlab"];

    /// <summary>Loads and validates the file at <paramref name="path"/> and applies its preset.</summary>
    /// <param name="path">The configuration file.</param>
    /// <returns>The options with every preset-dependent setting filled.</returns>
    /// <exception cref="SkillOptConfigException">The file is missing or unreadable (SKOPT1004), malformed (SKOPT1003), has an unknown key (SKOPT1001) or an invalid value (SKOPT1002).</exception>
    public static SkillOptOptions Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!System.IO.File.Exists(path))
        {
            throw new SkillOptConfigException(DiagnosticCodes.ConfigFileUnreadable, path, 0, 0, null,
                Directory.Exists(path) ? "the configuration path is a folder, not a file" : "the configuration file does not exist");
        }
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SkillOptConfigException(DiagnosticCodes.ConfigFileUnreadable, path, 0, 0, null, $"the configuration file cannot be read: {ex.Message}", ex);
        }
        return Parse(text, path);
    }

    /// <summary>Parses and validates YAML text (<paramref name="fileName"/> is used in messages) and applies its preset.</summary>
    /// <param name="yaml">The file's text.</param>
    /// <param name="fileName">The file named in errors.</param>
    /// <returns>The options with every preset-dependent setting filled.</returns>
    /// <exception cref="SkillOptConfigException">Malformed YAML (SKOPT1003), an unknown key (SKOPT1001) or an invalid value (SKOPT1002).</exception>
    public static SkillOptOptions Parse(string yaml, string fileName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var keys = new List<KeyInfo>();
        var root = ReadRoot(yaml, fileName);
        if (root is null)
        {
            return new SkillOptOptions().ApplyPreset();
        }
        new SchemaWalker(fileName, keys).Mapping((YamlMappingNode)root, typeof(SkillOptOptions), "", "");
        var deserializer = new DeserializerBuilder().WithNamingConvention(Naming).Build();
        SkillOptOptions options;
        try
        {
            options = deserializer.Deserialize<SkillOptOptions?>(yaml) ?? new SkillOptOptions();
        }
        catch (YamlException ex)
        {
            throw Translate(ex, keys, fileName);
        }
        Validate(options, keys, fileName);
        return options.ApplyPreset();
    }

    /// <summary>
    /// Checks the environment overrides of the model roles (<c>SKILLOPT_{ROLE}_PROVIDER</c>, <c>_MODEL</c>, <c>_ENDPOINT</c>,
    /// <c>_API_KEY_ENV</c>) with the rules of the keys they override, before any model call. An empty variable counts as unset.
    /// </summary>
    /// <param name="options">The loaded options (the file's values the variables override).</param>
    /// <param name="environment">Reads a variable by name (<see langword="null"/> when unset).</param>
    /// <exception cref="SkillOptConfigException">SKOPT1005 naming the variable and what it must hold.</exception>
    public static void CheckEnvironment(SkillOptOptions options, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        foreach (var (role, m) in new[] { ("target", options.Models.Target), ("optimizer", options.Models.Optimizer) })
        {
            string? Var(string setting, out string name)
            {
                name = $"SKILLOPT_{role.ToUpperInvariant()}_{setting}";
                var v = environment(name);
                return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
            }
            void Fail(string name, string value, string message) =>
                throw new SkillOptConfigException(DiagnosticCodes.ConfigInvalidEnvironment, "skillopt", 0, 0, name, $"the environment variable {name}='{Shorten(value)}' is invalid: {message}");

            var provider = Var("PROVIDER", out var providerVar);
            if (provider is not null && !Providers.Contains(provider, StringComparer.OrdinalIgnoreCase))
            {
                Fail(providerVar, provider, $"expected one of {string.Join(", ", Providers)} (it overrides models.{role}.provider)");
            }
            var effective = (provider ?? m.Provider).Trim();
            if (Var("ENDPOINT", out var endpointVar) is { } endpoint && EndpointProblem(effective, endpoint) is { } why)
            {
                Fail(endpointVar, endpoint, why + $" (it overrides models.{role}.endpoint)");
            }
            if (Var("API_KEY_ENV", out var keyVar) is { } keyEnv && !VariableName().IsMatch(keyEnv))
            {
                // The value is not quoted: a key pasted here by mistake must not reach the output.
                throw new SkillOptConfigException(DiagnosticCodes.ConfigInvalidEnvironment, "skillopt", 0, 0, keyVar,
                    $"the environment variable {keyVar} is invalid: expected the name of an environment variable (letters, digits and '_', not starting with a digit), never the key itself (it overrides models.{role}.api_key_env)");
            }
            if (Var("MODEL", out var modelVar) is { } model && model.Length > 256)
            {
                Fail(modelVar, model, "a model id has at most 256 characters");
            }
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex VariableName();

    private static string Shorten(string value) => value.Length > 60 ? value[..60] + "…" : value;

    /// <summary>Why <paramref name="endpoint"/> is not a valid endpoint for <paramref name="provider"/>, or <see langword="null"/>.</summary>
    private static string? EndpointProblem(string provider, string endpoint) =>
        string.Equals(provider, "scripted", StringComparison.OrdinalIgnoreCase)
            ? null // the rules file's path
            : Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                ? null
                : "expected an absolute http:// or https:// URL";

    private sealed record KeyInfo(string Path, Mark KeyStart, Mark ValueStart, string? ScalarValue);

    /// <summary>The root mapping, or <see langword="null"/> for an empty file.</summary>
    private static YamlNode? ReadRoot(string yaml, string fileName)
    {
        YamlStream stream;
        try
        {
            stream = YamlNesting.Load(yaml, "a configuration");
        }
        catch (MalformedYamlException ex)
        {
            throw new SkillOptConfigException(DiagnosticCodes.ConfigMalformedYaml, fileName, ex.Line, ex.Column, null, ex.Message, ex.InnerException ?? ex);
        }
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            throw new SkillOptConfigException(DiagnosticCodes.ConfigMalformedYaml, fileName, Line(second), Column(second), null,
                "the file holds several YAML documents (---); keep one");
        }
        var root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        if (root is null || SchemaWalker.IsNull(root))
        {
            return null;
        }
        if (root is not YamlMappingNode)
        {
            throw new SkillOptConfigException(DiagnosticCodes.ConfigInvalidValue, fileName, Line(root.Start), Column(root.Start), null,
                $"the file must be a mapping of keys (preset:, training:, models:, …), not {SchemaWalker.Describe(root)}");
        }
        return root;
    }

    private static int Line(Mark m) => (int)Math.Clamp(m.Line, 1, int.MaxValue);
    private static int Column(Mark m) => (int)Math.Clamp(m.Column, 1, int.MaxValue);

    /// <summary>Checks the node tree against the option types: known keys, mappings where sections are, typed and in-range scalars.</summary>
    private sealed class SchemaWalker(string fileName, List<KeyInfo> keys)
    {
        // one per walk: NullabilityInfoContext caches without locks and is not safe for concurrent use (bench runs and tests load
        // configurations in parallel)
        private readonly NullabilityInfoContext _nullability = new();

        public static bool IsNull(YamlNode node) =>
            node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

        public static string Describe(YamlNode node) => node switch
        {
            YamlSequenceNode => "a list",
            YamlMappingNode => "a mapping",
            YamlScalarNode s when IsNull(s) => "null",
            YamlScalarNode s => $"the value '{Shorten(s.Value ?? "")}'",
            _ => "an unsupported node",
        };

        public void Mapping(YamlMappingNode map, Type type, string path, string schemaPath)
        {
            var dictionaryValue = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) ? type.GetGenericArguments()[1] : null;
            foreach (var (k, v) in map.Children)
            {
                if (k is not YamlScalarNode { Value: { Length: > 0 } name } || IsNull(k))
                {
                    throw new SkillOptConfigException(DiagnosticCodes.ConfigUnknownKey, fileName, Line(k.Start), Column(k.Start), path.Length == 0 ? null : path,
                        $"a key{(path.Length == 0 ? "" : $" in '{path}'")} must be a name, not {Describe(k)}");
                }
                var keyPath = path.Length == 0 ? name : path + "." + name;
                keys.Add(new KeyInfo(keyPath, k.Start, v.Start, v is YamlScalarNode s ? s.Value : null));
                if (dictionaryValue is not null)
                {
                    Value(v, dictionaryValue, nullable: false, keyPath, schemaPath + ".*", k.Start);
                    continue;
                }
                var property = Properties(type).FirstOrDefault(p => Naming.Apply(p.Name) == name);
                if (property is null)
                {
                    var known = Properties(type).Select(p => Naming.Apply(p.Name)).ToList();
                    var hint = Closest(name, known) is { } c ? $" (did you mean '{c}'?)" : $" (known keys: {string.Join(", ", known)})";
                    throw new SkillOptConfigException(DiagnosticCodes.ConfigUnknownKey, fileName, Line(k.Start), Column(k.Start), keyPath,
                        $"unknown key '{name}'{(path.Length == 0 ? "" : $" in '{path}'")}{hint}");
                }
                var schema = property.PropertyType == typeof(ModelRoleOptions) ? schemaPath + ".*" : (schemaPath.Length == 0 ? name : schemaPath + "." + name);
                var nullable = Nullable.GetUnderlyingType(property.PropertyType) is not null
                    || (!property.PropertyType.IsValueType && _nullability.Create(property).WriteState == NullabilityState.Nullable);
                Value(v, property.PropertyType, nullable, keyPath, schema, k.Start);
            }
        }

        private void Value(YamlNode node, Type type, bool nullable, string path, string schemaPath, Mark keyStart)
        {
            var underlying = Nullable.GetUnderlyingType(type) ?? type;
            if (IsSection(underlying))
            {
                if (IsNull(node))
                {
                    throw Invalid(keyStart, path, null,
                        $"the section '{path}' is empty: give it keys (see docs/configuration.md), or remove it to use the defaults");
                }
                if (node is not YamlMappingNode map)
                {
                    throw Invalid(node.Start, path, null, $"'{path}' must be a mapping of keys, not {Describe(node)}");
                }
                Mapping(map, underlying, path, schemaPath);
                return;
            }
            if (node is not YamlScalarNode scalar)
            {
                throw Invalid(node.Start, path, null, $"invalid value for key '{path}': expected {Expected(underlying)}, not {Describe(node)}");
            }
            if (IsNull(scalar))
            {
                if (!nullable)
                {
                    throw Invalid(keyStart, path, null, $"invalid value for key '{path}': expected {Expected(underlying)}, not null (remove the key to use the default)");
                }
                return;
            }
            var text = scalar.Value!.Trim();
            var range = ConfigRanges.Find(schemaPath);
            if (underlying == typeof(int) || underlying == typeof(long))
            {
                if (!TryInteger(text, out var integer))
                {
                    throw Invalid(scalar.Start, path, text, $"expected {Expected(underlying)}");
                }
                var (lo, hi) = underlying == typeof(int) ? ((decimal)int.MinValue, (decimal)int.MaxValue) : (long.MinValue, long.MaxValue);
                if (integer < lo || integer > hi || (range is not null && !range.Contains((double)integer)))
                {
                    throw Invalid(scalar.Start, path, text, $"must be {(range?.ToString() ?? $"{lo} to {hi}")}");
                }
            }
            else if (underlying == typeof(double) || underlying == typeof(float))
            {
                if (!double.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    throw Invalid(scalar.Start, path, text, "expected a number");
                }
                if (!double.IsFinite(number) || (underlying == typeof(float) && Math.Abs(number) > float.MaxValue) || (range is not null && !range.Contains(number)))
                {
                    throw Invalid(scalar.Start, path, text, range is null ? "must be a finite number" : $"must be {range}");
                }
            }
            else if (underlying == typeof(bool))
            {
                if (text.ToLowerInvariant() is not ("true" or "false" or "yes" or "no" or "on" or "off"))
                {
                    throw Invalid(scalar.Start, path, text, "expected true or false");
                }
            }
        }

        private SkillOptConfigException Invalid(Mark at, string path, string? value, string message) =>
            new(DiagnosticCodes.ConfigInvalidValue, fileName, Line(at), Column(at), path,
                value is null ? message : $"invalid value '{Shorten(value)}' for key '{path}': {message}");

        private static bool IsSection(Type t) => t != typeof(string) && !t.IsValueType;

        private static string Expected(Type t) =>
            t == typeof(int) || t == typeof(long) ? "an integer"
            : t == typeof(double) || t == typeof(float) ? "a number"
            : t == typeof(bool) ? "true or false"
            : t == typeof(string) ? "a string"
            : "a mapping of keys";

        /// <summary>Integers as YAML writes them: decimal with an optional sign and '_' separators, <c>0x</c> hex, <c>0o</c> octal.</summary>
        private static bool TryInteger(string text, out decimal value)
        {
            value = 0;
            var t = text.Replace("_", "", StringComparison.Ordinal);
            var negative = t.StartsWith('-');
            if (t.StartsWith('-') || t.StartsWith('+'))
            {
                t = t[1..];
            }
            if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || t.StartsWith("0o", StringComparison.OrdinalIgnoreCase))
            {
                var hex = t[1] is 'x' or 'X';
                if (t.Length <= 2 || t.Length > 24)
                {
                    return false;
                }
                foreach (var c in t[2..])
                {
                    var digit = hex ? Convert.ToInt32(char.IsAsciiHexDigit(c) ? c.ToString() : "g", 16) : c is >= '0' and <= '7' ? c - '0' : -1;
                    if (digit < 0)
                    {
                        return false;
                    }
                    value = value * (hex ? 16 : 8) + digit;
                }
            }
            else if (t.Length == 0 || t.Length > 28 || !t.All(char.IsAsciiDigit) || !decimal.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out value))
            {
                return false;
            }
            value = negative ? -value : value;
            return true;
        }
    }

    private static IEnumerable<PropertyInfo> Properties(Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite);

    private static SkillOptConfigException Translate(YamlException ex, List<KeyInfo> keys, string fileName)
    {
        // The schema walk catches what YamlDotNet would refuse; this is the fallback for anything it does not foresee.
        var at = keys.FirstOrDefault(k => SameMark(k.ValueStart, ex.Start)) ?? keys.FirstOrDefault(k => SameMark(k.KeyStart, ex.Start));
        return at is not null
            ? new SkillOptConfigException(DiagnosticCodes.ConfigInvalidValue, fileName, Line(ex.Start), Column(ex.Start), at.Path,
                $"invalid value{(at.ScalarValue is null ? "" : $" '{Shorten(at.ScalarValue)}'")} for key '{at.Path}': {Inner(ex).Message}", ex)
            : new SkillOptConfigException(DiagnosticCodes.ConfigMalformedYaml, fileName, Line(ex.Start), Column(ex.Start), null, $"malformed YAML: {Inner(ex).Message}", ex);
    }

    private static bool SameMark(Mark a, Mark b) => a.Line == b.Line && a.Column == b.Column;

    private static Exception Inner(Exception ex)
    {
        while (ex.InnerException is YamlException or FormatException or OverflowException && ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }
        return ex;
    }

    private static string? Closest(string name, List<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var k in known)
        {
            var d = Levenshtein(name, k);
            if (d < bestDistance)
            {
                (best, bestDistance) = (k, d);
            }
        }
        return bestDistance <= Math.Max(2, name.Length / 3) ? best : null;
    }

    private static int Levenshtein(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) { d[i, 0] = i; }
        for (var j = 0; j <= b.Length; j++) { d[0, j] = j; }
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
        }
        return d[a.Length, b.Length];
    }

    /// <summary>Checks that span several keys, or choices among names; every single number was range-checked by the schema walk.</summary>
    private static void Validate(SkillOptOptions o, List<KeyInfo> keys, string fileName)
    {
        void Fail(string path, string message)
        {
            var k = keys.FirstOrDefault(x => x.Path == path);
            var (line, column) = k is null ? (1, 1) : k.ScalarValue is null ? (Line(k.KeyStart), Column(k.KeyStart)) : (Line(k.ValueStart), Column(k.ValueStart));
            throw new SkillOptConfigException(DiagnosticCodes.ConfigInvalidValue, fileName, line, column, path,
                $"invalid value{(k?.ScalarValue is null ? "" : $" '{Shorten(k.ScalarValue)}'")} for key '{path}': {message}");
        }
        void OneOf(string path, string? v, params string[] allowed)
        {
            if (v is not null && !allowed.Contains(v, StringComparer.OrdinalIgnoreCase))
            {
                Fail(path, $"expected one of {string.Join(", ", allowed)}");
            }
        }

        OneOf("preset", o.Preset, "default", "classic");
        var t = o.Training;
        OneOf("training.learning_rate.schedule", t.LearningRate.Schedule, "constant", "linear", "cosine");
        if (t.LearningRate.Max < t.LearningRate.Min) { Fail("training.learning_rate.max", $"must be at least training.learning_rate.min ({t.LearningRate.Min})"); }
        if (t.Proposals > 1 && !(o.Gate.Prescreen.Enabled ?? !o.IsClassic)) { Fail("training.proposals", "more than 1 needs gate.prescreen.enabled, which chooses the proposal to gate"); }
        OneOf("training.rejected_edits.scope", t.RejectedEdits.Scope, "run", "epoch");
        OneOf("skill.matching", o.Skill.Matching, "strict", "classic");
        OneOf("gate.kind", o.Gate.Kind, "strict", "paired", "posterior");
        OneOf("rollouts.isolation", o.Rollouts.Isolation, "worker", "process");
        if (o.Budget.MaxCostUsd is not null && Accounting.ModelPricing.Find(o.Pricing, o.Models.Target.Model) is null && Accounting.ModelPricing.Find(o.Pricing, o.Models.Optimizer.Model) is null) { Fail("budget.max_cost_usd", "needs a 'pricing' entry for the target or optimizer model"); }
        if (Math.Abs(o.Splits.Train + o.Splits.Val + o.Splits.Test - 1) > 1e-6) { Fail("splits", "train + val + test must equal 1"); }
        if (o.Splits.Val <= 0) { Fail("splits.val", "the validation split must not be empty"); }
        if (o.Splits.Test <= 0) { Fail("splits.test", "the test split must not be empty: the approval check compares the trained skill with the committed one on the test split"); }
        foreach (var (role, m) in new[] { ("target", o.Models.Target), ("optimizer", o.Models.Optimizer) })
        {
            OneOf($"models.{role}.provider", m.Provider.Length == 0 ? null : m.Provider, Providers);
            if (m.Provider.Length > 0 && m.Endpoint is { Length: > 0 } endpoint && EndpointProblem(m.Provider, endpoint) is { } why) { Fail($"models.{role}.endpoint", why); }
            if (m.ApiKeyEnv is { Length: > 0 } keyEnv && !VariableName().IsMatch(keyEnv.Trim()))
            {
                // The value is not quoted: a key pasted here by mistake must not reach the output.
                var k = keys.FirstOrDefault(x => x.Path == $"models.{role}.api_key_env");
                throw new SkillOptConfigException(DiagnosticCodes.ConfigInvalidValue, fileName, k is null ? 1 : Line(k.ValueStart), k is null ? 1 : Column(k.ValueStart), $"models.{role}.api_key_env",
                    $"invalid value for key 'models.{role}.api_key_env': expected the name of an environment variable (letters, digits and '_', not starting with a digit), never the key itself");
            }
        }
    }
}
