namespace SkillOpt.Core.Configuration;

/// <summary>The values of <c>gate.kind</c>: <c>paired</c>, <c>posterior</c> (both paired gates) and <c>strict</c>.</summary>
internal static class GateKinds
{
    /// <summary>
    /// The preset's gate for a validation split of <paramref name="validationTasks"/> tasks: <c>strict</c> for <c>classic</c>;
    /// for the default preset <c>posterior</c> up to <see cref="GateOptions.DefaultPosteriorMaxValidationTasks"/> tasks and
    /// <c>strict</c> (with its futility stop) above.
    /// </summary>
    public static string PresetDefault(bool classic, int validationTasks) =>
        classic || validationTasks > GateOptions.DefaultPosteriorMaxValidationTasks ? "strict" : "posterior";

    /// <summary>
    /// The gate known before the validation split's size is: <paramref name="kind"/> when set, <c>strict</c> for
    /// <c>classic</c>, else null (the default preset chooses by the size, <see cref="PresetDefault"/>).
    /// </summary>
    public static string? BeforeSplit(string? kind, bool classic) => kind ?? (classic ? PresetDefault(classic, 0) : null);

    /// <summary>The kind in lower case (<c>paired</c>, <c>posterior</c> or <c>strict</c>; anything else or null: <c>strict</c>), as the loader accepts it in any case.</summary>
    public static string Normalize(string? kind) =>
        string.Equals(kind, "paired", StringComparison.OrdinalIgnoreCase) ? "paired"
        : string.Equals(kind, "posterior", StringComparison.OrdinalIgnoreCase) ? "posterior"
        : "strict";

    /// <summary>True for the paired gates (<c>paired</c>, <c>posterior</c>), which measure the current skill themselves and have a ceiling.</summary>
    public static bool IsPaired(string? kind) => Normalize(kind) != "strict";
}
