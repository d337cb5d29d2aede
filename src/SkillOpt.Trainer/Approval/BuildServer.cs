namespace SkillOpt.Trainer.Approval;

/// <summary>
/// Detects a build server (CI) from the environment, like Verify and DiffEngine do: auto-approval is refused there unless
/// forced, so that a pipeline never approves its own training result.
/// </summary>
internal static class BuildServer
{
    /// <summary>Variables whose presence reveals a build server (<c>CI</c> counts unless it is <c>false</c> or <c>0</c>).</summary>
    public static IReadOnlyList<string> Variables { get; } =
    [
        "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "TEAMCITY_VERSION", "APPVEYOR", "TRAVIS", "CIRCLECI",
        "BUILDKITE", "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ID", "BUILD_BUILDID", "DRONE", "SEMAPHORE", "BUDDY",
    ];

    /// <summary>Returns the name of the variable that reveals a build server, or <see langword="null"/> when none does.</summary>
    /// <param name="environment">Reads a variable (<see langword="null"/> when unset).</param>
    public static string? Detect(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        foreach (var name in Variables)
        {
            var value = environment(name)?.Trim();
            if (string.IsNullOrEmpty(value) || (name == "CI" && value.ToLowerInvariant() is "false" or "0" or "no"))
            {
                continue;
            }
            return name;
        }
        return null;
    }

    /// <summary>
    /// Returns the name of what reveals a build server for this process: a variable from <see cref="Variables"/>, or
    /// DiffEngine's own detection (<c>BuildServerDetector</c>); <see langword="null"/> when none.
    /// </summary>
    public static string? DetectForProcess() =>
        Detect(Environment.GetEnvironmentVariable) ?? (DiffEngine.BuildServerDetector.Detected ? "DiffEngine.BuildServerDetector" : null);
}
