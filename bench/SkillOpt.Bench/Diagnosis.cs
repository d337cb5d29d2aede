using System.Globalization;
using System.Text.Json;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.SimLab;

namespace SkillOpt.Bench;

/// <summary>
/// Every candidate a run gated (accepted, rejected, inconclusive, or rejected by the pre-screen before any validation),
/// read from the run's <c>history.json</c>, with its true effect: SimLab's expected score of the candidate minus that of the
/// skill it was gated against, on the run's validation and test tasks.
/// </summary>
internal static class Diagnosis
{
    public static List<CandidateResult> Candidates(Scenario scenario, TaskSplits splits, RunStore store)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(store.HistoryPath));
        var expected = new Dictionary<string, (double Val, double Test)>(StringComparer.Ordinal);
        (double Val, double Test) Truth(string hash)
        {
            if (!expected.TryGetValue(hash, out var t))
            {
                var skill = store.ReadSkill(hash);
                expected[hash] = t = (SimLabOracle.ExpectedScore(scenario, skill, splits.Validation), SimLabOracle.ExpectedScore(scenario, skill, splits.Test));
            }
            return t;
        }
        var list = new List<CandidateResult>();
        string? current = null;
        void Add(JsonElement e, string kind, int step, string candidate)
        {
            var (cVal, cTest) = Truth(candidate);
            var (iVal, iTest) = Truth(current!);
            var gate = "";
            var tasks = 0;
            if (e.TryGetProperty("validation", out var v) && v.ValueKind == JsonValueKind.Object)
            {
                gate = v.TryGetProperty("gate", out var g) && g.ValueKind == JsonValueKind.String ? g.GetString()! : "";
                tasks = v.TryGetProperty("tasks", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt32() : 0;
            }
            var reason = e.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";
            list.Add(new CandidateResult(kind, step, e.GetProperty("action").GetString()!, gate.Length == 0 ? "strict" : gate, cVal - iVal, cTest - iTest, tasks, reason));
        }
        foreach (var record in doc.RootElement.EnumerateArray())
        {
            var action = record.TryGetProperty("action", out var a) ? a.GetString() : null;
            var step = record.TryGetProperty("step", out var st) && st.ValueKind == JsonValueKind.Number ? st.GetInt32() : 0;
            if (current is not null && record.TryGetProperty("candidate_hash", out var c) && c.GetString() is { } candidate && action is "accept" or "reject" or "inconclusive")
            {
                Add(record, record.GetProperty("kind").GetString()!, step, candidate);
            }
            if (current is not null && record.TryGetProperty("combination", out var combo) && combo.ValueKind == JsonValueKind.Object
                && combo.TryGetProperty("candidate_hash", out var ch) && ch.GetString() is { } comboHash
                && combo.GetProperty("action").GetString() is "accept" or "reject" or "inconclusive")
            {
                Add(combo, "combination", step, comboHash);
            }
            if (record.TryGetProperty("current_hash", out var h) && h.GetString() is { } hash)
            {
                current = hash;
            }
        }
        return list;
    }

    /// <summary>The per-run report of <c>--diagnose</c>: one line per gated candidate with its true effect beside the gate's verdict.</summary>
    public static void Print(TextWriter w, string label, IReadOnlyList<CandidateResult> candidates)
    {
        foreach (var c in candidates)
        {
            var reason = c.Reason.ReplaceLineEndings(" ");
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    diag {label} {c.Kind} {c.Step}: true Δval {c.DeltaVal:+0.000;-0.000;0.000} Δtest {c.DeltaTest:+0.000;-0.000;0.000} {c.Verdict} ({c.Gate}, {c.Tasks} tasks): {reason[..Math.Min(100, reason.Length)]}"));
        }
        var atGate = candidates.Where(c => c.AtValidation).ToList();
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"    diag {label}: {candidates.Count(c => c.Verdict == "accept")} accepted of {atGate.Count} at a validation gate (+{candidates.Count - atGate.Count} rejected by the pre-screen); "
            + $"useful (Δval > +0.02) {candidates.Count(c => c.DeltaVal > 0.02 && c.Verdict == "accept")}/{candidates.Count(c => c.DeltaVal > 0.02)} accepted; "
            + $"not better (Δval ≤ 0) accepted {atGate.Count(c => c.DeltaVal <= 0 && c.Verdict == "accept")}/{atGate.Count(c => c.DeltaVal <= 0)}; harmful (Δval < −0.02) accepted {candidates.Count(c => c.DeltaVal < -0.02 && c.Verdict == "accept")}"));
    }
}
