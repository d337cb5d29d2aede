namespace SkillOpt.Core.Configuration;

/// <summary>The values of <c>gate.kind</c>: <c>paired</c>, <c>posterior</c> (both paired gates) and <c>strict</c>.</summary>
internal static class GateKinds
{
    /// <summary>
    /// The gate of both presets when <c>gate.kind</c> is unset: <c>strict</c> — the reference's comparison, in <c>classic</c>
    /// on every task and in the default preset with its futility stop and in the reference's loop
    /// (<see cref="SkillOptOptions.UsesReferenceLoop"/>; docs/method.md, "The default loop").
    /// </summary>
    public const string PresetDefault = "strict";

    /// <summary>The kind in lower case (<c>paired</c>, <c>posterior</c> or <c>strict</c>; anything else or null: <c>strict</c>), as the loader accepts it in any case.</summary>
    public static string Normalize(string? kind) =>
        string.Equals(kind, "paired", StringComparison.OrdinalIgnoreCase) ? "paired"
        : string.Equals(kind, "posterior", StringComparison.OrdinalIgnoreCase) ? "posterior"
        : "strict";

    /// <summary>True for the paired gates (<c>paired</c>, <c>posterior</c>), which measure the current skill themselves and have a ceiling.</summary>
    public static bool IsPaired(string? kind) => Normalize(kind) != "strict";
}
