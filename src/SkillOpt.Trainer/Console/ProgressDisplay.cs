using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SkillOpt.Trainer.Console;

/// <summary>How <c>skillopt train</c> shows progress (<c>--progress</c>).</summary>
internal enum ProgressMode
{
    /// <summary>A live panel in an interactive terminal; lines when output is redirected, under MSBuild or in CI.</summary>
    Auto,
    /// <summary>The live panel (Spectre.Console), redrawn in place above nothing but the terminal's own scrollback.</summary>
    Live,
    /// <summary>Plain lines only (no ANSI codes, no carriage returns), with a periodic progress line on long phases.</summary>
    Lines,
}

/// <summary>
/// Shows a <see cref="TrainingMonitor"/> while training runs, on top of the progress lines <see cref="TrainerConsole"/> prints
/// anyway. Lines mode (redirected output, MSBuild, CI): after <see cref="LinesInterval"/> without output it prints one line
/// such as <c>skillopt: [epoch 1 step 2/4] validation: rollouts 96/240, 3 errored, 41 s left</c>. Live mode (an interactive
/// terminal): a Spectre.Console panel with the phase, step and epoch, rollouts done of asked for, elapsed time and time
/// left, target and optimizer calls, tokens and cost so far, and the last gate verdict, redrawn twice a second.
/// </summary>
internal abstract class ProgressDisplay : IAsyncDisposable
{
    /// <summary>Quiet time after which lines mode prints a progress line (15 s).</summary>
    public static readonly TimeSpan LinesInterval = TimeSpan.FromSeconds(15);

    /// <summary>Decides whether <paramref name="mode"/> means a live panel here.</summary>
    /// <param name="mode">The requested mode.</param>
    /// <param name="environment">Reads an environment variable (<c>CI</c>, <c>TERM</c>, <c>NO_COLOR</c> are consulted).</param>
    /// <param name="redirected">True when standard output or error is redirected (a pipe, a file, MSBuild).</param>
    public static bool IsLive(ProgressMode mode, Func<string, string?> environment, bool redirected)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return mode switch
        {
            ProgressMode.Live => true,
            ProgressMode.Lines => false,
            _ => !redirected && string.IsNullOrEmpty(environment("CI")) && environment("TERM") is not "dumb" && string.IsNullOrEmpty(environment("TF_BUILD")),
        };
    }

    /// <summary>Starts the display for <paramref name="monitor"/>, which also receives the console's progress events until the display is disposed.</summary>
    /// <param name="console">The trainer's console (lines go through it; in live mode it writes through <paramref name="ansi"/>).</param>
    /// <param name="monitor">What to show.</param>
    /// <param name="live">Live panel (true) or lines (false).</param>
    /// <param name="ansi">The terminal for live mode (default: <see cref="AnsiConsole.Console"/>).</param>
    /// <param name="title">The panel's title, e.g. <c>skill 'math' · SIMULATED models</c>.</param>
    public static ProgressDisplay Start(TrainerConsole console, TrainingMonitor monitor, bool live, IAnsiConsole? ansi = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(monitor);
        console.Monitor = monitor;
        return live ? new LiveDisplay(console, monitor, ansi ?? AnsiConsole.Console, title ?? "skillopt training") : new LinesDisplay(console, monitor);
    }

    /// <summary>Stops the display (the live panel shows its last state and stays on screen).</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>The live panel for one snapshot.</summary>
    /// <param name="s">The snapshot.</param>
    /// <param name="title">The panel's title.</param>
    public static IRenderable Render(ProgressSnapshot s, string title)
    {
        ArgumentNullException.ThrowIfNull(s);
        var ci = CultureInfo.InvariantCulture;
        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        void Row(string name, string value) => grid.AddRow(new Text(name, new Style(Color.Grey)), new Text(value));
        var where = s.Phase switch
        {
            "step" => $"step {s.Step}/{s.TotalSteps} (epoch {s.Epoch})",
            "slow_update" => $"slow update (epoch {s.Epoch})",
            "meta_skill" => $"meta skill (epoch {s.Epoch})",
            "baseline" => "baseline validation",
            "test" => "test split",
            "done" => "done",
            _ => s.Phase,
        };
        Row("phase", where);
        Row("rollouts", s.RolloutLine ?? "none yet");
        Row("time", s.TimeLine);
        Row("calls", string.Create(ci, $"target {s.Spending.TargetCalls:N0}, optimizer {s.Spending.OptimizerCalls:N0}"));
        Row("tokens", string.Create(ci, $"{s.Spending.Tokens:N0}") + (s.Spending.CostUsd is { } c ? string.Create(ci, $", ${c:0.00}") : ", cost unknown (no pricing for these models)"));
        Row("last gate", s.LastGate ?? "none yet");
        return new Panel(grid).Header(new PanelHeader(Markup.Escape(title))).Border(BoxBorder.Rounded).Expand();
    }

    private sealed class LinesDisplay : ProgressDisplay
    {
        private readonly TrainerConsole _console;
        private readonly TrainingMonitor _monitor;
        private readonly ITimer _timer;

        public LinesDisplay(TrainerConsole console, TrainingMonitor monitor)
        {
            _console = console;
            _monitor = monitor;
            var tick = TimeSpan.FromSeconds(1);
            _timer = monitor.Time.CreateTimer(_ => Tick(), null, tick, tick);
        }

        private void Tick()
        {
            if (_monitor.Quiet < LinesInterval)
            {
                return;
            }
            var s = _monitor.Snapshot();
            if (s.Phase is "done")
            {
                return;
            }
            var what = s.RolloutLine is { } line && s.RolloutsDone < s.RolloutsPlanned ? line
                : $"{(s.Phase == "step" ? "reflection, merge and gate" : s.Phase.Replace('_', ' '))} under way";
            _console.Info(s.Where + what + $" ({s.TimeLine})");
            _monitor.Touch();
        }

        public override async ValueTask DisposeAsync()
        {
            _console.Monitor = null;
            await _timer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class LiveDisplay : ProgressDisplay
    {
        private readonly TrainerConsole _console;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public LiveDisplay(TrainerConsole console, TrainingMonitor monitor, IAnsiConsole ansi, string title)
        {
            _console = console;
            console.UseTerminal(ansi);
            var started = new TaskCompletionSource();
            _loop = Task.Run(() => ansi.Live(Render(monitor.Snapshot(), title)).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).StartAsync(async ctx =>
            {
                started.TrySetResult();
                while (true)
                {
                    console.Synchronized(() =>
                    {
                        ctx.UpdateTarget(Render(monitor.Snapshot(), title));
                        ctx.Refresh();
                    });
                    if (_stop.IsCancellationRequested)
                    {
                        break;
                    }
                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(500), monitor.Time, _stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // one last frame with the final state
                    }
                }
            }));
            // lines written before the panel exists would be drawn over by its first frame
            started.Task.Wait(TimeSpan.FromSeconds(5));
        }

        public override async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _loop.ConfigureAwait(false);
            }
            finally
            {
                _console.Monitor = null;
                _console.UseTerminal(null);
                _stop.Dispose();
            }
        }
    }
}
