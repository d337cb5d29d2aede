using System.Reflection;

namespace SkillOpt.Testing.Gate;

/// <summary>
/// Records which skill gate tests ran, for the check after <c>dotnet test</c> (SKOPT3209): the package's build targets put
/// the folder into the verifier assembly as <c>[assembly: AssemblyMetadata("SkillOpt.GateRecords", "…/obj/…/skillopt/gate/")]</c>,
/// and every gate test writes <c>{folder}/{skill}/{test}</c> when it starts. Without the metadata nothing is written.
/// </summary>
internal static class GateRecords
{
    /// <summary>The assembly metadata key that names the folder.</summary>
    public const string MetadataKey = "SkillOpt.GateRecords";

    /// <summary>Writes the record of one gate test; failures to write are ignored (the check then reports the gate as not run).</summary>
    /// <param name="assembly">The verifier assembly (the gate class's).</param>
    /// <param name="skill">The skill's name.</param>
    /// <param name="test">The gate test's method name.</param>
    public static void Ran(Assembly assembly, string skill, string test)
    {
        var folder = assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == MetadataKey)?.Value;
        if (string.IsNullOrWhiteSpace(folder))
        {
            return;
        }
        try
        {
            var dir = Path.Combine(folder, skill);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, test), "ran\n");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
