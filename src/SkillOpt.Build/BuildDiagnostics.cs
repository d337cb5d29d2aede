namespace SkillOpt.Build;

/// <summary>The diagnostic codes the MSBuild tasks report (names for entries of <see cref="DiagnosticCodes"/>, the one table of codes, documented in docs/diagnostics.md).</summary>
internal static class BuildDiagnostics
{
    /// <summary>The trainer exited with a non-zero exit code without reporting an error.</summary>
    public const string TrainerFailed = DiagnosticCodes.TrainerFailed;

    /// <summary>The skill file of a <c>Skill</c> item does not exist.</summary>
    public const string SkillFileMissing = DiagnosticCodes.SkillFileMissing;

    /// <summary>The configuration file named by a <c>Skill</c> item's <c>Config</c> does not exist.</summary>
    public const string ConfigMissing = DiagnosticCodes.ConfigMissing;

    /// <summary>The verifier project did not build, so no skill was trained.</summary>
    public const string VerifierBuildFailed = DiagnosticCodes.VerifierBuildFailed;

    /// <summary>The trainer (<c>SkillOptTrainerPath</c>) or the .NET host cannot be found or started.</summary>
    public const string TrainerNotFound = DiagnosticCodes.TrainerNotFound;

    /// <summary>A <c>Skill</c> item is invalid (its name, a duplicate name) or the project cannot be trained as it is (multi-targeting).</summary>
    public const string InvalidSkillItem = DiagnosticCodes.InvalidSkillItem;

    /// <summary>The training stopped because its stop file (<c>SkillOptStopFile</c>) was created while the build was not cancelled.</summary>
    public const string StopRequested = DiagnosticCodes.StopRequested;

    /// <summary>
    /// <c>dotnet test</c> ran no skill gate test for a declared <c>Skill</c> (no gate class, no test adapter, not a test
    /// project): the gate would otherwise pass without checking anything.
    /// </summary>
    public const string GateDidNotRun = DiagnosticCodes.GateDidNotRun;

    /// <summary>Warning: <c>SkillOptAutoApprove</c> is ignored on a build server.</summary>
    public const string AutoApproveIgnored = DiagnosticCodes.AutoApproveIgnored;

    /// <summary>Warning: after cancellation the trainer did not stop within <c>SkillOptStopTimeout</c> and its process tree was killed.</summary>
    public const string TrainerKilled = DiagnosticCodes.TrainerKilled;
}
