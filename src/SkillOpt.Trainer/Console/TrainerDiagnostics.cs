namespace SkillOpt.Trainer.Console;

/// <summary>
/// The diagnostic codes the trainer reports (names for entries of <see cref="DiagnosticCodes"/>, the one table of codes,
/// documented in docs/diagnostics.md) and its exit codes.
/// </summary>
internal static class TrainerDiagnostics
{
    /// <summary>The verifier executable does not exist or cannot be started.</summary>
    public const string VerifierNotFound = DiagnosticCodes.VerifierNotFound;
    /// <summary>Listing the verifier's tasks failed (the process failed or printed no task list).</summary>
    public const string ListingFailed = DiagnosticCodes.ListingFailed;
    /// <summary>The verifier has no task for the skill.</summary>
    public const string NoTasks = DiagnosticCodes.NoTasks;
    /// <summary>The skill is not declared, ambiguous, or its skill file is missing.</summary>
    public const string SkillNotFound = DiagnosticCodes.SkillNotFound;
    /// <summary>A split that training needs (train, val) or that eval was asked for is empty.</summary>
    public const string EmptySplit = DiagnosticCodes.EmptySplit;
    /// <summary>Too many rollouts errored: the run stops instead of scoring infrastructure failures.</summary>
    public const string TooManyErrors = DiagnosticCodes.TooManyErrors;
    /// <summary>The run folder belongs to another run (other configuration, tasks or initial skill).</summary>
    public const string RunFolderConflict = DiagnosticCodes.RunFolderConflict;
    /// <summary>A model role (target or optimizer) is not configured correctly.</summary>
    public const string ModelConfiguration = DiagnosticCodes.ModelConfiguration;
    /// <summary>An option has an invalid value.</summary>
    public const string InvalidOption = DiagnosticCodes.InvalidOption;
    /// <summary>A file could not be written: disk full, read-only, permission denied, or the run folder vanished (raised as <c>OutputWriteException</c>).</summary>
    public const string OutputWriteFailed = DiagnosticCodes.OutputWriteFailed;
    /// <summary>Another trainer holds the run folder (its process id, host and start time are named).</summary>
    public const string RunFolderLocked = DiagnosticCodes.RunFolderLocked;
    /// <summary>A skill name (<c>--skill</c>, or declared by the verifier) does not match the skill-name pattern.</summary>
    public const string InvalidSkillName = DiagnosticCodes.InvalidSkillName;
    /// <summary>The optimizer's provider failed (unreachable, failing through every retry, or refusing a call); the run resumes when run again.</summary>
    public const string ProviderFailed = DiagnosticCodes.ProviderFailed;
    /// <summary>A file SkillOpt wrote cannot be read back (SKOPT2014).</summary>
    public const string DamagedFile = DiagnosticCodes.DamagedFile;
    /// <summary>An unexpected error.</summary>
    public const string Unexpected = DiagnosticCodes.Unexpected;
    /// <summary>Warning: a verifier process crashed (its unreported tasks are Errored; the run goes on).</summary>
    public const string VerifierCrashed = DiagnosticCodes.VerifierCrashed;
    /// <summary>Warning: a verifier process ran past <c>rollouts.timeout_seconds</c> and was killed.</summary>
    public const string VerifierTimedOut = DiagnosticCodes.VerifierTimedOut;
    /// <summary>Warning: a result file was unreadable or did not match the request (wrong task, skill or sample).</summary>
    public const string BadResultFile = DiagnosticCodes.BadResultFile;
    /// <summary>Warning: the run was interrupted; the checkpoint is on disk and re-running resumes.</summary>
    public const string Interrupted = DiagnosticCodes.Interrupted;
    /// <summary>Warning: the run's HTML report could not be written at the end of training (the run folder is complete).</summary>
    public const string ReportNotWritten = DiagnosticCodes.ReportNotWritten;

    /// <summary>Auto-approval (<c>--approve</c>) asked for on a build server without <c>--force-approve</c>.</summary>
    public const string AutoApproveOnBuildServer = DiagnosticCodes.AutoApproveOnBuildServer;
    /// <summary>Nothing to approve: no received files beside the skill.</summary>
    public const string NothingToApprove = DiagnosticCodes.NothingToApprove;
    /// <summary>Approval refused or failed (inconsistent received files, or a rename failed and was rolled back).</summary>
    public const string ApprovalFailed = DiagnosticCodes.ApprovalFailed;
    /// <summary>A report's inputs are missing or invalid (no receipt, an unreadable receipt, a failing <c>git show</c>).</summary>
    public const string ReportInputs = DiagnosticCodes.ReportInputs;
    /// <summary>Warning: tasks errored in the receipt's evaluation; they are recorded as errored and not compared by the gate.</summary>
    public const string ReceiptErrored = DiagnosticCodes.ReceiptErrored;
    /// <summary>Warning: the trained skill is not shown better than the committed one on the test split (it is still written for approval, labelled).</summary>
    public const string NotShownBetter = DiagnosticCodes.NotShownBetter;

    /// <summary>Exit code: success.</summary>
    public const int ExitOk = 0;
    /// <summary>Exit code: failure (a diagnostic says why).</summary>
    public const int ExitError = 1;
    /// <summary>Exit code: interrupted by Ctrl+C or SIGTERM (checkpoint saved; re-running resumes).</summary>
    public const int ExitInterrupted = 130;
}
