namespace SkillOpt;

/// <summary>
/// Every diagnostic code of SkillOpt, in one table: <c>SKOPT</c> + 4 digits by area (1xxx configuration and skill files,
/// 2xxx trainer and verifier runs, 3xxx approval and the skill gate, 4xxx MSBuild). docs/diagnostics.md says for each what
/// it means and what to do; a test checks that the two list the same codes, each once. This file is compiled into
/// SkillOpt.Core (which the other assemblies see) and into the MSBuild task assembly (which references no other).
/// </summary>
internal static class DiagnosticCodes
{
    /// <summary>Configuration: unknown key, or a key that is not a plain name.</summary>
    public const string ConfigUnknownKey = "SKOPT1001";
    /// <summary>Configuration: invalid value (type, range, empty section, contradicting settings).</summary>
    public const string ConfigInvalidValue = "SKOPT1002";
    /// <summary>Configuration: malformed YAML.</summary>
    public const string ConfigMalformedYaml = "SKOPT1003";
    /// <summary>Configuration: the file is missing, a folder, or unreadable.</summary>
    public const string ConfigFileUnreadable = "SKOPT1004";
    /// <summary>Configuration: an environment override of a model role is invalid.</summary>
    public const string ConfigInvalidEnvironment = "SKOPT1005";

    /// <summary>Skill file: the protected-region markers do not pair up.</summary>
    public const string SkillMalformedMarkers = "SKOPT1101";
    /// <summary>Skill file: not valid UTF-8.</summary>
    public const string SkillNotUtf8 = "SKOPT1102";
    /// <summary>Skill file: binary content.</summary>
    public const string SkillBinaryContent = "SKOPT1103";
    /// <summary>Skill file: larger than <c>skill.max_initial_tokens</c>.</summary>
    public const string SkillOverTokenLimit = "SKOPT1104";
    /// <summary>Warning: the initial skill is larger than <c>skill.token_budget</c>.</summary>
    public const string SkillOverTokenBudget = "SKOPT1105";

    /// <summary>The verifier executable does not exist or cannot be started.</summary>
    public const string VerifierNotFound = "SKOPT2001";
    /// <summary>Listing the verifier's tasks failed (the process failed or printed no task list).</summary>
    public const string ListingFailed = "SKOPT2002";
    /// <summary>The verifier has no task for the skill.</summary>
    public const string NoTasks = "SKOPT2003";
    /// <summary>The skill is not declared, ambiguous, or its skill file is missing.</summary>
    public const string SkillNotFound = "SKOPT2004";
    /// <summary>A split that training needs (train, val, test) or that eval was asked for is empty.</summary>
    public const string EmptySplit = "SKOPT2005";
    /// <summary>Too many rollouts errored: the run stops instead of scoring infrastructure failures.</summary>
    public const string TooManyErrors = "SKOPT2006";
    /// <summary>The run folder belongs to another run (other configuration, tasks or initial skill).</summary>
    public const string RunFolderConflict = "SKOPT2007";
    /// <summary>A model role (target or optimizer) is not configured correctly.</summary>
    public const string ModelConfiguration = "SKOPT2008";
    /// <summary>A command-line option has an invalid value.</summary>
    public const string InvalidOption = "SKOPT2009";
    /// <summary>A file could not be written: disk full, read-only, permission denied, or the run folder vanished.</summary>
    public const string OutputWriteFailed = "SKOPT2010";
    /// <summary>Another trainer holds the run folder.</summary>
    public const string RunFolderLocked = "SKOPT2011";
    /// <summary>A skill name does not match the skill-name pattern.</summary>
    public const string InvalidSkillName = "SKOPT2012";
    /// <summary>The optimizer's provider failed: unreachable, failing through every retry (circuit open), or it refused a call.</summary>
    public const string ProviderFailed = "SKOPT2013";
    /// <summary>A run-folder file SkillOpt wrote cannot be read back while training: cut short or changed outside SkillOpt.</summary>
    public const string DamagedFile = "SKOPT2014";
    /// <summary>An unexpected error.</summary>
    public const string Unexpected = "SKOPT2099";
    /// <summary>Warning: a verifier process crashed (its unreported tasks are Errored; the run goes on).</summary>
    public const string VerifierCrashed = "SKOPT2101";
    /// <summary>Warning: a verifier process ran past <c>rollouts.timeout_seconds</c> and was killed.</summary>
    public const string VerifierTimedOut = "SKOPT2102";
    /// <summary>Warning: a result file was unreadable or did not match the request.</summary>
    public const string BadResultFile = "SKOPT2103";
    /// <summary>Warning: the run was interrupted; the checkpoint is on disk and re-running resumes.</summary>
    public const string Interrupted = "SKOPT2104";
    /// <summary>Warning: the run's HTML report could not be written at the end of training.</summary>
    public const string ReportNotWritten = "SKOPT2105";
    /// <summary>Warning: the target returned empty answers for every task of the baseline, so its scores say nothing.</summary>
    public const string EmptyAnswers = "SKOPT2106";
    /// <summary>A scripted model's rules file is missing or invalid.</summary>
    public const string ScriptedRules = "SKOPT2201";
    /// <summary>Warning: a model role is SIMULATED (SimLab hosted by the trainer).</summary>
    public const string SimulatedModels = "SKOPT2301";
    /// <summary>The simulated target was asked a task its scenario does not know.</summary>
    public const string UnknownTasks = "SKOPT2302";
    /// <summary>Warning: how many asked tasks the scenario did not know (<c>SKILLOPT_SIMLAB_UNKNOWN_TASKS=warn</c>).</summary>
    public const string UnknownTasksWarning = "SKOPT2303";
    /// <summary>A SimLab scenario (file or built-in name) cannot be used.</summary>
    public const string SimLabScenarioInvalid = "SKOPT2304";

    /// <summary>Auto-approval asked for on a build server without <c>--force-approve</c>.</summary>
    public const string AutoApproveOnBuildServer = "SKOPT3001";
    /// <summary>Nothing to approve: no received files beside the skill.</summary>
    public const string NothingToApprove = "SKOPT3002";
    /// <summary>Approval refused or failed (inconsistent received files, or a rename failed and was rolled back).</summary>
    public const string ApprovalFailed = "SKOPT3003";
    /// <summary>A report's inputs are missing or invalid.</summary>
    public const string ReportInputs = "SKOPT3004";
    /// <summary>Warning: tasks errored in the receipt's evaluation.</summary>
    public const string ReceiptErrored = "SKOPT3102";
    /// <summary>Warning: the trained skill is not shown better than the committed one on the test split.</summary>
    public const string NotShownBetter = "SKOPT3103";
    /// <summary>Gate: the committed skill does not match its receipt (edited without approval).</summary>
    public const string GateSkillChanged = "SKOPT3201";
    /// <summary>Gate: received files are waiting for approval.</summary>
    public const string GatePending = "SKOPT3202";
    /// <summary>Gate: the replayed test split differs from the receipt.</summary>
    public const string GateReplayDiffers = "SKOPT3203";
    /// <summary>Gate: the replay asked for a request that was never recorded.</summary>
    public const string GateRecordingMiss = "SKOPT3204";
    /// <summary>Gate: the live re-run of the test split dropped significantly.</summary>
    public const string GateLiveRegression = "SKOPT3205";
    /// <summary>Gate warning: the live re-run dropped, but not significantly.</summary>
    public const string GateLiveInconclusive = "SKOPT3206";
    /// <summary>Gate: the skill has no (valid) approved receipt or recording.</summary>
    public const string GateNotApproved = "SKOPT3207";
    /// <summary>Gate: the verifier could not be listed or run, or too many live tasks errored.</summary>
    public const string GateVerifierRun = "SKOPT3208";
    /// <summary><c>dotnet test</c> ran no skill gate test for a declared skill.</summary>
    public const string GateDidNotRun = "SKOPT3209";

    /// <summary>MSBuild: the trainer exited with a non-zero exit code without reporting an error.</summary>
    public const string TrainerFailed = "SKOPT4001";
    /// <summary>MSBuild: the skill file of a <c>Skill</c> item does not exist.</summary>
    public const string SkillFileMissing = "SKOPT4002";
    /// <summary>MSBuild: the configuration file named by a <c>Skill</c> item's <c>Config</c> does not exist.</summary>
    public const string ConfigMissing = "SKOPT4003";
    /// <summary>MSBuild: the verifier project did not build, so no skill was trained (raised by the targets).</summary>
    public const string VerifierBuildFailed = "SKOPT4004";
    /// <summary>MSBuild: the trainer or the .NET host cannot be found or started.</summary>
    public const string TrainerNotFound = "SKOPT4005";
    /// <summary>MSBuild: a <c>Skill</c> item is invalid, or the project cannot be trained as it is.</summary>
    public const string InvalidSkillItem = "SKOPT4006";
    /// <summary>MSBuild: the training stopped because its stop file was created.</summary>
    public const string StopRequested = "SKOPT4007";
    /// <summary>MSBuild warning: <c>SkillOptAutoApprove</c> is ignored on a build server (raised by the targets).</summary>
    public const string AutoApproveIgnored = "SKOPT4101";
    /// <summary>MSBuild warning: the trainer did not stop within <c>SkillOptStopTimeout</c> and its process tree was killed.</summary>
    public const string TrainerKilled = "SKOPT4102";
}
