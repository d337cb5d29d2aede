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
    /// <summary>Writes a generic rule: a tiny effect on every task.</summary>
    Generic,
}

/// <summary>The resolved, queryable form of a scenario: task lookup, procedure recognition and success probabilities.</summary>
internal sealed class SimWorld
{
    private readonly Dictionary<string, SimTask> _byQuestion = new(StringComparer.Ordinal);
    private readonly List<(string Normalized, SimTask Task)> _normalized = [];
    private readonly Dictionary<string, SimTask> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Regex?> _harmPatterns = new(StringComparer.Ordinal);
    private readonly bool _uniformPenalties;

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
        _uniformPenalties = scenario.Target.PenaltyDistribution is null && scenario.Procedures.All(p => p.Penalty is null);
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
    /// Probability that the simulated agent solves <paramref name="task"/> with <paramref name="skill"/>, before flakiness:
    /// p = clamp(base − Σ penalties of the needed procedures the skill lacks − length penalty + Σ effects of the generic
    /// rules the skill holds) × Π harm multipliers. With one penalty for every procedure and no length penalty or generic
    /// rule this is clamp(base − penalty × missing) × Π harm multipliers.
    /// </summary>
    public double CleanProbability(string skill, SimTask task)
    {
        var t = Scenario.Target;
        var missing = Missing(skill, task);
        var penalties = _uniformPenalties ? t.MissingProcedurePenalty * missing.Count : missing.Sum(name => Scenario.ProcedurePenalties[name]);
        var p = Math.Clamp((task.BaseSuccess ?? t.BaseSuccessRate) - penalties - LengthPenalty(skill) + GenericEffect(skill), 0, 1);
        foreach (var h in Harms(skill, task))
        {
            p *= h.SuccessMultiplier;
        }
        return p;
    }

    /// <summary>
    /// Probability that the simulated agent solves <paramref name="task"/> with <paramref name="skill"/>: the
    /// <see cref="CleanProbability"/> p flipped with the task's flakiness f: p(1 − f) + (1 − p)f.
    /// </summary>
    public double SuccessProbability(string skill, SimTask task)
    {
        var p = CleanProbability(skill, task);
        var f = task.Flakiness;
        return p * (1 - f) + (1 - p) * f;
    }

    /// <summary>Success probability a skill of this length costs every task (<c>target.length_penalty</c>; 0 when unset).</summary>
    public double LengthPenalty(string skill) => Scenario.Target.LengthPenalty is { } l
        ? Math.Max(0, QuestionText.Tokens(skill) - l.FreeTokens) / 1000.0 * l.PerThousandTokens
        : 0;

    /// <summary>Sum of the effects of the generic rules <paramref name="skill"/> holds (0 without generic rules).</summary>
    public double GenericEffect(string skill)
    {
        var sum = 0.0;
        foreach (var g in Scenario.GenericRules)
        {
            if (ScenarioLoader.Contains(skill, g.Phrase))
            {
                sum += Scenario.GenericEffects[g.Name];
            }
        }
        return sum;
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
        foreach (var g in Scenario.GenericRules)
        {
            if (ScenarioLoader.Contains(content, g.Phrase))
            {
                return (EditKind.Generic, g.Name);
            }
        }
        return (EditKind.Useless, null);
    }
}
