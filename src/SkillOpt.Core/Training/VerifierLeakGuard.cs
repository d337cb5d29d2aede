using System.Text.RegularExpressions;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Training;

/// <summary>
/// Keeps verifier text away from the optimizer: the literals each verifier reports (<see cref="RolloutResult.VerifierLiterals"/>:
/// gold answers, expected values) are redacted from trajectories before reflection, and a proposed edit whose content
/// contains a guarded literal seen so far is rejected (docs/method.md, "The classic preset", row 3: the reference's
/// optimizer copies gold answers into the skill). Every reported literal of at least <see cref="MinimumLength"/>
/// characters is redacted; a number of absolute value below <see cref="CommonNumberLimit"/> is not guarded in edits:
/// the optimizer never sees it as an answer (it is redacted), and "60 minutes to an hour" or "percent/100" are ordinary
/// rules that refusing would cost.
/// </summary>
internal sealed class VerifierLeakGuard
{
    /// <summary>Shortest literal guarded, in characters (2: a one-character literal such as "3" matches too much prose).</summary>
    public const int MinimumLength = 2;

    /// <summary>Numbers below this in absolute value are ordinary prose in rules (60 minutes, 100 percent, 12 months, 365 days), never guarded.</summary>
    public const double CommonNumberLimit = 1000;

    /// <summary>What replaces a literal in text shown to the optimizer.</summary>
    public const string Redaction = "[redacted]";

    private readonly SortedSet<string> _literals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Regex> _patterns = new(StringComparer.Ordinal);

    /// <summary>Literals known so far.</summary>
    public IReadOnlyCollection<string> Literals => _literals;

    /// <summary>Adds the literals reported by <paramref name="results"/>.</summary>
    public void Learn(IEnumerable<RolloutResult> results)
    {
        foreach (var lit in results.SelectMany(r => r.VerifierLiterals ?? []))
        {
            var t = lit.Trim();
            if (t.Length >= MinimumLength)
            {
                _literals.Add(t);
            }
        }
    }

    /// <summary>A number (integer or decimal, optionally signed) of absolute value below <see cref="CommonNumberLimit"/>.</summary>
    internal static bool IsCommonNumber(string literal) =>
        double.TryParse(literal, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v)
        && Math.Abs(v) < CommonNumberLimit && !literal.Contains('e', StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns <paramref name="result"/> with its own literals replaced by <see cref="Redaction"/> in every text the optimizer sees.</summary>
    public RolloutResult Redact(RolloutResult result)
    {
        var lits = (result.VerifierLiterals ?? []).Select(l => l.Trim()).Where(l => l.Length >= MinimumLength).ToList();
        if (lits.Count == 0)
        {
            return result;
        }
        string? R(string? text) => text is null ? null : lits.Aggregate(text, (t, l) => Pattern(l).Replace(t, Redaction));
        return result with
        {
            Reason = R(result.Reason),
            FinalAnswer = R(result.FinalAnswer),
            Transcript = result.Transcript.Select(m => m with
            {
                Text = R(m.Text),
                ToolCalls = m.ToolCalls?.Select(c => c with { Arguments = R(c.Arguments)! }).ToList(),
            }).ToList(),
            VerifierLiterals = null,
        };
    }

    /// <summary>Returns the first guarded literal contained in the edit's content (whole-word match, case-insensitive), or null.</summary>
    public string? FindLeak(SkillEdit edit) =>
        edit.Content is null ? null : _literals.FirstOrDefault(l => !IsCommonNumber(l) && Pattern(l).IsMatch(edit.Content));

    /// <summary>Writes the literals to <paramref name="path"/> (atomically).</summary>
    public void Save(string path) => AtomicFile.WriteJson(path, _literals.ToList());

    /// <summary>Loads literals saved by <see cref="Save"/>; nothing when the file is absent.</summary>
    /// <exception cref="DamagedFileException">The file is not a JSON list of strings.</exception>
    public void Load(string path)
    {
        foreach (var l in AtomicFile.ReadJson<List<string>>(path) ?? [])
        {
            _literals.Add(l);
        }
    }

    private Regex Pattern(string literal)
    {
        lock (_patterns)
        {
            if (!_patterns.TryGetValue(literal, out var re))
            {
                re = new Regex($"(?<![A-Za-z0-9]){Regex.Escape(literal)}(?![A-Za-z0-9])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
                _patterns[literal] = re;
            }
            return re;
        }
    }
}
