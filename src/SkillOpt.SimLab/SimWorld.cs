using System.Text.RegularExpressions;

namespace SkillOpt.SimLab;

/// <summary>What a proposed edit text does in the simulated world.</summary>
internal enum EditKind
{
    /// <summary>Teaches a procedure.</summary>
    Procedure,
    /// <summary>Writes a harmful rule.</summary>
    Harmful,
    /// <summary>Matches nothing: no effect on success probabilities.</summary>
    Useless,
}

/// <summary>The resolved, queryable form of a scenario: task lookup, procedure recognition and success probabilities.</summary>
internal sealed class SimWorld
{
    private readonly Dictionary<string, SimTask> _byQuestion = new(StringComparer.Ordinal);
    private readonly List<(string Normalized, SimTask Task)> _normalized = [];
    private readonly Dictionary<string, SimTask> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Regex?> _harmPatterns = new(StringComparer.Ordinal);

    public SimWorld(Scenario scenario)
    {
        Scenario = scenario;
        foreach (var t in scenario.ResolvedTasks)
        {
            var n = QuestionText.Normalize(t.Question);
            _byQuestion[n] = t;
            _normalized.Add((n, t));
            _byId[t.Id] = t;
        }
        _normalized.Sort((a, b) => b.Normalized.Length.CompareTo(a.Normalized.Length));
        foreach (var h in scenario.Harmful)
        {
            _harmPatterns[h.Name] = h.BreaksPattern is null ? null : new Regex(h.BreaksPattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        }
    }

    public Scenario Scenario { get; }

    public SimTask? TaskById(string id) => _byId.GetValueOrDefault(id);

    /// <summary>
    /// The task a text asks: by normalised question (exact, then the longest question contained in the text), then by a
    /// task id that appears in the text as a whole word.
    /// </summary>
    public SimTask? FindTask(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var n = QuestionText.Normalize(text);
        if (_byQuestion.TryGetValue(n, out var exact))
        {
            return exact;
        }
        foreach (var (q, t) in _normalized)
        {
            if (q.Length >= 12 && n.Contains(q, StringComparison.Ordinal))
            {
                return t;
            }
        }
        foreach (var t in Scenario.ResolvedTasks)
        {
            var i = text.IndexOf(t.Id, StringComparison.Ordinal);
            if (i >= 0 && Boundary(text, i - 1) && Boundary(text, i + t.Id.Length))
            {
                return t;
            }
        }
        return null;
    }

    private static bool Boundary(string text, int i) => i < 0 || i >= text.Length || !(char.IsLetterOrDigit(text[i]) || text[i] is '-' or '_');

    /// <summary>True when <paramref name="skill"/> holds one of the procedure's phrases.</summary>
    public bool Has(string skill, string procedure) =>
        Scenario.Procedures.First(p => p.Name == procedure).Phrases.Any(ph => ScenarioLoader.Contains(skill, ph));

    /// <summary>Procedures <paramref name="task"/> needs that <paramref name="skill"/> lacks.</summary>
    public IReadOnlyList<string> Missing(string skill, SimTask task) => task.Needs.Where(p => !Has(skill, p)).ToList();

    /// <summary>Harmful rules present in <paramref name="skill"/> that break <paramref name="task"/>.</summary>
    public IEnumerable<HarmfulRuleSpec> Harms(string skill, SimTask task) => Scenario.Harmful.Where(h =>
        ScenarioLoader.Contains(skill, h.Phrase) && Breaks(h, task));

    private bool Breaks(HarmfulRuleSpec h, SimTask task)
    {
        var pattern = _harmPatterns[h.Name];
        if (h.BreaksNeeds.Count == 0 && pattern is null)
        {
            return true;
        }
        return h.BreaksNeeds.Any(task.Needs.Contains) || (pattern?.IsMatch(task.Question) ?? false);
    }

    /// <summary>
    /// Probability that the simulated agent solves <paramref name="task"/> with <paramref name="skill"/>:
    /// p = clamp(base − penalty × missing) × Π harm multipliers, then flipped with the task's flakiness:
    /// p(1 − f) + (1 − p)f.
    /// </summary>
    public double SuccessProbability(string skill, SimTask task)
    {
        var t = Scenario.Target;
        var p = Math.Clamp(t.BaseSuccessRate - t.MissingProcedurePenalty * Missing(skill, task).Count, 0, 1);
        foreach (var h in Harms(skill, task))
        {
            p *= h.SuccessMultiplier;
        }
        var f = task.Flakiness;
        return p * (1 - f) + (1 - p) * f;
    }

    /// <summary>What an edit text does: teaches a procedure (name), writes a harmful rule (name), or nothing.</summary>
    public (EditKind Kind, string? Name) Classify(string? content)
    {
        if (string.IsNullOrEmpty(content))
        {
            return (EditKind.Useless, null);
        }
        foreach (var h in Scenario.Harmful)
        {
            if (ScenarioLoader.Contains(content, h.Phrase))
            {
                return (EditKind.Harmful, h.Name);
            }
        }
        foreach (var p in Scenario.Procedures)
        {
            if (p.Phrases.Any(ph => ScenarioLoader.Contains(content, ph)))
            {
                return (EditKind.Procedure, p.Name);
            }
        }
        return (EditKind.Useless, null);
    }
}
