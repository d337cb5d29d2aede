using Microsoft.Extensions.Time.Testing;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Training;
using SkillOpt.Trainer.Console;
using Spectre.Console.Testing;

namespace SkillOpt.Testing.Tests.Reports;

/// <summary>Training progress in both modes: plain lines (redirected output, MSBuild, CI) and the live panel (a terminal).</summary>
public class ProgressTests
{
    private static RolloutResult Result(string id, TaskOutcome outcome) =>
        new() { TaskId = id, Outcome = outcome, Score = outcome == TaskOutcome.Passed ? 1 : 0, Usage = new TokenUsage(100, 20, 0, 1) };

    /// <summary>A monitor in the middle of step 2 of 4: a validation of 240 rollouts, 96 back (3 errored) 10 s after it began.</summary>
    private static TrainingMonitor Validating(FakeTimeProvider time, SkillOptOptions? options = null)
    {
        var monitor = new TrainingMonitor(options ?? new SkillOptOptions().ApplyPreset(), time);
        monitor.Report(new TrainingProgress(TrainingProgress.PhaseStarted, "step", 1, 1, 4));
        monitor.Report(new TrainingProgress("gate", "gate: reject — the candidate won 3 and lost 7 of its 16 paired validation measurements (6 unchanged); a real gain is unlikely (details: steps/step_0001/decision.json)", 1, 1, 4));
        time.Advance(TimeSpan.FromSeconds(20));
        monitor.Report(new TrainingProgress(TrainingProgress.PhaseStarted, "step", 1, 2, 4));
        monitor.RolloutsStarted("validate", 240);
        time.Advance(TimeSpan.FromSeconds(10));
        monitor.RolloutsFinished("validate", [.. Enumerable.Range(0, 96).Select(i => Result($"t{i}", i < 3 ? TaskOutcome.Errored : i % 2 == 0 ? TaskOutcome.Passed : TaskOutcome.Failed))]);
        monitor.OptimizerCalled("reflect", new TokenUsage(1000, 500, 0, 1));
        return monitor;
    }

    [Fact]
    public async Task Redirected_output_gets_plain_lines_and_a_periodic_progress_line_on_a_long_phase()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-06T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new TrainerConsole(output, error);
        var monitor = Validating(time);
        await using (ProgressDisplay.Start(console, monitor, live: false))
        {
            console.Info("[epoch 1 step 2/4] rollout: 5/8 passed, mean 0.625, 0 errored");
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.Single(Lines(output)); // 10 s of quiet: no progress line yet
            time.Advance(TimeSpan.FromSeconds(5));
            // 15 s without output, 25 s into the validation, 96 of 240 done: 25 / 96 · 144 = 37.5 s left; 45 s since step 1
            // began and 1 step done: 3 more steps at 45 s each
            Assert.Equal("skillopt: [epoch 1 step 2/4] validation: rollouts 96/240, 3 errored, 38 s left (45 s elapsed, about 2 min 15 s left)", Lines(output)[^1]);
            time.Advance(TimeSpan.FromSeconds(15));
            Assert.Equal(3, Lines(output).Length); // periodic: one more line after another 15 quiet seconds
            Assert.StartsWith("skillopt: [epoch 1 step 2/4] validation: rollouts 96/240, 3 errored, ", Lines(output)[^1]);
        }
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(3, Lines(output).Length); // stopped with the training
        var text = output.ToString();
        Assert.DoesNotContain('\u001b', text); // no ANSI escape codes
        Assert.DoesNotContain('\r', text);     // no carriage-return spinners
        Assert.Empty(error.ToString());
    }

    [Fact]
    public async Task A_terminal_gets_a_live_panel_with_phase_rollouts_time_calls_tokens_cost_and_the_last_verdict()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-06T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var options = new SkillOptOptions().ApplyPreset();
        options.Models.Target.Model = "target-model";
        options.Models.Optimizer.Model = "optimizer-model";
        options.Pricing["target-model"] = new ModelPrice { InputPerMillion = 1, OutputPerMillion = 4 };
        options.Pricing["optimizer-model"] = new ModelPrice { InputPerMillion = 10, OutputPerMillion = 40 };
        var monitor = Validating(time, options);
        var terminal = new TestConsole().Interactive().EmitAnsiSequences().Width(140);
        var output = new StringWriter();
        var console = new TrainerConsole(output, output);
        await using (ProgressDisplay.Start(console, monitor, live: true, ansi: terminal, title: "skillopt: training skill 'math' (SIMULATED models)"))
        {
            console.Info("[epoch 1 step 2/4] rollout: 5/8 passed, mean 0.625, 0 errored");
        }
        var screen = terminal.Output;
        Assert.Contains("skillopt: training skill 'math' (SIMULATED models)", screen);
        Assert.Contains("step 2/4 (epoch 1)", screen);
        Assert.Contains("validation: rollouts 96/240, 3 errored, 15 s left", screen); // 10 s for 96: 144 more take 15 s
        Assert.Contains("30 s elapsed, about 1 min 30 s left", screen);          // 30 s since step 1 began, 1 step done: 3 more at 30 s
        Assert.Contains("target 96, optimizer 1", screen);
        // tokens: 96 × 120 target + 1500 optimizer; cost: 96 × (100 · 1 + 20 · 4) / 1e6 + (1000 · 10 + 500 · 40) / 1e6 = 0.01728 + 0.03
        Assert.Contains("13,020, $0.05", screen);
        Assert.Contains("reject — the candidate won 3 and lost 7 of its 16 paired validation measurements", screen);
        Assert.Contains("skillopt: [epoch 1 step 2/4] rollout: 5/8 passed", screen); // lines go through the terminal, above the panel
        Assert.Empty(output.ToString());
    }

    [Theory]
    [InlineData(ProgressMode.Auto, false, null, null, true)]
    [InlineData(ProgressMode.Auto, true, null, null, false)]     // redirected: MSBuild, a pipe, a file
    [InlineData(ProgressMode.Auto, false, "true", null, false)]  // CI
    [InlineData(ProgressMode.Auto, false, null, "dumb", false)]
    [InlineData(ProgressMode.Lines, false, null, null, false)]
    [InlineData(ProgressMode.Live, true, null, null, true)]
    public void The_mode_follows_the_terminal(object mode, bool redirected, string? ci, string? term, bool live) => // object: ProgressMode is internal
        Assert.Equal(live, ProgressDisplay.IsLive((ProgressMode)mode, name => name switch { "CI" => ci, "TERM" => term, _ => null }, redirected));

    private static string[] Lines(StringWriter w) => w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
