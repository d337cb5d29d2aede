namespace SkillOpt.Testing;

/// <summary>
/// Declares a skill that the verifiers of this assembly train and guard: its name (used by
/// <see cref="SkillFactAttribute.Skill"/>), its committed skill file and its <c>skillopt.yaml</c>.
/// </summary>
/// <remarks>
/// Relative paths are resolved against the project directory (the assembly metadata <c>SkillOpt.ProjectDirectory</c>,
/// which a verifier project emits with <c>&lt;AssemblyMetadata Include="SkillOpt.ProjectDirectory" Value="$(MSBuildProjectDirectory)" /&gt;</c>),
/// then against the folder of the verifier assembly.
/// </remarks>
/// <example><code>[assembly: SkillDefinition("math", "skills/math/SKILL.md", "skills/math/skillopt.yaml")]</code></example>
/// <param name="name">Skill name: a letter or digit, then up to 63 ASCII letters, digits, <c>.</c>, <c>_</c> or <c>-</c> (<see cref="Verifiers.SkillTaskId.SkillNamePattern"/>).</param>
/// <param name="skillFile">The committed skill file (Markdown).</param>
/// <param name="configFile">The skill's <c>skillopt.yaml</c>; <see langword="null"/> uses the defaults.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class SkillDefinitionAttribute(string name, string skillFile, string? configFile = null) : Attribute
{
    /// <summary>Skill name.</summary>
    public string Name { get; } = name;

    /// <summary>The committed skill file, as written in the attribute.</summary>
    public string SkillFile { get; } = skillFile;

    /// <summary>The skill's configuration file, as written in the attribute, or <see langword="null"/>.</summary>
    public string? ConfigFile { get; } = configFile;
}
