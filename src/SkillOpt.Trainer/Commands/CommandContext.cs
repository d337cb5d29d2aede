using SkillOpt.Core;
using SkillOpt.Core.Configuration;
using SkillOpt.Testing.Gate;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Approval;
using SkillOpt.Trainer.Console;
using SkillOpt.Trainer.Verifiers;

namespace SkillOpt.Trainer.Commands;

/// <summary>What every command resolves first: the verifier, the skill, its skill file and its configuration.</summary>
internal sealed class CommandContext
{
    private CommandContext(VerifierExecutable verifier, string skill, string skillFile, string? configPath, SkillOptOptions options)
    {
        Verifier = verifier;
        Skill = skill;
        SkillFile = skillFile;
        ConfigPath = configPath;
        Options = options;
    }

    /// <summary>The verifier executable.</summary>
    public VerifierExecutable Verifier { get; }

    /// <summary>Skill name.</summary>
    public string Skill { get; }

    /// <summary>The skill file (committed, or the one given on the command line).</summary>
    public string SkillFile { get; }

    /// <summary>The configuration file, or <see langword="null"/> for the defaults.</summary>
    public string? ConfigPath { get; }

    /// <summary>The configuration.</summary>
    public SkillOptOptions Options { get; }

    /// <summary>Folder relative paths of the configuration are resolved against.</summary>
    public string ConfigDirectory => ConfigPath is null ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(ConfigPath)!;

    /// <summary>
    /// Environment for verifier processes started by the trainer: the configuration they must read, and the configured key
    /// variables (<c>api_key_env</c>) whose values they redact from what they write (<see cref="SecretRedaction"/>).
    /// </summary>
    public Dictionary<string, string?> VerifierEnvironmentVariables()
    {
        var keyVariables = new[] { Options.Models.Target.ApiKeyEnv, Options.Models.Optimizer.ApiKeyEnv }.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => n!.Trim()).Distinct().ToList();
        var env = new Dictionary<string, string?> { [VerifierEnvironment.Config] = ConfigPath };
        if (keyVariables.Count > 0)
        {
            env[SecretRedaction.SecretVariablesVariable] = string.Join(",", keyVariables);
        }
        return env;
    }

    /// <summary>Resolves the command's inputs.</summary>
    /// <param name="verifierPath">The verifier assembly.</param>
    /// <param name="skill">Skill name; <see langword="null"/> when the verifier declares exactly one.</param>
    /// <param name="skillFile">Skill file; <see langword="null"/> for the declared one.</param>
    /// <param name="configPath">Configuration; <see langword="null"/> for the declared one.</param>
    /// <param name="requireSkillFile">Fail when the skill file does not exist, or when an approval of it was interrupted.</param>
    /// <exception cref="TrainerException">An input is missing or ambiguous.</exception>
    /// <exception cref="ApprovalException">With <paramref name="requireSkillFile"/>: an approval of the skill was interrupted (SKOPT3003); <c>skillopt approve</c> finishes it.</exception>
    /// <exception cref="SkillOptConfigException">The configuration or an environment override of it is invalid.</exception>
    public static CommandContext Resolve(string verifierPath, string? skill, string? skillFile, string? configPath, bool requireSkillFile)
    {
        VerifierExecutable verifier;
        try
        {
            verifier = new VerifierExecutable(verifierPath);
        }
        catch (FileNotFoundException ex)
        {
            throw new TrainerException(TrainerDiagnostics.VerifierNotFound, ex.Message, verifierPath);
        }
        catch (BadImageFormatException ex)
        {
            throw new TrainerException(TrainerDiagnostics.VerifierNotFound, ex.Message.StartsWith("not a .NET assembly", StringComparison.Ordinal) ? ex.Message : $"not a .NET assembly: {ex.Message}", verifierPath);
        }
        if (skill is not null && !SkillTaskId.IsValidSkillName(skill))
        {
            throw new TrainerException(TrainerDiagnostics.InvalidSkillName, $"--skill '{skill}' is not a valid skill name: {SkillTaskId.SkillNameRule}");
        }
        var declared = verifier.Project.Skills;
        if (declared.FirstOrDefault(d => !SkillTaskId.IsValidSkillName(d.Name)) is { } bad && (skill is null || bad.Name == skill))
        {
            throw new TrainerException(TrainerDiagnostics.InvalidSkillName,
                $"the verifier declares the skill name '{bad.Name}', which is not valid: {SkillTaskId.SkillNameRule} (the Name of its <Skill> item, or its [assembly: SkillDefinition])", verifier.AssemblyPath);
        }
        SkillDeclaration? declaration;
        if (skill is null)
        {
            if (declared.Count != 1)
            {
                throw new TrainerException(TrainerDiagnostics.SkillNotFound, declared.Count == 0
                    ? "the verifier declares no skill ([assembly: SkillDefinition(...)]); pass --skill, --skill-file and --config"
                    : $"the verifier declares several skills ({string.Join(", ", declared.Select(d => d.Name))}); pass --skill", verifier.AssemblyPath);
            }
            declaration = declared[0];
        }
        else
        {
            declaration = verifier.Project.Find(skill);
            if (declaration is null && skillFile is null)
            {
                throw new TrainerException(TrainerDiagnostics.SkillNotFound,
                    $"the verifier declares no skill '{skill}'{(declared.Count == 0 ? "" : $" (declared: {string.Join(", ", declared.Select(d => d.Name))})")}; declare it or pass --skill-file", verifier.AssemblyPath);
            }
        }
        var name = skill ?? declaration!.Name;
        var file = Path.GetFullPath(skillFile ?? declaration!.SkillFile);
        if (requireSkillFile)
        {
            // before the existence check: an interrupted approval may have set the skill file aside
            SkillApprover.ThrowIfInterrupted(new ApprovalFiles(file));
        }
        if (requireSkillFile && !File.Exists(file))
        {
            throw new TrainerException(TrainerDiagnostics.SkillNotFound, $"the skill file of '{name}' does not exist", file);
        }
        var config = configPath is not null ? Path.GetFullPath(configPath) : declaration?.ConfigFile;
        SkillOptOptions options;
        if (config is null)
        {
            options = new SkillOptOptions().ApplyPreset();
        }
        else if (!File.Exists(config) && configPath is null)
        {
            // a declared but absent configuration means the defaults
            options = new SkillOptOptions().ApplyPreset();
            config = null;
        }
        else
        {
            options = SkillOptConfigLoader.Load(config);
        }
        // the SKILLOPT_{ROLE}_* overrides are checked now, before any model call, like the keys they override
        SkillOptConfigLoader.CheckEnvironment(options, Environment.GetEnvironmentVariable);
        // the values of the configured key variables are secrets in everything the trainer prints or stores
        SecretRedaction.AddKeyVariables(options.Models.Target.ApiKeyEnv, options.Models.Optimizer.ApiKeyEnv);
        return new CommandContext(verifier, name, file, config, options);
    }
}
