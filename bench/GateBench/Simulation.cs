// Longer than 400 lines: the gate-level simulation: every policy's decision over the same drawn candidates, kept together so that they stay comparable.
using System.Globalization;
using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;

namespace GateBench;

/// <summary>
/// A policy: a gate and what the loop does around it. Written <c>name:key=value,key=value</c>. Names: <c>reference</c>
/// (strict &gt; of a fresh full draw against the stored score of the current skill's accepting draw, no pre-screen; keys:
/// fut — the futility stop of <see cref="StrictImprovementGate"/>: after each chunk (chunk, default 8) of a fresh seeded order,
/// stop when the predictive probability of ending above the stored score is below fut, 0 = off; paired — 1: that
/// probability from two beta-binomials, one per outcome of the stored draw on the unscored tasks, instead of one; bytask — σ
/// &gt; 0: that probability by task as <c>gate.strict.task_difficulty</c> computes it, with σ the prior's standard deviation
/// (the product's is 1); order — 1: with fut, the candidate's tasks in the order of their information p(1 − p), p a task's
/// pass rate over the run's earlier validation outcomes (Jeffreys), the most informative first (tried, not kept); early — q &gt; 0: accept once earlymin (a share of the split, default 0.5) is scored and the
/// predictive probability of ending above the stored score is at least q, leaving the accepted candidate's other tasks
/// unscored until a later candidate is scored on the whole split against it; lazy — how a later candidate's predictive
/// reads such a partly scored draw: 1 from its own scored tasks, 1 + m with its centre moved a share m of the way to the
/// score it was accepted against),
/// <c>sprt</c> (<see cref="PairedSequentialGate"/>: alpha, alt, power, draws, chunk, final, veto), <c>default</c> (today's
/// default preset: sprt with pre-screen and combine=2), <c>posterior</c> (<see cref="PosteriorPairedGate"/>: threshold,
/// prior, stop, chunk, draws, accept — the early-accept probability, 1 − stop unless set), <c>value</c>
/// (<see cref="ValueOfInformationGate"/>: lambda — the score one paired task must be worth — or c, the same per whole
/// validation split (lambda = c / tasks), tau, margin, chunk, draws). Key for every paired policy: noflaky (1: the
/// flaky tasks' results are left out of the gate's evidence, an oracle), and two bounds that are not gates: <c>oracle</c> (accepts exactly the candidates that are
/// truly better, at no cost) and <c>all</c> (accepts every candidate). Keys for every paired policy: prescreen (0/1; default
/// 1), combine (K inconclusive candidates combined, 0 = off), patience (steps without an accepted edit before stopping,
/// 0 = never), fresh (0: keep the round's samples after an acceptance instead of fresh ones), check (a non-regression check
/// of the current skill against the last checked one on fresh draws after this many accepts, reverting when its posterior
/// probability of being better is below checkthreshold; 0 = off), checkdraws, checkthreshold, endcheck (0/1: one more at the end),
/// psfailed, pspassed (the pre-screen's failed and passed tasks, default 8 and 4),
/// bundle (k ≥ 1: the edits of k steps, each step's pre-screened against the skill it was rolled out with, wait and are gated
/// together against the current skill; the steps between roll out the current skill with the waiting edits; 1 = every step).
/// </summary>
internal sealed record PolicySpec(string Label, string Name, IReadOnlyDictionary<string, double> Settings)
{
    public double Get(string key, double fallback) => Settings.TryGetValue(key, out var v) ? v : fallback;

    public static PolicySpec Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? text : text[..colon];
        var settings = new Dictionary<string, double>(StringComparer.Ordinal);
        if (colon >= 0)
        {
            foreach (var pair in text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                settings[pair[..eq].Trim()] = double.Parse(pair[(eq + 1)..], CultureInfo.InvariantCulture);
            }
        }
        // named presets
        switch (name)
        {
            case "default":
                // today's default preset: the paired SPRT with the final analysis, pre-screen, combination of two inconclusive candidates
                name = "sprt";
                settings.TryAdd("prescreen", 1);
                settings.TryAdd("combine", 2);
                break;
            case "reference" or "sprt" or "posterior" or "value" or "oracle" or "all":
                break;
            default:
                throw new ArgumentException($"unknown policy '{name}' (reference, default, sprt, posterior, value, oracle, all)");
        }
        return new PolicySpec(text, name, settings);
    }

    /// <summary>Expands <c>a=1|2,b=3|4</c> alternatives into every combination.</summary>
    public static IEnumerable<string> Expand(string text)
    {
        var open = text.IndexOf('|', StringComparison.Ordinal);
        if (open < 0)
        {
            return [text];
        }
        var start = text.LastIndexOfAny([',', ':', '='], open) + 1;
        var end = text.IndexOf(',', open);
        end = end < 0 ? text.Length : end;
        return text[start..end].Split('|').SelectMany(v => Expand(text[..start] + v + text[end..]));
    }
}

/// <summary>What one run measured.</summary>
internal sealed record RunMetrics
{
    public required string Policy { get; init; }
    public required string World { get; init; }
    public required string Shape { get; init; }
    public required int Seed { get; init; }
    public double InitialTest { get; init; }
    public double FinalTest { get; init; }
    public double InitialVal { get; init; }
    public double FinalVal { get; init; }
    public int Steps { get; init; }
    public long RolloutCalls { get; init; }
    public long PrescreenCalls { get; init; }
    public long ValidationCalls { get; init; }
    public long TestCalls { get; init; }
    public long ApprovalCalls { get; init; }
    public long IncumbentCalls { get; init; }
    public long TrainingCalls => RolloutCalls + PrescreenCalls + ValidationCalls + TestCalls;
    public int Gated { get; init; }
    public int Accepted { get; init; }
    public int Inconclusive { get; init; }
    public int Reverts { get; init; }
    public int GoodGated { get; init; }
    public int GoodAccepted { get; init; }
    public int NonImprovingGated { get; init; }
    public int NonImprovingAccepted { get; init; }
    public int HarmfulGated { get; init; }
    public int HarmfulAccepted { get; init; }
    public double GoodWinShareSum { get; init; }
    public double GoodGainSum { get; init; }
    public int UsefulProcedures { get; init; }
    public int FinalEdits { get; init; }
    public int? StoppedAfterStep { get; init; }
    public bool ApprovalCompared { get; init; }
    public bool ApprovalShownBetter { get; init; }
    public bool TrulyBetter { get; init; }
    public IReadOnlyList<string> Diagnostics { get; init; } = [];
}

/// <summary>One simulated training run under one policy: the sequence of gated candidates with calls counted as the loop counts them.</summary>
internal sealed class Simulation
{
    /// <summary>A true validation gain above this makes a candidate "good" (the issue's threshold).</summary>
    public const double GoodGain = 0.02;
    /// <summary>A true validation gain below this makes a candidate harmful.</summary>
    public const double HarmfulGain = -0.01;
    private const int CombinationSampleBase = 2_000_000;
    private const int CheckSampleBase = 3_000_000;
    private const int ReferenceSampleBase = 5_000_000;

    private readonly World _world;
    private readonly Shape _shape;
    private readonly PolicySpec _policy;
    private readonly int _seed;
    private readonly bool _diagnose;
    private readonly int _approvalDraws;
    private readonly double _approvalAlpha;
    private readonly Dictionary<string, SimSkill> _skills = new(StringComparer.Ordinal);
    private readonly Dictionary<(int Skill, int Task, int Sample), bool> _cache = [];
    private readonly List<string> _diag = [];
    private int _nextSkillId;
    private long _rollout, _prescreen, _validation, _test, _approval, _incumbent;
    private int _currentId;

    public Simulation(World world, Shape shape, PolicySpec policy, int seed, bool diagnose, int approvalDraws = 1, double approvalAlpha = 0.05)
    {
        (_world, _shape, _policy, _seed, _diagnose, _approvalDraws, _approvalAlpha) = (world, shape, policy, seed, diagnose, approvalDraws, approvalAlpha);
    }

    private SimSkill NewSkill(IReadOnlyList<Edit> edits)
    {
        var s = new SimSkill(_nextSkillId++, edits, _world);
        _skills[s.Key] = s;
        return s;
    }

    private enum Spend { Rollout, Prescreen, Validation, Test, Approval }

    private bool Outcome(SimSkill skill, SimTask task, int sample, Spend spend, bool cache)
    {
        if (cache && _cache.TryGetValue((skill.Id, task.Index, sample), out var hit))
        {
            return hit;
        }
        var pass = _world.Passes(skill, task.Index, sample);
        switch (spend)
        {
            case Spend.Rollout: _rollout++; break;
            case Spend.Prescreen: _prescreen++; break;
            case Spend.Validation: _validation++; break;
            case Spend.Test: _test++; break;
            default: _approval++; break;
        }
        if (cache)
        {
            _cache[(skill.Id, task.Index, sample)] = pass;
        }
        return pass;
    }

    private Task<Evaluation> Evaluate(string skill, string hash, IReadOnlyList<string> taskIds, int sample, CancellationToken ct)
    {
        var s = _skills[hash];
        var before = _validation;
        // noflaky=1: the world's flaky tasks are scored (and paid for) but left out of the evidence, as if errored (an oracle)
        var skipFlaky = _policy.Get("noflaky", 0) > 0;
        var results = taskIds.Select(id =>
        {
            var pass = Outcome(s, _world.ById[id], sample, Spend.Validation, cache: true);
            return skipFlaky && _world.ById[id].Flaky
                ? new RolloutResult { TaskId = id, Outcome = TaskOutcome.Errored, Score = 0 }
                : new RolloutResult { TaskId = id, Outcome = pass ? TaskOutcome.Passed : TaskOutcome.Failed, Score = pass ? 1 : 0 };
        }).ToList();
        if (s.Id == _currentId)
        {
            _incumbent += _validation - before;
        }
        return Task.FromResult(new Evaluation(hash, sample, results));
    }

    private IValidationGate? PairedGate() => _policy.Name switch
    {
        "sprt" => new PairedSequentialGate(_policy.Get("alpha", 0.05), true, (int)_policy.Get("chunk", 8), _policy.Get("veto", 1) > 0, 3,
            (int)_policy.Get("draws", 3), _policy.Get("alt", 0.7), _policy.Get("power", 0.8), _policy.Get("final", 1) > 0),
        // unset keys take the gate's own defaults (threshold 0.7, prior 3, stop 0.1, chunk 8, draws 3)
        "posterior" => new PosteriorPairedGate(_policy.Get("threshold", 0.7), _policy.Get("prior", 3), _policy.Get("stop", 0.1), (int)_policy.Get("chunk", 8), (int)_policy.Get("draws", 3),
            _policy.Settings.TryGetValue("accept", out var a) ? a : null),
        "value" => new ValueOfInformationGate(_policy.Settings.TryGetValue("c", out var c) ? c / _shape.Val : _policy.Get("lambda", 1e-4), _policy.Get("tau", 0.05), _policy.Get("margin", 0), (int)_policy.Get("chunk", 8), (int)_policy.Get("draws", 3)),
        _ => null,
    };

    private static int Draws(IValidationGate gate) => gate switch
    {
        PairedSequentialGate p => p.MaxDraws,
        PosteriorPairedGate q => q.MaxDraws,
        ValueOfInformationGate v => v.MaxDraws,
        _ => 1,
    };

    /// <summary>
    /// P(R ≥ r) where R is the candidate's passes on the unscored tasks: those the stored draw passed follow
    /// BetaBin(n₁, 1 + passes there, 1 + failures there), those it failed BetaBin(n₀, …) likewise, independently.
    /// </summary>
    private static double Bb(int n, double a, double b, int k) => n == 0 ? (k == 0 ? 1 : 0) : MathNet.Numerics.Distributions.BetaBinomial.PMF(n, a, b, k);

    private static double PairedTail(IReadOnlyList<SimTask> val, Dictionary<int, bool> scored, Dictionary<int, bool> stored, int r)
    {
        if (r <= 0)
        {
            return 1;
        }
        int p1 = 0, f1 = 0, p0 = 0, f0 = 0, n1 = 0, n0 = 0;
        foreach (var t in val)
        {
            var inc = stored.TryGetValue(t.Index, out var x) && x;
            if (scored.TryGetValue(t.Index, out var c))
            {
                if (inc) { if (c) p1++; else f1++; } else { if (c) p0++; else f0++; }
            }
            else if (inc) n1++; else n0++;
        }
        var pmf0 = Enumerable.Range(0, n0 + 1).Select(k => Bb(n0, 1 + p0, 1 + f0, k)).ToArray();
        var total = 0.0;
        for (var j = 0; j <= n1; j++)
        {
            var pj = Bb(n1, 1 + p1, 1 + f1, j);
            var tail = 0.0;
            for (var k = Math.Max(0, r - j); k <= n0; k++)
            {
                tail += pmf0[k];
            }
            total += pj * tail;
        }
        return total;
    }

    /// <summary>
    /// P(C > S) for a candidate with passes/failures so far and <paramref name="left"/> to come against a partial stored draw:
    /// both remainders beta-binomial with a uniform prior; C's total must be strictly above S's whole-draw total.
    /// </summary>
    private static double LazyAbove(int passes, int failures, int left, Dictionary<int, bool> stored, double previousBar, double mode)
    {
        var n = passes + failures + left;
        double sp = stored.Values.Count(x => x);
        double sf = stored.Count - sp;
        var sl = n - stored.Count;
        var spk = (int)sp;
        if (mode > 1)
        {
            // mode 1 + m: the predictive's centre moved a share m of the way from the partial draw's mean to the bar it was
            // accepted against, with the partial draw's weight
            var m = mode - 1;
            var centre = m * previousBar + (1 - m) * (sp / Math.Max(1, stored.Count));
            (sp, sf) = (centre * stored.Count, (1 - centre) * stored.Count);
        }
        var total = 0.0;
        for (var j = 0; j <= sl; j++)
        {
            var pj = Bb(sl, 1 + sp, 1 + sf, j);
            var need = spk + j + 1 - passes; // C's remaining passes needed
            double tail;
            if (need <= 0) tail = 1;
            else if (need > left) tail = 0;
            else tail = Math.Clamp(1 - MathNet.Numerics.Distributions.BetaBinomial.CDF(left, 1 + passes, 1 + failures, need - 1), 0, 1);
            total += pj * tail;
        }
        return total;
    }

    /// <summary>The textual learning rate of step t (1-based) of T: cosine from 4 to 2, rounded half to even (the reference's).</summary>
    private static int LearningRate(int t, int total) =>
        (int)Math.Round(2 + (4 - 2) * (1 + Math.Cos(Math.PI * t / total)) / 2, MidpointRounding.ToEven);

    private List<Edit> Propose(int step, int count)
    {
        var c = _world.Config;
        var edits = new List<Edit>();
        for (var j = 0; j < count; j++)
        {
            var id = step * 16 + j;
            var rng = new Random(Rng.Int(_world.Seed, 3, id));
            var r = rng.NextDouble();
            if (r < c.UsefulShare && c.Procedures > 0)
            {
                edits.Add(new Edit(id, EditKind.Useful, rng.Next(c.Procedures), 0, 0));
            }
            else if (r < c.UsefulShare + c.HarmfulShare)
            {
                edits.Add(new Edit(id, EditKind.Harmful, -1, MathNet.Numerics.Distributions.LogNormal.Sample(rng, Math.Log(c.HarmMedian), c.HarmSigma), 0.1 + 0.3 * rng.NextDouble()));
            }
            else
            {
                edits.Add(new Edit(id, EditKind.Useless, -1, c.UselessSd * MathNet.Numerics.Distributions.Normal.Sample(rng, 0, 1), 0));
            }
        }
        return edits;
    }

    public RunMetrics Run()
    {
        var initial = NewSkill([]);
        var current = initial;
        var gate = PairedGate();
        var draws = gate is null ? 1 : Draws(gate);
        var prescreen = _policy.Get("prescreen", _policy.Name == "reference" ? 0 : 1) > 0;
        var combine = (int)_policy.Get("combine", 0);
        var patience = (int)_policy.Get("patience", 0);
        var checkEvery = (int)_policy.Get("check", 0);
        var endCheck = _policy.Get("endcheck", 0) > 0;
        var fresh = _policy.Get("fresh", 1) > 0;
        var checkDraws = (int)_policy.Get("checkdraws", 2);
        var checkThreshold = _policy.Get("checkthreshold", 0.5);
        var bundle = Math.Max(1, (int)_policy.Get("bundle", 1));
        var pending = new List<Edit>();
        var pendingSteps = 0;
        int accepted = 0, inconclusive = 0, gated = 0, rounds = 0, combos = 0, checks = 0, reverts = 0, sinceAccept = 0, sinceCheck = 0;
        int good = 0, goodAccepted = 0, nonImproving = 0, nonImprovingAccepted = 0, harmful = 0, harmfulAccepted = 0;
        double goodShare = 0, goodGain = 0;
        var referenceSample = ReferenceSampleBase;
        var checkpoint = initial;
        var pool = new List<List<Edit>>();
        int? stoppedAfter = null;
        var val = _world.Validation;
        var valIds = val.Select(t => t.Id).ToList();

        // baseline: the reference stores one full draw of the initial skill; the paired gates measure lazily
        var stored = 0.0;
        var storedOutcomes = new Dictionary<int, bool>();
        var storedSample = referenceSample;
        var hist = new Dictionary<int, (int P, int F)>();
        var previousBar = 0.0;
        if (_policy.Name == "reference")
        {
            foreach (var t in val)
            {
                storedOutcomes[t.Index] = Outcome(initial, t, referenceSample, Spend.Validation, cache: false);
            }
            stored = storedOutcomes.Values.Average(x => x ? 1.0 : 0.0);
            foreach (var (k, v) in storedOutcomes)
            {
                hist[k] = v ? (1, 0) : (0, 1);
            }
            referenceSample++;
        }

        // gate one candidate; returns the verdict
        GateVerdict Judge(SimSkill candidate, int firstSample, string what, int step)
        {
            gated++;
            var gain = World.Expected(candidate, val) - World.Expected(current, val);
            GateVerdict verdict;
            string reason;
            if (_policy.Name is "oracle" or "all")
            {
                // bounds, not gates: the truth at no cost, or no gate at all
                verdict = _policy.Name == "all" || gain > 0 ? GateVerdict.Accept : GateVerdict.Reject;
                reason = _policy.Name;
            }
            else if (gate is null)
            {
                // fut > 0: the same strict decision, stopped after a chunk once the predictive probability (beta-binomial,
                // uniform prior on the candidate's pass rate) that the whole draw ends above the stored score is below fut
                var fut = _policy.Get("fut", 0);
                var chunkSize = (int)_policy.Get("chunk", 8);
                // first=k: the first look after k tasks, then every chunk tasks after it (default: the first look after a chunk)
                var firstLook = (int)_policy.Get("first", chunkSize);
                bool IsLook(int n) => n >= firstLook && (n - firstLook) % chunkSize == 0;
                // early=q: accept once at least earlymin (share of the split, default 0.5) is scored and the predictive
                // probability of ending strictly above the stored draw is ≥ q; the accepted candidate's other tasks are
                // left unscored and run (on its own sample) only when a later candidate goes the whole split
                var early = _policy.Get("early", 0);
                // bytask=σ: the predictive of gate.strict.task_difficulty — each remaining task's pass rate over every earlier
                // validation outcome of the run (any skill), shifted on the logit scale by the candidate's θ ~ N(0, σ²)
                var byTask = _policy.Get("bytask", 0);
                var seen = new List<(int Task, bool Pass)>();
                var earlyMin = (int)Math.Ceiling(_policy.Get("earlymin", 0.5) * val.Count);
                var order = fut > 0 || early > 0 ? val.OrderBy(t => Rng.Hash(_world.Seed, 7, gated, t.Index)).ToList() : val;
                if (_policy.Get("order", 0) > 0 && fut > 0)
                {
                    // order=1: the most informative tasks first — p(1 − p) at the task's pass rate over the run's earlier
                    // validation outcomes (Jeffreys), ties in the seeded order; order=2: the same, banded in steps of 0.05
                    // (so the seeded order decides within a band)
                    double Info(SimTask t)
                    {
                        var h = hist.GetValueOrDefault(t.Index);
                        var q = (h.P + 0.5) / (h.P + h.F + 1.0);
                        var i = q * (1 - q);
                        return _policy.Get("order", 0) >= 2 ? Math.Round(i / 0.05) : i;
                    }
                    order = [.. order.Select((t, i) => (t, i)).OrderByDescending(x => Info(x.t)).ThenBy(x => x.i).Select(x => x.t)];
                }
                int passes = 0, scored = 0;
                var paired = _policy.Get("paired", 0) > 0;
                var outcomes = new Dictionary<int, bool>();
                var stopped = false;
                var acceptedEarly = false;
                var sample = referenceSample;
                foreach (var t in order)
                {
                    var o = Outcome(candidate, t, sample, Spend.Validation, cache: false);
                    outcomes[t.Index] = o;
                    seen.Add((t.Index, o));
                    passes += o ? 1 : 0;
                    scored++;
                    if ((fut > 0 || early > 0) && IsLook(scored) && scored < val.Count)
                    {
                        var left = val.Count - scored;
                        double p;
                        if (byTask > 0 && storedOutcomes.Count == val.Count)
                        {
                            var needed = StrictCurtailment.PassesNeeded(val.Count, stored);
                            double D(int t) => StrictCurtailment.TaskLogit(hist.GetValueOrDefault(t).P, hist.GetValueOrDefault(t).F);
                            p = StrictCurtailment.ProbabilityAboveByTask([.. outcomes.Select(o => (o.Value, D(o.Key)))],
                                [.. val.Where(t => !outcomes.ContainsKey(t.Index)).Select(t => D(t.Index))], needed - passes, byTask);
                        }
                        else if (storedOutcomes.Count < val.Count)
                        {
                            p = LazyAbove(passes, scored - passes, left, storedOutcomes, previousBar, _policy.Get("lazy", 1));
                        }
                        else
                        {
                            var needed = StrictCurtailment.PassesNeeded(val.Count, stored);
                            if (needed - passes > left)
                            {
                                stopped = true;
                                break;
                            }
                            p = paired ? PairedTail(val, outcomes, storedOutcomes, needed - passes) : StrictCurtailment.ProbabilityAbove(passes, scored - passes, left, stored);
                        }
                        if (fut > 0 && p < fut)
                        {
                            stopped = true;
                            break;
                        }
                        if (early > 0 && scored >= earlyMin && p >= early && (storedOutcomes.Count == val.Count || _policy.Get("earlyvspartial", 1) > 0))
                        {
                            acceptedEarly = true;
                            break;
                        }
                    }
                }
                if (!stopped && !acceptedEarly && storedOutcomes.Count < val.Count)
                {
                    // the whole split scored against a partial draw: the current skill's other tasks now, on its own sample
                    foreach (var t in val.Where(t => !storedOutcomes.ContainsKey(t.Index)))
                    {
                        storedOutcomes[t.Index] = Outcome(current, t, storedSample, Spend.Validation, cache: false);
                    }
                    stored = storedOutcomes.Values.Average(x => x ? 1.0 : 0.0);
                }
                foreach (var (ti, po) in seen)
                {
                    var h = hist.GetValueOrDefault(ti);
                    hist[ti] = po ? (h.P + 1, h.F) : (h.P, h.F + 1);
                }
                var score = passes / (double)scored;
                referenceSample++;
                verdict = acceptedEarly || (!stopped && score > stored) ? GateVerdict.Accept : GateVerdict.Reject;
                reason = string.Create(CultureInfo.InvariantCulture, $"{score:0.000} on {scored} vs stored {stored:0.000}{(acceptedEarly ? " (early)" : "")}");
                if (verdict == GateVerdict.Accept)
                {
                    previousBar = stored;
                    stored = score;
                    storedSample = sample;
                    storedOutcomes.Clear();
                    foreach (var (k, v) in outcomes)
                    {
                        storedOutcomes[k] = v;
                    }
                }
            }
            else
            {
                var history = IncumbentHistory(current, firstSample, draws);
                _currentId = current.Id;
                var d = gate.DecideAsync(new GateContext(candidate.Key, candidate.Key, current.Key, current.Key, new Evaluation(current.Key, 0, []), valIds, Evaluate, _seed,
                    firstSample, history), CancellationToken.None).GetAwaiter().GetResult();
                verdict = d.Verdict;
                reason = d.Reason;
            }
            var share = _world.WinShare(candidate, current, val);
            if (gain > GoodGain)
            {
                good++;
                goodShare += share;
                goodGain += gain;
                goodAccepted += verdict == GateVerdict.Accept ? 1 : 0;
            }
            if (gain <= 0)
            {
                nonImproving++;
                nonImprovingAccepted += verdict == GateVerdict.Accept ? 1 : 0;
            }
            if (gain < HarmfulGain)
            {
                harmful++;
                harmfulAccepted += verdict == GateVerdict.Accept ? 1 : 0;
            }
            if (_diagnose)
            {
                _diag.Add(string.Create(CultureInfo.InvariantCulture, $"step {step} {what}: true Δ {gain:+0.000;-0.000;0.000} θ {share:0.00} → {verdict.ToString().ToLowerInvariant()} ({reason})"));
            }
            return verdict;
        }

        void Accept(SimSkill candidate)
        {
            current = candidate;
            accepted++;
            rounds++;
            sinceAccept = 0;
            sinceCheck++;
        }

        // non-regression check: the current skill against the last checked one on fresh draws; reverts when not better
        void Check(int step)
        {
            if (current.Id == checkpoint.Id)
            {
                return;
            }
            int w = 0, l = 0;
            for (var k = 0; k < checkDraws; k++)
            {
                var sample = CheckSampleBase + checks * 16 + k;
                foreach (var t in val)
                {
                    var c = Outcome(current, t, sample, Spend.Validation, cache: true);
                    var i = Outcome(checkpoint, t, sample, Spend.Validation, cache: true);
                    w += c && !i ? 1 : 0;
                    l += !c && i ? 1 : 0;
                }
            }
            checks++;
            var p = PairedPosterior.ProbabilityBetter(w, l);
            var truth = World.Expected(current, val) - World.Expected(checkpoint, val);
            if (_diagnose)
            {
                _diag.Add(string.Create(CultureInfo.InvariantCulture, $"step {step} check: true Δ {truth:+0.000;-0.000;0.000} {w} wins {l} losses P(better) {p:0.000} → {(p >= checkThreshold ? "keep" : "revert")}"));
            }
            if (p >= checkThreshold)
            {
                checkpoint = current;
            }
            else
            {
                current = checkpoint;
                reverts++;
                rounds++;
            }
            sinceCheck = 0;
        }

        var steps = 0;
        for (var step = 1; step <= _shape.Steps; step++)
        {
            steps = step;
            var acceptedBefore = accepted;
            var epoch = (step - 1) / _shape.StepsPerEpoch;
            var index = (step - 1) % _shape.StepsPerEpoch;
            var batch = _world.Train.OrderBy(t => Rng.Hash(_world.Seed, 7, epoch, t.Index)).Skip(index * _shape.Batch).Take(_shape.Batch).ToList();
            // rollout of the current skill with the edits still waiting for a gate (bundle > 1), then the candidate of the step
            var rolloutSkill = pending.Count == 0 ? current : NewSkill([.. current.Edits, .. pending]);
            var outcomes = batch.Select(t => (Task: t, Pass: Outcome(rolloutSkill, t, step, Spend.Rollout, cache: gate is not null))).ToList();
            var edits = Propose(step, LearningRate(step, _shape.Steps));
            var candidate = NewSkill([.. current.Edits, .. pending, .. edits]);
            var verdict = GateVerdict.Reject;
            var screened = true;
            if (prescreen)
            {
                var failed = outcomes.Where(o => !o.Pass).Select(o => o.Task).OrderBy(t => Rng.Hash(_world.Seed, 9, step, t.Index)).Take((int)_policy.Get("psfailed", 8)).ToList();
                var passed = outcomes.Where(o => o.Pass).Select(o => o.Task).OrderBy(t => Rng.Hash(_world.Seed, 9, step, t.Index)).Take((int)_policy.Get("pspassed", 4)).ToList();
                var fixes = failed.Count(t => Outcome(candidate, t, step, Spend.Prescreen, cache: true));
                var breaks = passed.Count(t => !Outcome(candidate, t, step, Spend.Prescreen, cache: true));
                screened = SkillOpt.Core.Training.PrescreenPhase.Rule(failed.Count, fixes, passed.Count, [.. Enumerable.Repeat("t", breaks)]).Passed;
            }
            if (bundle > 1)
            {
                // the step's edits wait (when they passed the pre-screen) until the bundle holds `bundle` steps, then the whole bundle is gated
                if (screened)
                {
                    pending.AddRange(edits);
                }
                pendingSteps++;
                screened = pending.Count > 0 && (pendingSteps >= bundle || step == _shape.Steps);
                if (screened)
                {
                    candidate = NewSkill([.. current.Edits, .. pending]);
                    edits = [.. pending];
                    pending.Clear();
                    pendingSteps = 0;
                }
                else if (pending.Count > 0 && pendingSteps < bundle)
                {
                    if (patience > 0 && ++sinceAccept >= patience)
                    {
                        stoppedAfter = step;
                        break;
                    }
                    continue;
                }
                else
                {
                    pendingSteps = 0;
                }
            }
            if (screened)
            {
                verdict = Judge(candidate, fresh ? rounds * draws : 0, "candidate", step);
                if (verdict == GateVerdict.Accept)
                {
                    Accept(candidate);
                }
                else if (verdict == GateVerdict.Inconclusive)
                {
                    inconclusive++;
                    if (combine > 1)
                    {
                        pool.Add(edits);
                        if (pool.Count >= combine)
                        {
                            var combined = NewSkill([.. current.Edits, .. pool.SelectMany(e => e)]);
                            var v = Judge(combined, CombinationSampleBase + combos * draws, "combination", step);
                            combos++;
                            if (v == GateVerdict.Accept)
                            {
                                Accept(combined);
                                pool.Clear();
                            }
                            else if (v == GateVerdict.Reject)
                            {
                                pool.Clear();
                            }
                            else
                            {
                                inconclusive++;
                                pool.RemoveRange(0, pool.Count - (combine - 1));
                            }
                        }
                    }
                }
            }
            if (accepted == acceptedBefore)
            {
                sinceAccept++;
            }
            if (checkEvery > 0 && sinceCheck >= checkEvery)
            {
                Check(step);
            }
            if (patience > 0 && sinceAccept >= patience)
            {
                stoppedAfter = step;
                break;
            }
        }
        if (endCheck)
        {
            Check(steps);
        }

        // test phase: initial and final (= best) skills on the test split, sample 0
        foreach (var s in new[] { initial, current }.DistinctBy(s => s.Id))
        {
            foreach (var t in _world.Test)
            {
                Outcome(s, t, 0, Spend.Test, cache: true);
            }
        }
        // approval: the received (final) skill against the committed (initial) one on the test split, paired, sample 0 (+ more draws)
        var compared = current.Id != initial.Id;
        var shown = false;
        if (compared)
        {
            int w = 0, l = 0;
            for (var k = 0; k < _approvalDraws; k++)
            {
                foreach (var t in _world.Test)
                {
                    var c = Outcome(current, t, k, k == 0 ? Spend.Test : Spend.Approval, cache: true);
                    var i = Outcome(initial, t, k, k == 0 ? Spend.Test : Spend.Approval, cache: true);
                    w += c && !i ? 1 : 0;
                    l += !c && i ? 1 : 0;
                }
            }
            shown = PairedStatistics.SignTestPValue(w, l) <= _approvalAlpha;
        }
        var initialTest = World.Expected(initial, _world.Test);
        var finalTest = World.Expected(current, _world.Test);
        return new RunMetrics
        {
            Policy = _policy.Label,
            World = _world.Config.Name,
            Shape = _shape.Name,
            Seed = _seed,
            InitialTest = initialTest,
            FinalTest = finalTest,
            InitialVal = World.Expected(initial, val),
            FinalVal = World.Expected(current, val),
            Steps = steps,
            RolloutCalls = _rollout,
            PrescreenCalls = _prescreen,
            ValidationCalls = _validation,
            TestCalls = _test,
            ApprovalCalls = _approval,
            IncumbentCalls = _incumbent,
            Gated = gated,
            Accepted = accepted,
            Inconclusive = inconclusive,
            Reverts = reverts,
            GoodGated = good,
            GoodAccepted = goodAccepted,
            NonImprovingGated = nonImproving,
            NonImprovingAccepted = nonImprovingAccepted,
            HarmfulGated = harmful,
            HarmfulAccepted = harmfulAccepted,
            GoodWinShareSum = goodShare,
            GoodGainSum = goodGain,
            UsefulProcedures = current.UsefulProcedures,
            FinalEdits = current.Edits.Count,
            StoppedAfterStep = stoppedAfter,
            ApprovalCompared = compared,
            ApprovalShownBetter = shown,
            TrulyBetter = finalTest > initialTest,
            Diagnostics = _diag,
        };
    }

    /// <summary>The current skill's cached validation results of this round and the one before, by task (the loop's veto evidence).</summary>
    private Dictionary<string, IReadOnlyList<RolloutResult>> IncumbentHistory(SimSkill current, int firstSample, int draws)
    {
        var history = new Dictionary<string, IReadOnlyList<RolloutResult>>(StringComparer.Ordinal);
        foreach (var t in _world.Validation)
        {
            var list = new List<RolloutResult>();
            for (var s = Math.Max(0, firstSample - draws); s < firstSample + draws; s++)
            {
                if (_cache.TryGetValue((current.Id, t.Index, s), out var pass))
                {
                    list.Add(new RolloutResult { TaskId = t.Id, Outcome = pass ? TaskOutcome.Passed : TaskOutcome.Failed, Score = pass ? 1 : 0 });
                }
            }
            history[t.Id] = list;
        }
        return history;
    }
}
