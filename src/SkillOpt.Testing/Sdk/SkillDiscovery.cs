using System.Collections.Concurrent;
using SkillOpt.Core.Configuration;
using SkillOpt.Testing.Verifiers;
using Xunit.v3;

namespace SkillOpt.Testing.Sdk;

/// <summary>What discovery knows about one skill verifier method.</summary>
internal sealed record SkillMethodInfo(string Skill, string MethodTaskId, string? PinnedSplit, SplitOptions Ratios);

/// <summary>Shared discovery logic of <see cref="SkillFactDiscoverer"/> and <see cref="SkillTheoryDiscoverer"/>.</summary>
internal static class SkillDiscovery
{
    private static readonly ConcurrentDictionary<string, (SplitOptions? Ratios, string? Error)> Configs = new(StringComparer.Ordinal);

    /// <summary>Trait names every skill task carries.</summary>
    public const string SkillTrait = "skillopt.skill";
    public const string TaskTrait = "skillopt.task";
    public const string SplitTrait = "skillopt.split";
    /// <summary>
    /// Trait of a test case that reports a discovery error (its value is the error message): a verifier whose data could not
    /// be enumerated, for example. With <see cref="SkillTrait"/> set when the attribute names a skill, <c>-list</c> shows it
    /// to the trainer, which reports it instead of leaving the skill's tasks out.
    /// </summary>
    public const string ErrorTrait = "skillopt.error";

    /// <summary>A test case that fails with <paramref name="message"/> when run and carries <see cref="ErrorTrait"/> (and the skill, when known).</summary>
    public static IXunitTestCase Error(IXunitTestMethod testMethod, IFactAttribute attribute, string testCaseDisplayName, string uniqueId, string? sourceFilePath, int? sourceLineNumber, string message)
    {
        var testCase = new ExecutionErrorTestCase(testMethod, testCaseDisplayName, uniqueId, sourceFilePath, sourceLineNumber, message);
        if (attribute is ISkillVerifierAttribute { Skill: { Length: > 0 } skill })
        {
            testCase.Traits[SkillTrait] = new HashSet<string>(StringComparer.Ordinal) { skill };
        }
        testCase.Traits[ErrorTrait] = new HashSet<string>(StringComparer.Ordinal) { message };
        return testCase;
    }

    /// <summary>Reads the attribute and the configuration; returns an error message instead of throwing.</summary>
    public static SkillMethodInfo? Describe(IXunitTestMethod testMethod, IFactAttribute attribute, out string? error)
    {
        error = null;
        if (attribute is not ISkillVerifierAttribute skillAttribute)
        {
            error = $"{attribute.GetType().Name} is not a skill verifier attribute.";
            return null;
        }
        var method = $"{testMethod.TestClass.TestClassName}.{testMethod.MethodName}";
        if (string.IsNullOrWhiteSpace(skillAttribute.Skill))
        {
            error = $"{method}: set the skill this verifier scores, e.g. [{AttributeName(attribute)}(Skill = \"math\")].";
            return null;
        }
        string? pin;
        string methodTaskId;
        try
        {
            pin = SkillSplits.Normalize(skillAttribute.Split);
            methodTaskId = SkillTaskId.ForMethod(skillAttribute.Skill, testMethod.TestClass.TestClassSimpleName.Replace('+', '.'), testMethod.MethodName, skillAttribute.Id);
        }
        catch (ArgumentException ex)
        {
            error = $"{method}: {ex.Message}";
            return null;
        }
        var project = SkillProject.For(testMethod.TestClass.Class.Assembly);
        var declaration = project.Find(skillAttribute.Skill);
        if (declaration is null)
        {
            error = $"{method}: the skill '{skillAttribute.Skill}' is not declared; add [assembly: SkillDefinition(\"{skillAttribute.Skill}\", \"skills/{skillAttribute.Skill}/SKILL.md\", \"skills/{skillAttribute.Skill}/skillopt.yaml\")] to the verifier project"
                + (project.Skills.Count == 0 ? "." : $" (declared: {string.Join(", ", project.Skills.Select(s => s.Name))}).");
            return null;
        }
        var configPath = VerifierEnvironment.Get(VerifierEnvironment.Config) ?? declaration.ConfigFile;
        var (ratios, configError) = configPath is null ? (new SplitOptions(), null) : LoadRatios(configPath);
        if (configError is not null)
        {
            error = configError;
            return null;
        }
        return new SkillMethodInfo(skillAttribute.Skill, methodTaskId, pin, ratios!);
    }

    /// <summary>Returns the split of a task: the pin, else the hash-based assignment.</summary>
    public static string SplitOf(SkillMethodInfo info, string taskId) => info.PinnedSplit ?? SkillSplits.Assign(taskId, info.Ratios);

    /// <summary>Adds the three skill traits to <paramref name="traits"/>.</summary>
    public static Dictionary<string, HashSet<string>> WithSkillTraits(Dictionary<string, HashSet<string>>? traits, string skill, string taskId, string split)
    {
        var t = traits is null ? new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase) : new Dictionary<string, HashSet<string>>(traits, traits.Comparer);
        t[SkillTrait] = new HashSet<string>(StringComparer.Ordinal) { skill };
        t[TaskTrait] = new HashSet<string>(StringComparer.Ordinal) { taskId };
        t[SplitTrait] = new HashSet<string>(StringComparer.Ordinal) { split };
        return t;
    }

    /// <summary>Loads the split ratios of a configuration file once per process (missing file = defaults).</summary>
    private static (SplitOptions? Ratios, string? Error) LoadRatios(string path) => Configs.GetOrAdd(Path.GetFullPath(path), p =>
    {
        if (!File.Exists(p))
        {
            return (new SplitOptions(), null);
        }
        try
        {
            return (SkillOptConfigLoader.Load(p).Splits, null);
        }
        catch (SkillOptConfigException ex)
        {
            return (null, ex.Message);
        }
    });

    private static string AttributeName(IFactAttribute attribute)
    {
        var name = attribute.GetType().Name;
        return name.EndsWith("Attribute", StringComparison.Ordinal) ? name[..^"Attribute".Length] : name;
    }
}
