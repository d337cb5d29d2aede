namespace SkillOpt.Build;

/// <summary>Diagnostic codes of the MSBuild integration (SKOPT4xxx; documented in docs/diagnostics.md).</summary>
internal static class BuildDiagnostics
{
    /// <summary>The trainer exited with a non-zero exit code without reporting an error.</summary>
    public const string TrainerFailed = "SKOPT4001";

    /// <summary>The skill file of a <c>Skill</c> item does not exist.</summary>
    public const string SkillFileMissing = "SKOPT4002";

    /// <summary>The configuration file named by a <c>Skill</c> item's <c>Config</c> does not exist.</summary>
    public const string ConfigMissing = "SKOPT4003";

    /// <summary>The verifier project did not build, so no skill was trained.</summary>
    public const string VerifierBuildFailed = "SKOPT4004";

    /// <summary>The trainer (<c>SkillOptTrainerPath</c>) or the .NET host cannot be found or started.</summary>
    public const string TrainerNotFound = "SKOPT4005";

    /// <summary>A <c>Skill</c> item is invalid (its name, a duplicate name) or the project cannot be trained as it is (multi-targeting).</summary>
    public const string InvalidSkillItem = "SKOPT4006";

    /// <summary>The training stopped because its stop file (<c>SkillOptStopFile</c>) was created while the build was not cancelled.</summary>
    public const string StopRequested = "SKOPT4007";

    /// <summary>
    /// <c>dotnet test</c> ran no skill gate test for a declared <c>Skill</c> (no gate class, no test adapter, not a test
    /// project): the gate would otherwise pass without checking anything.
    /// </summary>
    public const string GateDidNotRun = "SKOPT3209";

    /// <summary>Warning: <c>SkillOptAutoApprove</c> is ignored on a build server.</summary>
    public const string AutoApproveIgnored = "SKOPT4101";

    /// <summary>Warning: after cancellation the trainer did not stop within <c>SkillOptStopTimeout</c> and its process tree was killed.</summary>
    public const string TrainerKilled = "SKOPT4102";
}
