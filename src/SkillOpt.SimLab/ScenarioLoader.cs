// Longer than 400 lines: reads and checks every section of a scenario file with its line and column, and builds the built-in scenarios.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace SkillOpt.SimLab;

/// <summary>A scenario file that cannot be used (code SKOPT2304); the message starts with <c>file(line,col):</c> where a line is known.</summary>
internal sealed class ScenarioException : SkillOpt.Core.FileDiagnosticException
{
    /// <summary>Diagnostic code of every scenario error.</summary>
    public const string DiagnosticCode = DiagnosticCodes.SimLabScenarioInvalid;

    /// <summary>Creates the exception.</summary>
    /// <param name="file">Scenario file (or <c>builtin:NAME</c>).</param>
    /// <param name="line">1-based line, 0 when unknown.</param>
    /// <param name="column">1-based column, 0 when unknown.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public ScenarioException(string file, int line, int column, string detail, Exception? inner = null)
        : base(DiagnosticCode, file, line, column, detail, inner)
    {
    }
}

/// <summary>Loads SimLab scenarios from YAML files or by built-in name (<c>gsm8k</c>, <c>gsm8k-noisy</c>, <c>synthetic-clean</c>, <c>null-optimizer</c>, <c>small-effects</c>, <c>misdiagnosis</c>, <c>null-correlated</c>).</summary>
internal static class ScenarioLoader
{
    private const string ScenarioResourcePrefix = "SkillOpt.SimLab.Scenarios.";
    private const string DataResourcePrefix = "SkillOpt.SimLab.Data.";
    private static readonly Regex NumberRegex = new(@"\d+(?:[.,]\d+)*", RegexOptions.CultureInvariant);

    private static readonly string[] DefaultUseless =
    [
        "- Read the problem calmly and take your time before answering.",
        "- Be confident in your reasoning and present it in a friendly tone.",
        "- Restate the question in your own words before you start.",
        "- Keep your explanation short and well organised.",
        "- Think about what the question is really asking.",
        "- Use clear language that a student could follow.",
    ];

    private static readonly string[] DefaultFiller =
    [
        "This matters on many similar problems.",
        "Apply this consistently, even when the problem looks easy.",
        "Doing so avoids a common source of mistakes.",
        "It costs little and prevents avoidable errors.",
        "Treat this as a habit rather than an afterthought.",
        "Make it part of your routine for every problem of this kind.",
    ];

    private static readonly string[] DefaultGuidance =
    [
        "- Keep following the procedures in this skill; they account for most solved problems.\n- When a problem still fails, reread it and make sure every stated rule above was applied.",
        "- The rules above helped on most problems; apply them in order.\n- Problems that still fail usually skipped one of the listed rules.",
    ];

    private static readonly string[] DefaultAdvice =
    [
        "Edits that add one concrete, general procedure for a failure pattern were accepted; vague encouragement was rejected. Prefer one precise rule over several broad ones.",
        "Accepted edits named a specific missing procedure. Rejected edits were generic or shortcuts. Avoid rules that skip checks.",
    ];

    /// <summary>Names of the built-in scenarios.</summary>
    public static IReadOnlyList<string> BuiltinNames { get; } = typeof(ScenarioLoader).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(ScenarioResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal))
        .Select(n => n[ScenarioResourcePrefix.Length..^".yaml".Length]).Order(StringComparer.Ordinal).ToList();

    /// <summary>Loads <paramref name="fileOrName"/>: a YAML file when one exists at that path, else a built-in scenario of that name.</summary>
    /// <exception cref="ScenarioException">No such file or built-in scenario, or the scenario is invalid.</exception>
    public static Scenario Load(string fileOrName)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileOrName);
        if (File.Exists(fileOrName))
        {
            return LoadFile(fileOrName);
        }
        if (BuiltinNames.Contains(fileOrName, StringComparer.Ordinal))
        {
            return LoadBuiltin(fileOrName);
        }
        throw new ScenarioException(fileOrName, 0, 0, $"no scenario file at this path and no built-in scenario of this name (built-in: {string.Join(", ", BuiltinNames)})");
    }

    /// <summary>Loads the scenario file at <paramref name="path"/>; data files are looked up beside it first.</summary>
    /// <exception cref="ScenarioException">The file is missing or invalid.</exception>
    public static Scenario LoadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ScenarioException(path, 0, 0, "the scenario file does not exist");
        }
        return Parse(File.ReadAllText(path), path, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Loads the built-in scenario <paramref name="name"/>.</summary>
    /// <exception cref="ScenarioException">No built-in scenario has that name.</exception>
    public static Scenario LoadBuiltin(string name)
    {
        using var stream = typeof(ScenarioLoader).Assembly.GetManifestResourceStream(ScenarioResourcePrefix + name + ".yaml")
            ?? throw new ScenarioException("builtin:" + name, 0, 0, $"no built-in scenario of this name (built-in: {string.Join(", ", BuiltinNames)})");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Parse(reader.ReadToEnd(), "builtin:" + name, null);
    }

    /// <summary>Parses and validates scenario YAML.</summary>
    /// <param name="yaml">The YAML text.</param>
    /// <param name="fileName">Name used in error messages.</param>
    /// <param name="baseDirectory">Folder relative data paths are resolved against; null looks only in SimLab's shipped data.</param>
    /// <exception cref="ScenarioException">Malformed YAML, an unknown key, a wrong type or an invalid value (with line and column).</exception>
    public static Scenario Parse(string yaml, string fileName, string? baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var index = IndexNodes(yaml, fileName);
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        Scenario scenario;
        try
        {
            scenario = deserializer.Deserialize<Scenario?>(yaml) ?? new Scenario();
        }
        catch (YamlException ex)
        {
            var inner = Innermost(ex);
            var m = Regex.Match(inner.Message, "Property '([^']+)' not found");
            var detail = m.Success ? $"unknown key '{m.Groups[1].Value}'" : $"invalid value: {inner.Message}";
            throw new ScenarioException(fileName, (int)ex.Start.Line, (int)ex.Start.Column, detail, ex);
        }
        scenario.Source = fileName;
        var v = new Validator(fileName, index);
        Resolve(scenario, v, baseDirectory);
        return scenario;
    }

    internal static Scenario Reseed(Scenario s, long seed)
    {
        var copy = s.ShallowCopy();
        copy.Seed = seed;
        DrawTruth(copy, s.ResolvedTasks);
        return copy;
    }

    /// <summary>
    /// Draws what depends on the scenario's seed: each task's flakiness (and group), base success, and the effect sizes of
    /// procedures and generic rules. Values the file states are kept.
    /// </summary>
    private static void DrawTruth(Scenario s, IReadOnlyList<SimTask> tasks)
    {
        var t = s.Target;
        var explicitFlakiness = s.Tasks.Where(x => x.Flakiness is not null).ToDictionary(x => x.Id, x => x.Flakiness!.Value, StringComparer.Ordinal);
        var groups = t.FlakyGroups is { } fg ? Math.Max(1, (int)Math.Round(tasks.Count / (double)Math.Max(1, fg.Size), MidpointRounding.AwayFromZero)) : 0;
        s.ResolvedTasks = tasks.Select(task =>
        {
            var group = groups == 0 ? -1 : SimRandom.Create(s.Seed, "group", task.Id).Next(groups);
            var flaky = group < 0 ? SimRandom.Create(s.Seed, "flaky", task.Id).NextDouble() < t.FlakyFraction : SimRandom.Create(s.Seed, "flaky-group", group).NextDouble() < t.FlakyFraction;
            double? baseSuccess = t.BaseSuccessDistribution is { } b
                ? MathNet.Numerics.Distributions.Beta.InvCDF(b.Alpha, b.Beta, SimRandom.Create(s.Seed, "difficulty", task.Id).NextDouble())
                : null;
            return task with
            {
                Flakiness = explicitFlakiness.TryGetValue(task.Id, out var f) ? f : flaky ? t.FlakyRate : t.StableRate,
                BaseSuccess = baseSuccess,
                Group = group,
            };
        }).ToList();
        s.ProcedurePenalties = s.Procedures.ToDictionary(p => p.Name, p => p.Penalty
            ?? (t.PenaltyDistribution is { } d ? Math.Min(d.Max, d.Median * Math.Exp(d.Sigma * SimRandom.Create(s.Seed, "penalty", p.Name).NextGaussian())) : t.MissingProcedurePenalty),
            StringComparer.Ordinal);
        s.GenericEffects = s.GenericRules.ToDictionary(g => g.Name, g => g.Effect
            ?? (t.GenericEffectDistribution is { } n ? n.Mean + n.Sd * SimRandom.Create(s.Seed, "generic", g.Name).NextGaussian() : 0),
            StringComparer.Ordinal);
    }

    private static void Resolve(Scenario s, Validator v, string? baseDirectory)
    {
        if (string.IsNullOrWhiteSpace(s.Name))
        {
            v.Fail("name", "the scenario needs a name");
        }
        foreach (var (key, id) in new[] { ("models.target", s.Models.Target), ("models.optimizer", s.Models.Optimizer) })
        {
            if (string.IsNullOrWhiteSpace(id) || !id.Contains("sim", StringComparison.OrdinalIgnoreCase))
            {
                v.Fail(key, $"model id '{id}' must contain 'sim' so that simulated results are never mistaken for a real model's");
            }
        }
        if (string.Equals(s.Models.Target, s.Models.Optimizer, StringComparison.Ordinal))
        {
            v.Fail("models.optimizer", "the optimizer and target model ids must differ");
        }

        var t = s.Target;
        v.Ratio("target.base_success_rate", t.BaseSuccessRate);
        v.Ratio("target.missing_procedure_penalty", t.MissingProcedurePenalty);
        v.Ratio("target.flaky_fraction", t.FlakyFraction);
        v.Ratio("target.flaky_rate", t.FlakyRate);
        v.Ratio("target.stable_rate", t.StableRate);
        if (!t.AnswerFormat.Contains("{answer}", StringComparison.Ordinal))
        {
            v.Fail("target.answer_format", "must contain the placeholder {answer}");
        }
        if (t.ReasoningWords < 0)
        {
            v.Fail("target.reasoning_words", "must be 0 or more");
        }
        if (t.BaseSuccessDistribution is { } beta && !(beta.Alpha > 0 && beta.Beta > 0))
        {
            v.Fail("target.base_success_distribution", "alpha and beta must be positive");
        }
        if (t.PenaltyDistribution is { } ln)
        {
            if (!(ln.Median > 0) || !(ln.Sigma >= 0))
            {
                v.Fail("target.penalty_distribution", "median must be positive and sigma 0 or more");
            }
            v.Ratio("target.penalty_distribution.max", ln.Max);
        }
        if (t.GenericEffectDistribution is { } normal && (!(normal.Sd >= 0) || double.IsNaN(normal.Mean)))
        {
            v.Fail("target.generic_effect_distribution", "sd must be 0 or more");
        }
        if (t.FlakyGroups is { } groups)
        {
            if (groups.Size < 1)
            {
                v.Fail("target.flaky_groups.size", "must be 1 or more");
            }
            v.Ratio("target.flaky_groups.correlation", groups.Correlation);
        }
        if (t.LengthPenalty is { } length)
        {
            if (length.FreeTokens < 0)
            {
                v.Fail("target.length_penalty.free_tokens", "must be 0 or more");
            }
            v.Ratio("target.length_penalty.per_thousand_tokens", length.PerThousandTokens);
        }

        var procedureNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < s.Procedures.Count; i++)
        {
            var p = s.Procedures[i];
            var at = $"procedures[{i}]";
            if (string.IsNullOrWhiteSpace(p.Name) || !procedureNames.Add(p.Name))
            {
                v.Fail($"{at}.name", $"procedure name '{p.Name}' is empty or repeated");
            }
            if (p.Phrases.Count == 0 || p.Phrases.Any(string.IsNullOrWhiteSpace))
            {
                v.Fail($"{at}.phrases", "needs at least one non-empty phrase");
            }
            if (p.Texts.Count == 0)
            {
                v.Fail($"{at}.texts", "needs at least one text for the optimizer to write");
            }
            for (var j = 0; j < p.Texts.Count; j++)
            {
                if (!p.Phrases.Any(ph => Contains(p.Texts[j], ph)))
                {
                    v.Fail($"{at}.texts[{j}]", $"the text does not contain any phrase of procedure '{p.Name}', so it would not teach it");
                }
            }
            if (p.Penalty is { } penalty)
            {
                v.Ratio($"{at}.penalty", penalty);
            }
        }

        for (var i = 0; i < s.Harmful.Count; i++)
        {
            var h = s.Harmful[i];
            var at = $"harmful[{i}]";
            if (string.IsNullOrWhiteSpace(h.Name) || string.IsNullOrWhiteSpace(h.Phrase))
            {
                v.Fail(at, "a harmful rule needs a name and a phrase");
            }
            if (h.Texts.Count == 0)
            {
                h.Texts.Add("- " + h.Phrase + ".");
            }
            for (var j = 0; j < h.Texts.Count; j++)
            {
                if (!Contains(h.Texts[j], h.Phrase))
                {
                    v.Fail($"{at}.texts[{j}]", $"the text does not contain the phrase '{h.Phrase}'");
                }
            }
            for (var j = 0; j < h.BreaksNeeds.Count; j++)
            {
                if (!procedureNames.Contains(h.BreaksNeeds[j]))
                {
                    v.Fail($"{at}.breaks_needs[{j}]", $"unknown procedure '{h.BreaksNeeds[j]}'");
                }
            }
            if (h.BreaksPattern is not null)
            {
                v.Regex($"{at}.breaks_pattern", h.BreaksPattern);
            }
            v.Ratio($"{at}.success_multiplier", h.SuccessMultiplier);
        }

        var genericNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < s.GenericRules.Count; i++)
        {
            var g = s.GenericRules[i];
            var at = $"generic_rules[{i}]";
            if (string.IsNullOrWhiteSpace(g.Name) || string.IsNullOrWhiteSpace(g.Phrase) || !genericNames.Add(g.Name))
            {
                v.Fail(at, $"a generic rule needs a unique name and a phrase ('{g.Name}')");
            }
            if (g.Texts.Count == 0)
            {
                g.Texts.Add("- " + g.Phrase + ".");
            }
            for (var j = 0; j < g.Texts.Count; j++)
            {
                if (!Contains(g.Texts[j], g.Phrase))
                {
                    v.Fail($"{at}.texts[{j}]", $"the text does not contain the phrase '{g.Phrase}'");
                }
                var hit = s.Procedures.SelectMany(p => p.Phrases).Concat(s.Harmful.Select(h => h.Phrase)).FirstOrDefault(ph => Contains(g.Texts[j], ph));
                if (hit is not null)
                {
                    v.Fail($"{at}.texts[{j}]", $"'{g.Texts[j]}' contains the phrase '{hit}', so it would not be a generic rule");
                }
            }
            if (g.Effect is { } effect && (effect is < -1 or > 1 || double.IsNaN(effect)))
            {
                v.Fail($"{at}.effect", "must be between -1 and 1");
            }
        }

        var o = s.Optimizer;
        foreach (var (key, value) in new[] { ("useful", o.Useful), ("useless", o.Useless), ("harmful", o.Harmful) })
        {
            if (value < 0 || double.IsNaN(value))
            {
                v.Fail($"optimizer.{key}", "must not be negative");
            }
        }
        if (o.Useful + o.Useless + o.Harmful <= 0)
        {
            v.Fail("optimizer", "useful + useless + harmful must be positive");
        }
        if (o.Harmful > 0 && s.Harmful.Count == 0)
        {
            v.Fail("optimizer.harmful", "harmful edits need at least one rule in 'harmful'");
        }
        v.Ratio("optimizer.wordiness", o.Wordiness);
        v.Ratio("optimizer.empty_reply_rate", o.EmptyReplyRate);
        v.Ratio("optimizer.success_edit_rate", o.SuccessEditRate);
        v.Ratio("optimizer.insert_after_rate", o.InsertAfterRate);
        v.Ratio("optimizer.respect_rejected", o.RespectRejected);
        v.Ratio("optimizer.invalid_reply_rate", o.InvalidReplyRate);
        v.Ratio("optimizer.leak_rate", o.LeakRate);
        v.Ratio("optimizer.misdiagnosis", o.Misdiagnosis);
        if (o.RankingNoise < 0)
        {
            v.Fail("optimizer.ranking_noise", "must not be negative");
        }
        if (o.Draw < 0)
        {
            v.Fail("optimizer.draw", "must not be negative");
        }

        if (s.UselessEdits.Count == 0) { s.UselessEdits.AddRange(DefaultUseless); }
        if (s.FillerSentences.Count == 0) { s.FillerSentences.AddRange(DefaultFiller); }
        if (o.Guidance.Count == 0) { o.Guidance.AddRange(DefaultGuidance); }
        if (o.Advice.Count == 0) { o.Advice.AddRange(DefaultAdvice); }
        var neutral = new (string Key, List<string> Texts)[] { ("useless_edits", s.UselessEdits), ("filler_sentences", s.FillerSentences), ("optimizer.guidance", o.Guidance) };
        foreach (var (key, texts) in neutral)
        {
            for (var j = 0; j < texts.Count; j++)
            {
                var hit = s.Procedures.SelectMany(p => p.Phrases).Concat(s.Harmful.Select(h => h.Phrase)).Concat(s.GenericRules.Select(g => g.Phrase)).FirstOrDefault(ph => Contains(texts[j], ph));
                if (hit is not null)
                {
                    v.Fail(v.Has($"{key}[{j}]") ? $"{key}[{j}]" : key, $"'{texts[j]}' contains the phrase '{hit}', so it would not be neutral");
                }
                if (texts[j].Contains("skillopt:", StringComparison.Ordinal))
                {
                    v.Fail(key, "texts must not contain skillopt markers");
                }
            }
        }

        // tasks
        var drafts = new List<SimTask>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < s.Tasks.Count; i++)
        {
            var task = s.Tasks[i];
            var at = $"tasks[{i}]";
            if (string.IsNullOrWhiteSpace(task.Id) || !ids.Add(task.Id))
            {
                v.Fail($"{at}.id", $"task id '{task.Id}' is empty or repeated");
            }
            if (string.IsNullOrWhiteSpace(task.Question) || string.IsNullOrWhiteSpace(task.Answer))
            {
                v.Fail(at, "a task needs a question and an answer");
            }
            for (var j = 0; j < task.Needs.Count; j++)
            {
                if (!procedureNames.Contains(task.Needs[j]))
                {
                    v.Fail($"{at}.needs[{j}]", $"unknown procedure '{task.Needs[j]}'");
                }
            }
            if (task.Flakiness is { } f)
            {
                v.Ratio($"{at}.flakiness", f);
            }
            drafts.Add(new SimTask(task.Id, task.Question, task.Answer, task.Needs.Distinct(StringComparer.Ordinal).ToList(), 0));
        }
        if (s.TaskSource is { } src)
        {
            drafts.AddRange(LoadSource(src, v, baseDirectory, procedureNames, ids));
        }
        if (drafts.Count == 0)
        {
            v.Fail("tasks", "the scenario has no tasks (list them under 'tasks' or read them with 'task_source')");
        }
        var byQuestion = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var d in drafts)
        {
            var key = QuestionText.Normalize(d.Question);
            if (!byQuestion.TryAdd(key, d.Id))
            {
                v.Fail("tasks", $"tasks '{byQuestion[key]}' and '{d.Id}' have the same question, so the simulated target could not tell them apart");
            }
        }
        DrawTruth(s, drafts);

        // latency and faults
        foreach (var (key, l) in new[] { ("latency.target", s.Latency.Target), ("latency.optimizer", s.Latency.Optimizer) })
        {
            if (l.MedianMs < 0 || l.P95Ms < 0)
            {
                v.Fail(key, "latencies must not be negative");
            }
            if (l.MedianMs > 0 && l.P95Ms < l.MedianMs)
            {
                v.Fail($"{key}.p95_ms", "must be at least median_ms");
            }
        }
        var fo = s.Faults;
        v.Ratio("faults.rate_limit", fo.RateLimit);
        v.Ratio("faults.server_error", fo.ServerError);
        v.Ratio("faults.timeout", fo.Timeout);
        v.Ratio("faults.malformed_body", fo.MalformedBody);
        v.Ratio("faults.truncated", fo.Truncated);
        if (fo.RateLimit + fo.ServerError + fo.Timeout + fo.MalformedBody + fo.Truncated > 1 + 1e-9)
        {
            v.Fail("faults", "the fault rates must add up to at most 1");
        }
        if (fo.RetryAfterSeconds < 0) { v.Fail("faults.retry_after_seconds", "must be 0 or more"); }
        if (fo.HangSeconds <= 0) { v.Fail("faults.hang_seconds", "must be positive"); }
        if (fo.MaxConsecutive < 0) { v.Fail("faults.max_consecutive", "must be 0 or more"); }
        for (var j = 0; j < fo.Roles.Count; j++)
        {
            if (fo.Roles[j] is not ("target" or "optimizer"))
            {
                v.Fail($"faults.roles[{j}]", $"unknown role '{fo.Roles[j]}' (target or optimizer)");
            }
        }
    }

    private static IEnumerable<SimTask> LoadSource(TaskSourceSpec src, Validator v, string? baseDirectory, HashSet<string> procedures, HashSet<string> ids)
    {
        for (var j = 0; j < src.Features.Count; j++)
        {
            var f = src.Features[j];
            if (!procedures.Contains(f.Procedure))
            {
                v.Fail($"task_source.features[{j}].procedure", $"unknown procedure '{f.Procedure}'");
            }
            if (f.Pattern is not null)
            {
                v.Regex($"task_source.features[{j}].pattern", f.Pattern);
            }
            if (f.Fraction is { } fraction)
            {
                v.Ratio($"task_source.features[{j}].fraction", fraction);
            }
            if (!f.Always && f.Pattern is null && f.MinNumbers is null && f.Fraction is null)
            {
                v.Fail($"task_source.features[{j}]", "a feature needs 'always', 'pattern', 'min_numbers' or 'fraction'");
            }
        }
        Regex? answerRegex = null;
        if (src.AnswerPattern is not null)
        {
            v.Regex("task_source.answer_pattern", src.AnswerPattern);
            answerRegex = new Regex(src.AnswerPattern, RegexOptions.Multiline | RegexOptions.CultureInvariant);
        }
        var lines = ReadData(src.Jsonl, v, baseDirectory);
        var list = new List<SimTask>();
        var row = 0;
        foreach (var line in lines)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            row++;
            if (src.Limit > 0 && row > src.Limit)
            {
                break;
            }
            string question, answerField;
            try
            {
                using var doc = JsonDocument.Parse(line);
                question = doc.RootElement.GetProperty(src.QuestionField).GetString() ?? "";
                answerField = doc.RootElement.GetProperty(src.AnswerField).GetString() ?? "";
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                v.Fail("task_source.jsonl", $"row {row} of '{src.Jsonl}' is not an object with string fields '{src.QuestionField}' and '{src.AnswerField}': {ex.Message}");
                throw; // unreachable
            }
            var answer = answerField.Trim();
            if (answerRegex is not null)
            {
                var m = answerRegex.Match(answerField);
                if (!m.Success)
                {
                    v.Fail("task_source.answer_pattern", $"row {row}: the answer pattern does not match '{Short(answerField)}'");
                }
                answer = (m.Groups.Count > 1 ? m.Groups[1].Value : m.Value).Trim();
            }
            var id = src.IdPrefix + row.ToString("D4", CultureInfo.InvariantCulture);
            if (!ids.Add(id))
            {
                v.Fail("task_source.id_prefix", $"task id '{id}' repeats a listed task id");
            }
            list.Add(new SimTask(id, question, answer, AssignFeatures(question, src.Features, id), 0));
        }
        return list;
    }

    /// <summary>The procedures <paramref name="features"/> assign to <paramref name="question"/> (of task <paramref name="taskId"/>, for <c>fraction</c> rules), in rule order.</summary>
    internal static IReadOnlyList<string> AssignFeatures(string question, IEnumerable<FeatureRule> features, string? taskId = null)
    {
        var numbers = NumberRegex.Matches(question).Count;
        var needs = new List<string>();
        foreach (var f in features)
        {
            var hit = f.Always
                || (f.Pattern is not null && Regex.IsMatch(question, f.Pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline))
                || (f.MinNumbers is { } n && numbers >= n)
                || (f.Fraction is { } q && taskId is not null && SimRandom.Create("feature", f.Procedure, taskId).NextDouble() < q);
            if (hit && !needs.Contains(f.Procedure, StringComparer.Ordinal))
            {
                needs.Add(f.Procedure);
            }
        }
        return needs;
    }

    private static IEnumerable<string> ReadData(string name, Validator v, string? baseDirectory)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            v.Fail("task_source.jsonl", "names no data file");
        }
        if (baseDirectory is not null)
        {
            foreach (var candidate in new[] { Path.Combine(baseDirectory, name), Path.Combine(baseDirectory, "..", "Data", name) })
            {
                if (File.Exists(candidate))
                {
                    return File.ReadAllLines(candidate, Encoding.UTF8);
                }
            }
        }
        using var stream = typeof(ScenarioLoader).Assembly.GetManifestResourceStream(DataResourcePrefix + name.Replace('/', '.').Replace('\\', '.'));
        if (stream is null)
        {
            v.Fail("task_source.jsonl", $"no data file '{name}' beside the scenario and no data set of that name shipped with SimLab");
        }
        using var reader = new StreamReader(stream!, Encoding.UTF8);
        var lines = new List<string>();
        while (reader.ReadLine() is { } l)
        {
            lines.Add(l);
        }
        return lines;
    }

    internal static bool Contains(string text, string phrase) => text.Contains(phrase, StringComparison.OrdinalIgnoreCase);

    private static string Short(string s) => s.Length <= 80 ? s : s[..80] + "…";

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }
        return ex;
    }

    private static Dictionary<string, Mark> IndexNodes(string yaml, string fileName)
    {
        YamlStream stream;
        try
        {
            stream = SkillOpt.Core.Configuration.YamlNesting.Load(yaml, "a scenario");
        }
        catch (SkillOpt.Core.Configuration.MalformedYamlException ex)
        {
            throw new ScenarioException(fileName, ex.Line, ex.Column, ex.Message, ex.InnerException ?? ex);
        }
        var index = new Dictionary<string, Mark>(StringComparer.Ordinal);
        if (stream.Documents.Count > 0)
        {
            Walk(stream.Documents[0].RootNode, "", index);
        }
        return index;
    }

    private static void Walk(YamlNode node, string path, Dictionary<string, Mark> index)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, child) in map.Children)
                {
                    var name = (k as YamlScalarNode)?.Value ?? "?";
                    var p = path.Length == 0 ? name : path + "." + name;
                    index[p] = child is YamlScalarNode ? child.Start : k.Start;
                    Walk(child, p, index);
                }
                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    var p = $"{path}[{i}]";
                    index[p] = seq.Children[i].Start;
                    Walk(seq.Children[i], p, index);
                }
                break;
        }
    }

    private sealed class Validator(string file, Dictionary<string, Mark> index)
    {
        public bool Has(string path) => index.ContainsKey(path);

        public void Fail(string path, string message)
        {
            // the closest indexed ancestor gives the line
            var p = path;
            while (p.Length > 0 && !index.ContainsKey(p))
            {
                var cut = Math.Max(p.LastIndexOf('.'), p.LastIndexOf('['));
                p = cut > 0 ? p[..cut] : "";
            }
            var (line, column) = p.Length > 0 ? ((int)index[p].Line, (int)index[p].Column) : (0, 0);
            throw new ScenarioException(file, line, column, $"{path}: {message}");
        }

        public void Ratio(string path, double value)
        {
            if (value is < 0 or > 1 || double.IsNaN(value))
            {
                Fail(path, $"{value.ToString(CultureInfo.InvariantCulture)} must be between 0 and 1");
            }
        }

        public void Regex(string path, string pattern)
        {
            try
            {
                _ = new Regex(pattern, RegexOptions.CultureInvariant);
            }
            catch (ArgumentException ex)
            {
                Fail(path, $"invalid regular expression: {ex.Message}");
            }
        }
    }
}
