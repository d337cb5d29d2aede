using DiffEngine;

namespace SkillOpt.Trainer.Approval;

/// <summary>
/// Opens the user's diff tool on a received skill and its committed counterpart through DiffEngine, which does nothing on
/// build servers, under AI command-line agents, or when <c>DiffEngine_Disabled=true</c>.
/// </summary>
internal static class DiffTool
{
    /// <summary>Launches the diff tool (received on the left, committed on the right) and says what happened.</summary>
    /// <param name="received">The received file.</param>
    /// <param name="committed">The committed file (it must exist: no empty file is created for it).</param>
    /// <returns>A short description: launched, disabled, no tool found…</returns>
    public static async Task<string> LaunchAsync(string received, string committed)
    {
        if (DiffRunner.Disabled)
        {
            return "not opened (DiffEngine is disabled here: a build server, an AI agent, or DiffEngine_Disabled=true)";
        }
        if (!File.Exists(received) || !File.Exists(committed))
        {
            return "not opened (nothing to compare)";
        }
        try
        {
            var result = await DiffRunner.LaunchAsync(received, committed).ConfigureAwait(false);
            return result switch
            {
                LaunchResult.NoDiffToolFound => "not opened (no diff tool found; see DiffEngine's documentation to configure one)",
                LaunchResult.Disabled => "not opened (DiffEngine is disabled)",
                _ => $"opened ({result})",
            };
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            return $"could not be opened: {ex.Message}";
        }
    }
}
