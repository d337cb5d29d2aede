using System.Globalization;

namespace SkillOpt.Core.Configuration;

/// <summary>
/// The documented range of every number in <c>skillopt.yaml</c> (docs/configuration.md, "Ranges"), checked at load time
/// before any model call. Keys are dotted paths; <c>*</c> stands for a name the user chooses (a model id under
/// <c>pricing</c>, a role under <c>models</c>).
/// </summary>
internal static class ConfigRanges
{
    /// <summary>One number's range: <see cref="Min"/> to <see cref="Max"/>, each bound included unless marked exclusive.</summary>
    /// <param name="Min">Lower bound.</param>
    /// <param name="MinExclusive">The lower bound itself is not allowed.</param>
    /// <param name="Max">Upper bound.</param>
    /// <param name="MaxExclusive">The upper bound itself is not allowed.</param>
    /// <param name="Unit">Unit shown after the range (<c>seconds</c>, <c>US dollars</c>…), or empty.</param>
    public sealed record NumberRange(double Min, bool MinExclusive, double Max, bool MaxExclusive, string Unit = "")
    {
        /// <summary>Whether <paramref name="value"/> is finite and inside the range.</summary>
        /// <param name="value">The value.</param>
        public bool Contains(double value) =>
            double.IsFinite(value) && (MinExclusive ? value > Min : value >= Min) && (MaxExclusive ? value < Max : value <= Max);

        /// <summary>The range as the docs write it, e.g. <c>1 to 256</c> or <c>more than 0, at most 86,400 seconds</c>.</summary>
        public override string ToString()
        {
            var unit = Unit.Length == 0 ? "" : " " + Unit;
            return !MinExclusive && !MaxExclusive ? $"{N(Min)} to {N(Max)}{unit}"
                : $"{(MinExclusive ? "more than" : "at least")} {N(Min)} and {(MaxExclusive ? "less than" : "at most")} {N(Max)}{unit}";
        }

        private static string N(double v) =>
            v == Math.Floor(v) && Math.Abs(v) < 9e18 ? ((long)v).ToString("#,0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);
    }

    private static NumberRange Between(double min, double max, string unit = "") => new(min, false, max, false, unit);
    private static NumberRange Above(double min, double max, string unit = "") => new(min, true, max, false, unit);

    /// <summary>Every number's range by dotted path (<c>*</c> for a user-chosen name).</summary>
    public static IReadOnlyDictionary<string, NumberRange> All { get; } = new Dictionary<string, NumberRange>(StringComparer.Ordinal)
    {
        ["seed"] = Between(int.MinValue, int.MaxValue),
        ["training.epochs"] = Between(1, 1_000),
        ["training.batch_size"] = Between(1, 10_000),
        ["training.minibatch_size"] = Between(1, 1_000),
        ["training.merge_fan_in"] = Between(2, 1_000),
        ["training.optimizer_concurrency"] = Between(1, 256),
        ["training.proposals"] = Between(1, 16),
        ["training.learning_rate.max"] = Between(1, 100),
        ["training.learning_rate.min"] = Between(1, 100),
        ["training.slow_update.sample_size"] = Between(1, 10_000),
        ["training.slow_update.max_words"] = Between(1, 10_000),
        ["training.meta_skill.max_words"] = Between(1, 10_000),
        ["training.early_stopping.patience"] = Between(0, 100_000),
        ["skill.token_budget"] = Between(0, 1_000_000, "tokens"),
        ["skill.max_initial_tokens"] = Between(0, 10_000_000, "tokens"),
        ["skill.duplicate_similarity"] = Between(0, 2),
        ["gate.alpha"] = Above(0, 0.5),
        ["gate.max_draws"] = Between(1, 100),
        ["gate.alternative_win_share"] = new(0.5, true, 1, true),
        ["gate.power"] = new(0, true, 1, true),
        ["gate.chunk_size"] = Between(1, 10_000),
        ["gate.veto_min_samples"] = Between(1, 1_000),
        ["gate.combine_inconclusive"] = Between(0, 100),
        ["gate.prescreen.failed_tasks"] = Between(1, 10_000),
        ["gate.prescreen.max_validation_tasks"] = Between(0, 10_000_000),
        ["gate.prescreen.passed_tasks"] = Between(0, 10_000),
        ["gate.posterior.threshold"] = new(0.5, true, 1, true),
        ["gate.posterior.prior"] = Above(0, 1_000),
        ["gate.posterior.stop_probability"] = new(0, false, 0.5, true),
        ["gate.posterior.max_draws"] = Between(1, 100),
        ["gate.strict.stop_probability"] = new(0, false, 0.5, true),
        ["approval.alpha"] = Above(0, 0.5),
        ["approval.test_draws"] = Between(1, 100),
        ["budget.max_target_calls"] = Between(1, 1e12),
        ["budget.max_optimizer_calls"] = Between(1, 1e12),
        ["budget.max_tokens"] = Between(1, 1e15),
        ["budget.max_cost_usd"] = Above(0, 1_000_000, "US dollars"),
        ["budget.max_wall_seconds"] = Above(0, 31_536_000, "seconds"),
        ["rollouts.errored_retries"] = Between(0, 10),
        ["rollouts.max_error_rate"] = Between(0, 1),
        ["rollouts.concurrency"] = Between(1, 256),
        ["rollouts.workers"] = Between(0, 64),
        ["rollouts.timeout_seconds"] = Above(0, 86_400, "seconds"),
        ["rollouts.max_output_bytes"] = Between(4_096, 1_073_741_824, "bytes"),
        ["splits.train"] = Between(0, 1),
        ["splits.val"] = Between(0, 1),
        ["splits.test"] = Between(0, 1),
        ["models.*.temperature"] = Between(0, 2),
        ["models.*.max_output_tokens"] = Between(1, 1_000_000, "tokens"),
        ["models.*.seed"] = Between(-9_007_199_254_740_991, 9_007_199_254_740_991),
        ["models.*.concurrency"] = Between(1, 1_024),
        ["models.*.requests_per_minute"] = Between(1, 1_000_000),
        ["models.*.timeout_seconds"] = Above(0, 3_600, "seconds"),
        ["models.*.max_retries"] = Between(0, 100),
        ["pricing.*.input_per_million"] = Between(0, 100_000, "US dollars"),
        ["pricing.*.cached_input_per_million"] = Between(0, 100_000, "US dollars"),
        ["pricing.*.output_per_million"] = Between(0, 100_000, "US dollars"),
    };

    /// <summary>The range of the number at <paramref name="schemaPath"/> (user-chosen names replaced by <c>*</c>), or <see langword="null"/>.</summary>
    /// <param name="schemaPath">For example <c>models.*.timeout_seconds</c>.</param>
    public static NumberRange? Find(string schemaPath) => All.GetValueOrDefault(schemaPath);
}
