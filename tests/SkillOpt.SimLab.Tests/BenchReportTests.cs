using SkillOpt.Bench;

namespace SkillOpt.SimLab.Tests;

/// <summary>The benchmark's statistics and results page (bench/SkillOpt.Bench), on hand-made runs.</summary>
public class BenchReportTests
{
    [Theory]
    [InlineData(0, 10, 0.0, 0.308498)]
    [InlineData(5, 10, 0.187086, 0.812914)]
    [InlineData(10, 10, 0.691502, 1.0)]
    [InlineData(8, 192, 0.018158, 0.080447)]
    public void Clopper_Pearson_intervals_match_the_exact_binomial_bounds(int k, int n, double low, double high)
    {
        var (lo, hi) = BenchStats.ClopperPearson(k, n);
        Assert.Equal(low, lo, 5);
        Assert.Equal(high, hi, 5);
    }

    [Fact]
    public void The_paired_interval_is_a_t_interval_over_seeds()
    {
        var (m, lo, hi) = BenchStats.TInterval([0.01, 0.03, -0.01, 0.05]);
        Assert.Equal(0.02, m, 12);
        // sd = 0.025820, t(3, 0.975) = 3.182446: half width 0.041087
        Assert.Equal(0.02 - 0.041087, lo, 5);
        Assert.Equal(0.02 + 0.041087, hi, 5);
        Assert.Equal("+0.020", BenchStats.Signed(m));
        Assert.Equal("-0.021", BenchStats.Signed(lo));
        Assert.Equal("0.000", BenchStats.Signed(-0.0001));
    }

    private static RunResult Run(string preset, int seed, long calls, double expectedTest, params CandidateResult[] candidates) => new()
    {
        Shape = "reference",
        Scenario = "null-optimizer",
        Preset = preset,
        Seed = seed,
        TargetCalls = calls,
        ExpectedBestTest = expectedTest,
        Accepted = candidates.Count(c => c.Verdict == "accept"),
        Splits = "400/200/200, batch 40",
        Procedures = 7,
        Candidates = candidates,
    };

    private static CandidateResult C(string verdict, string gate, double delta) => new("step", 1, verdict, gate, delta, delta, 200, "");

    [Fact]
    public void False_accepts_are_counted_per_validation_gate_with_the_same_denominator_for_both_presets()
    {
        var runs = new List<RunResult>();
        for (var seed = 1; seed <= 4; seed++)
        {
            // classic: 4 candidates at its strict gate, one accepted with no true effect
            runs.Add(Run("classic", seed, 10_000, 0.50, C("accept", "strict", 0), C("reject", "strict", 0), C("reject", "strict", 0), C("reject", "strict", -0.01)));
            // default: 2 pre-screen rejections (not in the denominator), 2 at the paired gate, and a useful candidate accepted
            runs.Add(Run("default", seed, 2_000, 0.50, C("reject", "prescreen", 0), C("reject", "prescreen", 0), C("reject", "paired", 0), C("inconclusive", "paired", 0), C("accept", "paired", 0.05)));
        }
        var page = BenchReport.Generate(runs, new ReportContext([Shape.Reference], 2, false, []));
        // per seed group (2 seeds): classic 2 of its 8 candidates without a true gain; default 0 of 4, pre-screen rejections left out
        Assert.Contains("2/8 = 25.0% [3.2%, 65.1%] / 0/4 = 0.0% [0.0%, 60.2%]", page);
        Assert.Contains("1.00 → 0.00", page); // false accepts per run
        Assert.Contains("| 2.0 |", page); // pre-screen rejections per run
        Assert.Contains("### Targets on the confirmation seeds (3–4, not used for tuning)", page);
        Assert.Contains("| null-optimizer | 2 | 0.20× (met) | 0.000 [0.000, 0.000] (met) | 0/4 = 0.0% [0.0%, 60.2%] (**not met**) | **not met** |", page);
        Assert.Contains("| null-optimizer | 2 (tuning) |", page);
        Assert.Contains("| null-optimizer | 2 (confirmation) |", page);
        // the useful candidate: accepted by default, so none of default's 4 useful candidates was rejected
        Assert.Contains("| null-optimizer | default | 4 | 1.00 | 3.0 (+2.0) | 0/4 (0.0%) |", page);
    }

    [Theory]
    [InlineData("classic", "classic", 0)]
    [InlineData("classic@draw2", "classic", 2)]
    [InlineData("default-strict-stop@draw11", "default-strict-stop", 11)]
    [InlineData("odd@drawx", "odd@drawx", 0)]
    public void A_recorded_label_names_its_preset_and_draw(string label, string preset, int draw) =>
        Assert.Equal((preset, draw), BenchReport.Draw(label));

    [Fact]
    public void Another_draw_has_a_table_of_its_own_and_comparisons_average_each_presets_draws()
    {
        var runs = new List<RunResult>();
        for (var seed = 1; seed <= 3; seed++)
        {
            runs.Add(Run("classic", seed, 10_000, 0.50));
            runs.Add(Run("classic@draw1", seed, 10_000, seed == 3 ? 0.46 : 0.40)); // 0.10, 0.10, 0.04 below the first draw
            runs.Add(Run("default", seed, 5_000, 0.44));
        }
        var page = BenchReport.Generate(runs, new ReportContext([Shape.Reference], null, false, []));
        Assert.Contains("### Two draws of one preset", page);
        // the second draw against the first: mean −0.080
        Assert.Contains("| null-optimizer | classic | 1 | 3 | -0.080 [", page);
        // default against classic's mean over its two draws (0.45, 0.45, 0.48): −0.010 − 0.010 − 0.040, mean −0.020
        Assert.Contains("| null-optimizer | default | 1 / 2 | 3 | -0.020 [", page);
        // the first-draw tables hold no other draw: default − classic on the first draw alone is −0.060
        Assert.Contains("-0.060", page);
        Assert.DoesNotContain("| null-optimizer | classic@draw1 |", page);
    }

    [Fact]
    public void An_ablation_with_no_seed_in_common_with_default_gets_a_dash_and_the_others_their_numbers()
    {
        List<RunResult> runs =
        [
            Run("default", 1, 5_000, 0.44), Run("default", 2, 5_000, 0.46),
            Run("default-strict", 1, 4_000, 0.45), Run("default-strict", 2, 4_000, 0.47),
            Run("default-posterior", 3, 6_000, 0.40),
        ];
        var page = BenchReport.Generate(runs, new ReportContext([Shape.Reference], null, false, []));
        Assert.Contains("### Ablations", page);
        Assert.Contains("— (no seed shared with `default`)", page);
        Assert.Contains("4000 calls (-20%), E[test] +0.010 [", page);
    }

    [Fact]
    public void False_approvals_count_changed_skills_that_are_not_truly_better()
    {
        var runs = new List<RunResult>();
        var alpha = SkillOpt.Core.Configuration.ApprovalOptions.DefaultAlpha;
        for (var seed = 1; seed <= 8; seed++)
        {
            runs.Add(Run("classic", seed, 10_000, 0.50));
            // seeds 1–2: the best skill is the initial one (nothing to approve); 3–5 changed but no better, 6 truly better;
            // 7 (checked at another level) and 8 (recorded before the bench kept the level, so at 0.05) are left out
            var d = Run("default", seed, 2_000, seed == 6 ? 0.60 : 0.50) with
            {
                ExpectedInitialTest = 0.50,
                ApprovalShownBetter = seed switch { <= 2 => null, 3 or 6 or 7 or 8 => true, _ => false },
                ApprovalAlpha = seed switch { <= 2 or 8 => null, 7 => 0.1, _ => alpha },
            };
            runs.Add(d);
        }
        var page = BenchReport.Generate(runs, new ReportContext([Shape.Reference], null, false, []));
        Assert.Contains("### The approval check", page);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"one-sided exact sign test at α = {alpha}"), page);
        // 4 changed skills, 2 shown better, 1 truly better; of the 3 not truly better, 1 shown better
        Assert.Contains("| null-optimizer | 4 | 2 | 1 | 1/3 = 33.3% [0.8%, 90.6%] |", page);
        Assert.Contains("| null worlds together | 3 | | 0 | 1/3 = 33.3% [0.8%, 90.6%] |", page);
    }

    [Fact]
    public void A_page_keeps_what_lies_outside_the_generated_part()
    {
        var old = $"# Title\n\nIntro by hand.\n\n{BenchReport.Begin}\nold numbers\n{BenchReport.End}\n\n## Changelog\n\n- kept\n";
        var merged = BenchReport.Merge(old, $"{BenchReport.Begin}\nnew numbers\n{BenchReport.End}\n", "Benchmarks");
        Assert.Equal($"# Title\n\nIntro by hand.\n\n{BenchReport.Begin}\nnew numbers\n{BenchReport.End}\n\n## Changelog\n\n- kept\n", merged);
        Assert.StartsWith("# Benchmarks\n\n" + BenchReport.Begin, BenchReport.Merge(null, $"{BenchReport.Begin}\nx\n{BenchReport.End}\n", "Benchmarks"), StringComparison.Ordinal);
    }
}
