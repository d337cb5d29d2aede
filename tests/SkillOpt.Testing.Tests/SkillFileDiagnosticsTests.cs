using System.Text;
using SkillOpt.Testing.Tests.Infrastructure;

namespace SkillOpt.Testing.Tests;

/// <summary>A skill file the trainer refuses: a coded diagnostic located in the skill file, before any model call.</summary>
public class SkillFileDiagnosticsTests
{
    private static readonly string Verifier = ToolPaths.SampleVerifiers;

    [Fact]
    public async Task Malformed_markers_binary_content_and_invalid_utf8_are_located_in_the_skill_file()
    {
        using var dir = new TempFolder();
        var skill = dir.Combine("SKILL.md");

        File.WriteAllText(skill, "# Arithmetic\n\n- Use the calculator.\n  <!-- SLOW_UPDATE_START -->\nGuidance.\n");
        var unterminated = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", skill, "--run", "run");
        Assert.True(unterminated.ExitCode == 1, unterminated.ToString());
        Assert.Contains($"{skill}(4,3): error SKOPT1101: the '<!-- SLOW_UPDATE_START -->' region is never closed (expected '<!-- SLOW_UPDATE_END -->')", unterminated.Stderr);
        Assert.DoesNotContain("SKOPT2099", unterminated.Stderr);
        Assert.False(Directory.Exists(dir.Combine("run")), "no run folder before the skill is accepted");

        File.WriteAllBytes(skill, [.. Encoding.UTF8.GetBytes("# Arithmetic\n\nx"), 0, .. Encoding.UTF8.GetBytes("y\n")]);
        var nul = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", "arith", "--skill-file", skill, "--run", "run");
        Assert.True(nul.ExitCode == 1, nul.ToString());
        Assert.Contains($"{skill}(3,2): error SKOPT1103: the skill file holds binary content (a NUL byte)", nul.Stderr);

        File.WriteAllBytes(skill, [.. Encoding.UTF8.GetBytes("# Arithmetic\n\nSum the caf"), 0xE9, (byte)'\n']);
        var latin1 = await Tool.SkilloptAsync(dir.Path, null, "eval", "--verifier", Verifier, "--skill", "arith", "--skill-file", skill);
        Assert.True(latin1.ExitCode == 1, latin1.ToString());
        Assert.Contains($"{skill}(3,12): error SKOPT1102: the skill file is not valid UTF-8 (byte 0xE9 at offset 25); save it as UTF-8", latin1.Stderr);
    }

    [Fact]
    public async Task A_skill_over_the_token_limit_is_refused_before_training_with_its_cost_per_target_call()
    {
        using var dir = new TempFolder();
        var rules = Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "arith");
        var config = dir.Combine("skillopt.yaml");
        File.WriteAllText(config, $"""
            skill:
              max_initial_tokens: 1000
            models:
              target: {"{"} provider: scripted, model: arith-target, endpoint: '{Path.Combine(rules, "target.rules.yaml")}' {"}"}
              optimizer: {"{"} provider: scripted, endpoint: '{Path.Combine(rules, "optimizer.rules.yaml")}' {"}"}
            pricing:
              arith-target: {"{"} input_per_million: 3, output_per_million: 12 {"}"}
            """);
        var skill = dir.Combine("SKILL.md");
        File.WriteAllText(skill, "# Arithmetic\n\n" + string.Concat(Enumerable.Repeat("- Use the calculator for every sum.\n", 200)));

        var train = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", "arith", "--config", config, "--skill-file", skill, "--run", "run");

        Assert.True(train.ExitCode == 1, train.ToString());
        Assert.Contains($"{skill}: error SKOPT1104: the skill is 1,804 tokens (7,214 characters at 4 a token), over skill.max_initial_tokens = 1,000; "
            + "every target call sends it whole (about $0.0054 of input per target call at 'arith-target''s price of $3 per million input tokens)", train.Stderr);
        Assert.DoesNotContain("baseline", train.Stdout);
        Assert.False(Directory.Exists(dir.Combine("run")), "refused before the run folder exists, so before any model call");
    }

    [Fact]
    public async Task The_token_budget_warning_follows_the_loop_the_gate_chooses()
    {
        // the warning uses the budget the run resolves: a 2,400-token skill is over the default preset's own loop's budget
        // (2,000), which gate.kind: posterior chooses; the default preset's strict gate runs the reference's loop, which has
        // no budget, so no warning
        using var dir = new TempFolder();
        var rules = Path.Combine(ToolPaths.SampleVerifiersProject, "skills", "arith");
        var skill = dir.Combine("SKILL.md");
        File.WriteAllText(skill, "# Arithmetic\n\n" + string.Concat(Enumerable.Repeat("- Use the calculator for every sum, and check it twice.\n", 170)));
        async Task<ProcessOutcome> TrainAsync(string gate)
        {
            var config = dir.Combine($"skillopt-{gate}.yaml");
            File.WriteAllText(config, $"""
                training: {"{"} epochs: 1, batch_size: 10, minibatch_size: 4 {"}"}
                {gate}
                models:
                  target: {"{"} provider: scripted, endpoint: '{Path.Combine(rules, "target.rules.yaml")}' {"}"}
                  optimizer: {"{"} provider: scripted, endpoint: '{Path.Combine(rules, "optimizer.rules.yaml")}' {"}"}
                """);
            var train = await Tool.SkilloptAsync(dir.Path, null, "train", "--verifier", Verifier, "--skill", "arith", "--config", config, "--skill-file", skill, "--run", $"run-{gate.Length}");
            Assert.True(train.ExitCode == 0, train.ToString());
            return train;
        }

        var own = await TrainAsync("gate: { kind: posterior }");
        Assert.Contains("warning SKOPT1105: the initial skill is 2,", own.Stdout + own.Stderr);
        Assert.Contains("tokens, over skill.token_budget = 2,000", own.Stdout + own.Stderr);
        var reference = await TrainAsync("seed: 3");
        Assert.DoesNotContain("SKOPT1105", reference.Stdout + reference.Stderr);
    }
}
