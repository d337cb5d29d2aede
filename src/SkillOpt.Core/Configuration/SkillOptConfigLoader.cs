using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace SkillOpt.Core.Configuration;

/// <summary>
/// A configuration error that names the file, the line and column (1-based) and the key:
/// <c>file(line,col): error SKOPT1xxx: message</c>. Codes: SKOPT1001 unknown key, SKOPT1002 invalid value,
/// SKOPT1003 malformed YAML, SKOPT1004 file missing (no line).
/// </summary>
public sealed class SkillOptConfigException : FileDiagnosticException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">SKOPT1001–SKOPT1004.</param>
    /// <param name="file">The configuration file.</param>
    /// <param name="line">1-based line (0 when the file is missing).</param>
    /// <param name="column">1-based column.</param>
    /// <param name="key">Dotted key path, when the error concerns one key.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="inner">The YamlDotNet error, if any.</param>
    public SkillOptConfigException(string code, string file, int line, int column, string? key, string message, Exception? inner = null)
        : base(code, file, line, column, message, inner) => Key = key;

    /// <summary>Dotted key path, e.g. <c>training.epochs</c>, when the error concerns one key.</summary>
    public string? Key { get; }
}

/// <summary>Loads <c>skillopt.yaml</c> with YamlDotNet: snake_case keys, unknown keys and wrong types are errors with file, line and key.</summary>
public static class SkillOptConfigLoader
{
    private static readonly INamingConvention Naming = UnderscoredNamingConvention.Instance;

    /// <summary>Loads and validates the file at <paramref name="path"/> and applies its preset.</summary>
    /// <exception cref="SkillOptConfigException">The file is missing, malformed, has an unknown key or an invalid value.</exception>
    public static SkillOptOptions Load(string path)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new SkillOptConfigException("SKOPT1004", path, 0, 0, null, "the configuration file does not exist");
        }
        return Parse(System.IO.File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates YAML text (<paramref name="fileName"/> is used in messages) and applies its preset.</summary>
    /// <exception cref="SkillOptConfigException">Malformed YAML, an unknown key or an invalid value.</exception>
    public static SkillOptOptions Parse(string yaml, string fileName)
    {
        var keys = IndexKeys(yaml, fileName);
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

    private sealed record KeyInfo(string Path, Mark KeyStart, Mark ValueStart, string? ScalarValue);

    private static List<KeyInfo> IndexKeys(string yaml, string fileName)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new SkillOptConfigException("SKOPT1003", fileName, (int)ex.Start.Line, (int)ex.Start.Column, null, $"malformed YAML: {Inner(ex).Message}", ex);
        }
        var list = new List<KeyInfo>();
        if (stream.Documents.Count > 0)
        {
            Walk(stream.Documents[0].RootNode, "", list);
        }
        return list;
    }

    private static void Walk(YamlNode node, string prefix, List<KeyInfo> list)
    {
        if (node is not YamlMappingNode map)
        {
            return;
        }
        foreach (var (k, v) in map.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "?";
            var path = prefix.Length == 0 ? name : prefix + "." + name;
            list.Add(new KeyInfo(path, k.Start, v.Start, (v as YamlScalarNode)?.Value));
            Walk(v, path, list);
        }
    }

    private static SkillOptConfigException Translate(YamlException ex, List<KeyInfo> keys, string fileName)
    {
        var at = keys.FirstOrDefault(k => SameMark(k.KeyStart, ex.Start));
        if (at is not null && Inner(ex).Message.Contains("not found", StringComparison.OrdinalIgnoreCase))
        {
            var parent = at.Path.Contains('.') ? at.Path[..at.Path.LastIndexOf('.')] : null;
            var name = at.Path[(at.Path.LastIndexOf('.') + 1)..];
            var known = KnownKeys(parent);
            var hint = Closest(name, known) is { } c ? $" (did you mean '{c}'?)" : known.Count > 0 ? $" (known keys: {string.Join(", ", known)})" : "";
            return new SkillOptConfigException("SKOPT1001", fileName, (int)ex.Start.Line, (int)ex.Start.Column, at.Path,
                $"unknown key '{name}'{(parent is null ? "" : $" in '{parent}'")}{hint}", ex);
        }
        var valueAt = keys.FirstOrDefault(k => SameMark(k.ValueStart, ex.Start)) ?? at;
        if (valueAt is not null)
        {
            var type = PropertyType(valueAt.Path);
            var expected = type is null ? "" : $": expected {Describe(type)}";
            return new SkillOptConfigException("SKOPT1002", fileName, (int)ex.Start.Line, (int)ex.Start.Column, valueAt.Path,
                $"invalid value{(valueAt.ScalarValue is null ? "" : $" '{valueAt.ScalarValue}'")} for key '{valueAt.Path}'{expected}", ex);
        }
        return new SkillOptConfigException("SKOPT1003", fileName, (int)ex.Start.Line, (int)ex.Start.Column, null, Inner(ex).Message, ex);
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

    private static Type? TypeOf(string? path)
    {
        Type? t = typeof(SkillOptOptions);
        if (string.IsNullOrEmpty(path))
        {
            return t;
        }
        foreach (var part in path.Split('.'))
        {
            if (t is null)
            {
                return null;
            }
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            {
                t = t.GetGenericArguments()[1];
                continue;
            }
            t = t.GetProperties(BindingFlags.Public | BindingFlags.Instance).FirstOrDefault(p => p.CanWrite && Naming.Apply(p.Name) == part)?.PropertyType;
        }
        return t;
    }

    private static Type? PropertyType(string path) => TypeOf(path);

    private static List<string> KnownKeys(string? parent)
    {
        var t = TypeOf(parent);
        return t is null || t == typeof(string) || t.IsPrimitive
            ? []
            : t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => Naming.Apply(p.Name)).ToList();
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

    private static string Describe(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t == typeof(int) || t == typeof(long) ? "an integer"
            : t == typeof(double) || t == typeof(float) ? "a number"
            : t == typeof(bool) ? "true or false"
            : t == typeof(string) ? "a string"
            : "a mapping of keys";
    }

    private static void Validate(SkillOptOptions o, List<KeyInfo> keys, string fileName)
    {
        void Fail(string path, string message)
        {
            var k = keys.FirstOrDefault(x => x.Path == path);
            var (line, column) = k is null ? (1, 1) : k.ScalarValue is null ? ((int)k.KeyStart.Line, (int)k.KeyStart.Column) : ((int)k.ValueStart.Line, (int)k.ValueStart.Column);
            throw new SkillOptConfigException("SKOPT1002", fileName, line, column, path,
                $"invalid value{(k?.ScalarValue is null ? "" : $" '{k.ScalarValue}'")} for key '{path}': {message}");
        }
        void Positive(string path, int v) { if (v < 1) { Fail(path, "must be at least 1"); } }
        void Ratio(string path, double v) { if (v is < 0 or > 1 || double.IsNaN(v)) { Fail(path, "must be between 0 and 1"); } }
        void OneOf(string path, string? v, params string[] allowed)
        {
            if (v is not null && !allowed.Contains(v, StringComparer.OrdinalIgnoreCase))
            {
                Fail(path, $"expected one of {string.Join(", ", allowed)}");
            }
        }

        OneOf("preset", o.Preset, "default", "classic");
        var t = o.Training;
        Positive("training.epochs", t.Epochs);
        Positive("training.batch_size", t.BatchSize);
        Positive("training.minibatch_size", t.MinibatchSize);
        if (t.MergeFanIn < 2) { Fail("training.merge_fan_in", "must be at least 2"); }
        Positive("training.optimizer_concurrency", t.OptimizerConcurrency);
        OneOf("training.learning_rate.schedule", t.LearningRate.Schedule, "constant", "linear", "cosine");
        Positive("training.learning_rate.min", t.LearningRate.Min);
        if (t.LearningRate.Max < t.LearningRate.Min) { Fail("training.learning_rate.max", $"must be at least training.learning_rate.min ({t.LearningRate.Min})"); }
        Positive("training.slow_update.sample_size", t.SlowUpdate.SampleSize);
        Positive("training.slow_update.max_words", t.SlowUpdate.MaxWords);
        Positive("training.meta_skill.max_words", t.MetaSkill.MaxWords);
        if (t.Proposals < 1) { Fail("training.proposals", "must be at least 1"); }
        if (t.Proposals > 1 && !(o.Gate.Prescreen.Enabled ?? !o.IsClassic)) { Fail("training.proposals", "more than 1 needs gate.prescreen.enabled, which chooses the proposal to gate"); }
        if (t.EarlyStopping.Patience < 0) { Fail("training.early_stopping.patience", "must be 0 (never stop early) or more"); }
        if (t.EarlyStopping.Ceiling == true && (o.Gate.Kind ?? (o.IsClassic ? "strict" : "paired")) != "paired") { Fail("training.early_stopping.ceiling", "needs gate.kind: paired, whose acceptance boundary it checks"); }
        OneOf("training.rejected_edits.scope", t.RejectedEdits.Scope, "run", "epoch");
        if (o.Skill.TokenBudget < 0) { Fail("skill.token_budget", "must be 0 (unlimited) or more"); }
        if (o.Skill.DuplicateSimilarity < 0) { Fail("skill.duplicate_similarity", "must not be negative"); }
        OneOf("skill.matching", o.Skill.Matching, "strict", "classic");
        OneOf("gate.kind", o.Gate.Kind, "strict", "paired");
        if (o.Gate.Alpha is <= 0 or > 0.5 || double.IsNaN(o.Gate.Alpha)) { Fail("gate.alpha", "must be in (0, 0.5]"); }
        Positive("gate.chunk_size", o.Gate.ChunkSize);
        Positive("gate.max_draws", o.Gate.MaxDraws);
        if (o.Gate.AlternativeWinShare is <= 0.5 or >= 1 || double.IsNaN(o.Gate.AlternativeWinShare)) { Fail("gate.alternative_win_share", "must be in (0.5, 1)"); }
        if (o.Gate.Power is <= 0 or >= 1 || double.IsNaN(o.Gate.Power)) { Fail("gate.power", "must be in (0, 1)"); }
        Positive("gate.veto_min_samples", o.Gate.VetoMinSamples);
        if (o.Gate.CombineInconclusive < 0) { Fail("gate.combine_inconclusive", "must be 0 (off) or more"); }
        if (o.Gate.Prescreen.FailedTasks < 1) { Fail("gate.prescreen.failed_tasks", "must be at least 1"); }
        if (o.Gate.Prescreen.PassedTasks < 0) { Fail("gate.prescreen.passed_tasks", "must be 0 or more"); }
        if (o.Gate.Posterior.Threshold is <= 0.5 or >= 1 || double.IsNaN(o.Gate.Posterior.Threshold)) { Fail("gate.posterior.threshold", "must be in (0.5, 1)"); }
        if (!(o.Gate.Posterior.Prior > 0) || double.IsInfinity(o.Gate.Posterior.Prior)) { Fail("gate.posterior.prior", "must be positive"); }
        if (o.Gate.Posterior.StopProbability is < 0 or >= 0.5 || double.IsNaN(o.Gate.Posterior.StopProbability)) { Fail("gate.posterior.stop_probability", "must be in [0, 0.5)"); }
        Positive("gate.posterior.max_draws", o.Gate.Posterior.MaxDraws);
        if (o.Approval.Alpha is <= 0 or > 0.5 || double.IsNaN(o.Approval.Alpha)) { Fail("approval.alpha", "must be in (0, 0.5]"); }
        Positive("approval.test_draws", o.Approval.TestDraws);
        if (o.Budget.MaxTargetCalls < 1) { Fail("budget.max_target_calls", "must be at least 1"); }
        if (o.Budget.MaxOptimizerCalls < 1) { Fail("budget.max_optimizer_calls", "must be at least 1"); }
        if (o.Budget.MaxTokens < 1) { Fail("budget.max_tokens", "must be at least 1"); }
        if (o.Budget.MaxCostUsd <= 0) { Fail("budget.max_cost_usd", "must be positive"); }
        if (o.Budget.MaxCostUsd is not null && !o.Pricing.ContainsKey(o.Models.Target.Model) && !o.Pricing.ContainsKey(o.Models.Optimizer.Model)) { Fail("budget.max_cost_usd", "needs a 'pricing' entry for the target or optimizer model"); }
        if (o.Budget.MaxWallSeconds <= 0) { Fail("budget.max_wall_seconds", "must be positive"); }
        if (o.Rollouts.ErroredRetries < 0) { Fail("rollouts.errored_retries", "must be 0 or more"); }
        Ratio("rollouts.max_error_rate", o.Rollouts.MaxErrorRate);
        Positive("rollouts.concurrency", o.Rollouts.Concurrency);
        if (o.Rollouts.TimeoutSeconds <= 0) { Fail("rollouts.timeout_seconds", "must be positive"); }
        Ratio("splits.train", o.Splits.Train);
        Ratio("splits.val", o.Splits.Val);
        Ratio("splits.test", o.Splits.Test);
        if (Math.Abs(o.Splits.Train + o.Splits.Val + o.Splits.Test - 1) > 1e-6) { Fail("splits", "train + val + test must equal 1"); }
        if (o.Splits.Val <= 0) { Fail("splits.val", "the validation split must not be empty"); }
        foreach (var (role, m) in new[] { ("target", o.Models.Target), ("optimizer", o.Models.Optimizer) })
        {
            OneOf($"models.{role}.provider", m.Provider.Length == 0 ? null : m.Provider, "openai", "openai-compatible", "azure-openai", "anthropic", "scripted", "simlab");
            Positive($"models.{role}.concurrency", m.Concurrency);
            if (m.Temperature is < 0 or > 2) { Fail($"models.{role}.temperature", "must be between 0 and 2"); }
            if (m.MaxOutputTokens is < 1) { Fail($"models.{role}.max_output_tokens", "must be at least 1"); }
            if (m.TimeoutSeconds <= 0) { Fail($"models.{role}.timeout_seconds", "must be positive"); }
        }
    }
}
