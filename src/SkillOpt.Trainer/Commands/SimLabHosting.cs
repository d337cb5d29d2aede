using System.Globalization;
using SkillOpt.Core.Runs;
using SkillOpt.Providers;
using SkillOpt.SimLab;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer.Commands;

/// <summary>
/// Starts SimLab (the SIMULATED model server) inside the trainer when a model role uses <c>provider: simlab</c> without an
/// endpoint: the built-in scenario named by <c>SKILLOPT_SIMLAB_SCENARIO</c> (default <c>gsm8k</c>; a scenario file path
/// works too) runs on 127.0.0.1 for the length of the command, and the roles' endpoints are handed to the optimizer client
/// and to the verifier processes through <c>SKILLOPT_{ROLE}_ENDPOINT</c>. Every use is announced as a warning
/// (<see cref="SimulatedModels"/>) at the start and at the end, and the output folder gets a
/// <c>simulated.json</c> marker: results produced this way are simulations, never model results.
/// </summary>
internal sealed class SimLabHosting : IAsyncDisposable
{
    /// <summary>The environment variable that names the scenario (a built-in name or a scenario file).</summary>
    public const string ScenarioVariable = "SKILLOPT_SIMLAB_SCENARIO";

    /// <summary>The scenario used when <see cref="ScenarioVariable"/> is unset.</summary>
    public const string DefaultScenario = "gsm8k";

    /// <summary>The marker file written into every output folder of a command that used SimLab.</summary>
    public const string MarkerFileName = "simulated.json";

    /// <summary>Warning: a model role is simulated by SimLab (documented in docs/diagnostics.md).</summary>
    public const string SimulatedModels = DiagnosticCodes.SimulatedModels;

    /// <summary>Error: the simulated target was asked a task its scenario does not know, so the command stops (docs/diagnostics.md).</summary>
    public const string UnknownTasks = DiagnosticCodes.UnknownTasks;

    /// <summary>Warning: with <see cref="UnknownTasksVariable"/> = <c>warn</c>, the share of asked tasks the scenario did not know (docs/diagnostics.md).</summary>
    public const string UnknownTasksWarning = DiagnosticCodes.UnknownTasksWarning;

    /// <summary>
    /// The environment variable that says what a task the scenario does not know does: <c>error</c> (default: the command
    /// stops with <see cref="UnknownTasks"/>) or <c>warn</c> (it is answered as a failure and the run goes on; the end of
    /// the command warns once with <see cref="UnknownTasksWarning"/>).
    /// </summary>
    public const string UnknownTasksVariable = "SKILLOPT_SIMLAB_UNKNOWN_TASKS";

    private readonly SimLabServer _server;
    private readonly TrainerConsole _console;
    private readonly Dictionary<string, string?> _previousEnvironment;

    private readonly bool _warnOnUnknownTasks;
    private readonly string? _configPath;
    private CancellationTokenSource? _stopOnUnknown;
    private TrainerException? _unknownTasksError;

    private SimLabHosting(SimLabServer server, TrainerConsole console, IReadOnlyList<string> roles, Dictionary<string, string?> previousEnvironment, bool warnOnUnknownTasks, string? configPath)
    {
        _server = server;
        _console = console;
        Roles = roles;
        _previousEnvironment = previousEnvironment;
        _warnOnUnknownTasks = warnOnUnknownTasks;
        _configPath = configPath;
        _server.UnknownTaskAsked += OnUnknownTask;
    }

    /// <summary>
    /// The error that stopped the command because the simulated target was asked a task its scenario does not know
    /// (<see cref="UnknownTasks"/>); null while that has not happened, and always with <see cref="UnknownTasksVariable"/> = <c>warn</c>.
    /// </summary>
    public TrainerException? UnknownTasksError => Volatile.Read(ref _unknownTasksError);

    /// <summary>
    /// Cancels <paramref name="command"/> the first time the simulated target is asked a task the scenario does not know
    /// (unless <see cref="UnknownTasksVariable"/> is <c>warn</c>); the command then throws <see cref="UnknownTasksError"/>
    /// where it would report an interruption.
    /// </summary>
    /// <param name="command">The cancellation source of the command's work (training, evaluation, recording).</param>
    public void StopOnUnknownTasks(CancellationTokenSource command)
    {
        ArgumentNullException.ThrowIfNull(command);
        Volatile.Write(ref _stopOnUnknown, command);
        if (UnknownTasksError is not null)
        {
            command.Cancel();
        }
    }

    private void OnUnknownTask(object? sender, UnknownTaskEventArgs e)
    {
        if (_warnOnUnknownTasks)
        {
            return;
        }
        var question = e.Question.ReplaceLineEndings(" ").Trim();
        question = question.Length <= 80 ? question : question[..80] + "…";
        var error = new TrainerException(UnknownTasks,
            $"the simulated target was asked a task that SimLab's '{e.Scenario}' scenario does not know (\"{question}\"): SimLab simulates only the "
            + $"{_server.Scenario.ResolvedTasks.Count.ToString(CultureInfo.InvariantCulture)} tasks of its scenario and would answer every other task as a failure, "
            + "so the command stops. To train for real, configure the target and optimizer providers in skillopt.yaml or with SKILLOPT_TARGET_PROVIDER / SKILLOPT_OPTIMIZER_PROVIDER (docs/providers.md); "
            + $"to try the loop offline on your own verifiers, describe their tasks in a SimLab scenario file and set {ScenarioVariable} to it (docs/verifiers.md, \"Trying the loop offline\"); "
            + $"to go on with these tasks answered as failures, set {UnknownTasksVariable}=warn",
            _configPath);
        if (Interlocked.CompareExchange(ref _unknownTasksError, error, null) is null)
        {
            Volatile.Read(ref _stopOnUnknown)?.Cancel();
        }
    }

    /// <summary>The roles SimLab plays (<c>target</c>, <c>optimizer</c>).</summary>
    public IReadOnlyList<string> Roles { get; }

    /// <summary>The simulated scenario's name.</summary>
    public string ScenarioName => _server.Scenario.Name;

    /// <summary>The server's base URL (<c>http://127.0.0.1:PORT/v1</c>).</summary>
    public string BaseUrl => _server.BaseUrl;

    /// <summary>
    /// Starts SimLab when a role of <paramref name="context"/> uses <c>provider: simlab</c> without an endpoint (after the
    /// <c>SKILLOPT_{ROLE}_*</c> environment overrides); returns <see langword="null"/> when no role does.
    /// </summary>
    /// <param name="context">The command's verifier, skill and configuration.</param>
    /// <param name="console">Where the SIMULATED warning goes.</param>
    /// <param name="outputFolder">A folder to mark as simulated now (the run folder), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="TrainerException">SKOPT2304 when <see cref="ScenarioVariable"/> names neither a file nor a built-in scenario; SKOPT2008 when a role names a model the scenario does not simulate.</exception>
    /// <exception cref="ScenarioException">SKOPT2304 at the file, line and column of an invalid scenario file.</exception>
    public static async Task<SimLabHosting?> StartIfNeededAsync(CommandContext context, TrainerConsole console, string? outputFolder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(console);
        var roles = new List<string>();
        foreach (var (role, options) in new[] { ("target", context.Options.Models.Target), ("optimizer", context.Options.Models.Optimizer) })
        {
            var provider = Override(role, "PROVIDER") ?? options.Provider;
            var endpoint = Override(role, "ENDPOINT") ?? options.Endpoint;
            if (string.Equals(provider?.Trim(), ChatClientFactory.SimLabProvider, StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(endpoint))
            {
                roles.Add(role);
            }
        }
        if (roles.Count == 0)
        {
            return null;
        }

        var name = Environment.GetEnvironmentVariable(ScenarioVariable) is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : DefaultScenario;
        var relative = Path.Combine(context.ConfigDirectory, name);
        Scenario scenario;
        try
        {
            scenario = ScenarioLoader.Load(!Path.IsPathRooted(name) && File.Exists(relative) ? relative : name);
        }
        catch (ScenarioException ex) when (ex.Line > 0 || File.Exists(ex.File))
        {
            // an invalid scenario file: its own file(line,col)
            throw new ScenarioException(ex.File, ex.Line, ex.Column,
                $"{ex.Detail} ({ScenarioVariable} names this file; roles using provider 'simlab' without an endpoint start its scenario in process)", ex);
        }
        catch (ScenarioException ex)
        {
            throw new TrainerException(DiagnosticCodes.SimLabScenarioInvalid,
                $"{ScenarioVariable}='{name}': {ex.Detail} (roles using provider 'simlab' without an endpoint start this SimLab scenario in process)", context.ConfigPath);
        }

        // The roles' models must be ones the scenario simulates; an unset model takes the scenario's.
        var previous = new Dictionary<string, string?>(StringComparer.Ordinal);
        void Set(string variable, string value)
        {
            if (!previous.ContainsKey(variable))
            {
                previous[variable] = Environment.GetEnvironmentVariable(variable);
            }
            Environment.SetEnvironmentVariable(variable, value);
        }
        foreach (var role in roles)
        {
            var expected = role == "target" ? scenario.Models.Target : scenario.Models.Optimizer;
            var model = Override(role, "MODEL") ?? (role == "target" ? context.Options.Models.Target.Model : context.Options.Models.Optimizer.Model);
            if (string.IsNullOrWhiteSpace(model))
            {
                Set(ChatClientFactory.EnvironmentVariableName(role, "MODEL"), expected);
            }
            else if (!string.Equals(model.Trim(), expected, StringComparison.Ordinal))
            {
                throw new TrainerException(TrainerDiagnostics.ModelConfiguration,
                    $"role '{role}' uses provider 'simlab' with model '{model.Trim()}', but the SimLab scenario '{scenario.Name}' simulates the {role} as '{expected}': set models.{role}.model to '{expected}' (or leave it out)",
                    context.ConfigPath);
            }
        }

        var unknownTasks = Environment.GetEnvironmentVariable(UnknownTasksVariable)?.Trim().ToLowerInvariant() ?? "";
        if (unknownTasks is not ("" or "error" or "warn"))
        {
            throw new TrainerException(TrainerDiagnostics.ModelConfiguration, $"{UnknownTasksVariable} must be 'error' or 'warn', not '{unknownTasks}'", context.ConfigPath);
        }
        var server = await SimLabServer.StartAsync(scenario, 0, cancellationToken).ConfigureAwait(false);
        foreach (var role in roles)
        {
            Set(ChatClientFactory.EnvironmentVariableName(role, "ENDPOINT"), server.BaseUrl);
        }
        var hosting = new SimLabHosting(server, console, roles, previous, unknownTasks == "warn", context.ConfigPath);
        console.Warning(SimulatedModels,
            $"the {hosting.Who()} SIMULATED: no language model is called; SimLab's '{scenario.Name}' scenario answers on {server.BaseUrl} (provider 'simlab' without an endpoint), "
            + "so every score, skill and transcript of this run is a simulation, not a model result. To train for real, configure a provider in skillopt.yaml or with SKILLOPT_TARGET_PROVIDER / SKILLOPT_OPTIMIZER_PROVIDER (see docs/providers.md)",
            context.ConfigPath);
        if (outputFolder is not null)
        {
            hosting.MarkOutput(outputFolder);
        }
        return hosting;
    }

    /// <summary>Writes <c>simulated.json</c> into <paramref name="folder"/> (created when missing).</summary>
    /// <param name="folder">An output folder of the command (run folder, evaluation folder).</param>
    public void MarkOutput(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteJson(Path.Combine(folder, MarkerFileName), new
        {
            schema_version = 1,
            simulated = true,
            simulator = "SkillOpt.SimLab",
            scenario = _server.Scenario.Name,
            scenario_seed = _server.Scenario.Seed,
            roles = Roles,
            note = "The " + Who() + " SIMULATED by SimLab (a deterministic simulation computed from a scenario file). "
                + "Scores, skills and transcripts in this folder are simulations, not results of a language model.",
        });
    }

    /// <summary>
    /// Stops the server, repeats the SIMULATED warning with what was served (and, with <see cref="UnknownTasksVariable"/> =
    /// <c>warn</c>, the share of asked tasks the scenario did not know), and restores the environment.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var stats = _server.Statistics;
        _server.UnknownTaskAsked -= OnUnknownTask;
        if (_warnOnUnknownTasks && stats.UnknownTasksAsked > 0)
        {
            var asked = stats.UnknownTasksAsked + stats.KnownTasksAsked;
            var share = string.Create(CultureInfo.InvariantCulture,
                $"{stats.UnknownTasksAsked} of the {asked} tasks the simulated target was asked ({stats.UnknownTasksAsked / (double)asked:0%}; {stats.UnknownTaskCalls} calls)");
            _console.Warning(UnknownTasksWarning,
                $"{share} are unknown to SimLab's '{_server.Scenario.Name}' scenario and were answered as failures ({UnknownTasksVariable}=warn): their scores say nothing. "
                + $"To train for real, configure the target and optimizer providers (docs/providers.md); to try the loop offline on your own verifiers, describe their tasks in a SimLab scenario file and set {ScenarioVariable} to it (docs/verifiers.md, \"Trying the loop offline\")",
                _configPath);
        }
        _console.Warning(SimulatedModels,
            $"the results above are SIMULATED: SimLab ('{_server.Scenario.Name}') answered {stats.TargetCalls.ToString(CultureInfo.InvariantCulture)} target and "
            + $"{stats.OptimizerCalls.ToString(CultureInfo.InvariantCulture)} optimizer calls; they say nothing about a real model");
        await _server.DisposeAsync().ConfigureAwait(false);
        foreach (var (variable, value) in _previousEnvironment)
        {
            Environment.SetEnvironmentVariable(variable, value);
        }
    }

    private string Who() => Roles.Count == 2 ? "target and optimizer models are" : $"{Roles[0]} model is";

    private static string? Override(string role, string setting)
    {
        var v = Environment.GetEnvironmentVariable(ChatClientFactory.EnvironmentVariableName(role, setting));
        return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
    }
}
