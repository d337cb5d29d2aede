using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Sdk;
using SkillOpt.Testing.Verifiers;

namespace SkillOpt.Testing;

/// <summary>What a <see cref="SkillAgent.ClientFactory"/> is given to build the target model's client for one task.</summary>
/// <param name="SkillName">Skill name.</param>
/// <param name="TaskId">Stable task id.</param>
/// <param name="SampleIndex">Sample index (the seed).</param>
/// <param name="Stage">The trainer's stage, if any.</param>
/// <param name="Options">The configuration (<c>models.target</c> describes the target).</param>
/// <param name="ConfigPath">The configuration file, if any.</param>
public sealed record SkillAgentContext(string SkillName, string TaskId, int SampleIndex, string? Stage, SkillOptOptions Options, string? ConfigPath);

/// <summary>Settings of a <see cref="SkillAgent"/>.</summary>
public sealed class SkillAgentOptions
{
    /// <summary>Most model calls in one <see cref="SkillAgent.RunAsync(string, CancellationToken)"/> (default 10); reaching it fails the task.</summary>
    public int MaxTurns { get; set; } = 10;

    /// <summary>Seed passed as <see cref="ChatOptions.Seed"/> (a skill task uses its sample index).</summary>
    public long? Seed { get; set; }

    /// <summary>Stage recorded in the requests (<see cref="ChatStage"/>), if any.</summary>
    public string? Stage { get; set; }

    /// <summary>Options copied into every request (model id, temperature…); may be null.</summary>
    public ChatOptions? ChatOptions { get; set; }

    /// <summary>Tools offered on every run in addition to those passed to <see cref="SkillAgent.RunAsync(string, IEnumerable{AITool}, CancellationToken)"/>.</summary>
    public IList<AITool> Tools { get; } = [];
}

/// <summary>
/// The agent under test: the target model (<see cref="IChatClient"/>) with the skill as its whole system prompt, a
/// tool-call loop for <see cref="AIFunction"/> tools with a turn limit, and a recorded transcript. Inside a
/// <see cref="SkillFactAttribute"/> or <see cref="SkillTheoryAttribute"/> test use <see cref="Current"/>: it runs with the
/// candidate skill during training (<c>SKILLOPT_SKILL_FILE</c>) and the committed skill otherwise, seeds the model with the
/// sample index, and records everything into the task's result.
/// </summary>
public sealed class SkillAgent
{
    private static readonly object ClientGate = new();
    private static readonly Dictionary<string, IChatClient> SharedClients = new(StringComparer.Ordinal);

    private readonly SkillTaskScope? _scope;
    private readonly object _gate = new();
    private readonly List<TranscriptMessage> _transcript = [];
    private TokenUsage _usage = TokenUsage.Zero;

    /// <summary>Creates an agent outside a skill test (for example in a unit test of a verifier).</summary>
    /// <param name="client">The target model.</param>
    /// <param name="skill">The skill text (the whole system prompt).</param>
    /// <param name="options">Settings; <see langword="null"/> uses the defaults.</param>
    public SkillAgent(IChatClient client, string skill, SkillAgentOptions? options = null)
        : this(client, skill, options ?? new SkillAgentOptions(), null)
    {
    }

    private SkillAgent(IChatClient client, string skill, SkillAgentOptions options, SkillTaskScope? scope)
    {
        Client = client ?? throw new ArgumentNullException(nameof(client));
        Skill = skill ?? throw new ArgumentNullException(nameof(skill));
        Options = options;
        _scope = scope;
    }

    /// <summary>
    /// Builds the target model's client for a task; when <see langword="null"/> (the default) the client comes from the
    /// configuration's <c>models.target</c> (one client per configuration, shared by the tasks of the process).
    /// Set it in a module initializer or an assembly fixture to plug in a fake.
    /// </summary>
    public static Func<SkillAgentContext, IChatClient>? ClientFactory { get; set; }

    /// <summary>The agent of the skill task running on this flow.</summary>
    /// <exception cref="InvalidOperationException">Called outside a <see cref="SkillFactAttribute"/> or <see cref="SkillTheoryAttribute"/> test.</exception>
    public static SkillAgent Current =>
        (SkillTaskScope.Current ?? throw new InvalidOperationException(
            "SkillAgent.Current is only available inside a [SkillFact] or [SkillTheory] test; elsewhere create a SkillAgent with a client and a skill."))
        .Agent();

    /// <summary>The target model.</summary>
    public IChatClient Client { get; }

    /// <summary>The skill text: the exact and whole system message of every conversation.</summary>
    public string Skill { get; }

    /// <summary>Settings.</summary>
    public SkillAgentOptions Options { get; }

    /// <summary>Everything the agent saw and did so far, without the system message (it is the skill).</summary>
    internal IReadOnlyList<TranscriptMessage> Transcript { get { lock (_gate) { return _transcript.ToList(); } } }

    /// <summary>Tokens and calls spent so far.</summary>
    public TokenUsage Usage { get { lock (_gate) { return _usage; } } }

    /// <summary>Runs <paramref name="task"/> as a new conversation with the agent's default tools.</summary>
    /// <param name="task">The user message.</param>
    /// <param name="cancellationToken">Cancels the run (inside a test, the test's token is used too).</param>
    /// <exception cref="SkillAgentTurnLimitException">The agent was still calling tools after <see cref="SkillAgentOptions.MaxTurns"/> calls (an assertion failure: the task fails).</exception>
    public Task<SkillReply> RunAsync(string task, CancellationToken cancellationToken = default) => RunAsync(task, [], cancellationToken);

    /// <summary>Runs <paramref name="task"/> as a new conversation, offering <paramref name="tools"/> (plus the default tools).</summary>
    /// <param name="task">The user message.</param>
    /// <param name="tools">Tools the model may call; <see cref="AIFunction"/>s are invoked by the loop.</param>
    /// <param name="cancellationToken">Cancels the run (inside a test, the test's token is used too).</param>
    /// <exception cref="SkillAgentTurnLimitException">The agent was still calling tools after <see cref="SkillAgentOptions.MaxTurns"/> calls (an assertion failure: the task fails).</exception>
    public async Task<SkillReply> RunAsync(string task, IEnumerable<AITool> tools, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(tools);
        using var taskSpan = SkillOpt.Providers.ProviderTelemetry.StartTask(_scope?.TaskId, VerifierEnvironment.Get);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _scope is null ? CancellationToken.None : Xunit.TestContext.Current.CancellationToken);
        var ct = linked.Token;
        var allTools = Options.Tools.Concat(tools).ToList();
        var functions = allTools.OfType<AIFunction>().GroupBy(f => f.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

        var options = Options.ChatOptions?.Clone() ?? new ChatOptions();
        options.Seed = Options.Seed ?? options.Seed;
        if (allTools.Count > 0)
        {
            options.Tools = allTools;
        }
        if (Options.Stage is { } stage)
        {
            options.WithStage(stage);
        }

        var messages = new List<ChatMessage> { new(ChatRole.System, Skill), new(ChatRole.User, task) };
        var transcript = new List<TranscriptMessage> { new("user", task) };
        var calls = new List<ModelCallRecord>();
        var usage = TokenUsage.Zero;
        var total = Stopwatch.StartNew();
        var text = "";
        var turns = 0;
        try
        {
            while (true)
            {
                if (turns >= Options.MaxTurns)
                {
                    throw new SkillAgentTurnLimitException(Options.MaxTurns);
                }
                turns++;
                var sw = Stopwatch.StartNew();
                var response = await Client.GetResponseAsync(messages, options, ct).ConfigureAwait(false);
                sw.Stop();
                var u = response.Usage;
                var callUsage = new TokenUsage(u?.InputTokenCount ?? 0, u?.OutputTokenCount ?? 0, u?.CachedInputTokenCount ?? 0, 1);
                usage += callUsage;
                calls.Add(new ModelCallRecord(turns, sw.Elapsed.TotalSeconds, callUsage.InputTokens, callUsage.OutputTokens));

                var functionCalls = new List<FunctionCallContent>();
                foreach (var m in response.Messages)
                {
                    messages.Add(m);
                    var fc = m.Contents.OfType<FunctionCallContent>().ToList();
                    functionCalls.AddRange(fc);
                    var role = m.Role == ChatRole.Tool ? "tool" : m.Role == ChatRole.User ? "user" : "assistant";
                    transcript.Add(new TranscriptMessage(role, string.IsNullOrEmpty(m.Text) ? null : m.Text,
                        fc.Count == 0 ? null : fc.Select(c => new TranscriptToolCall(c.CallId, c.Name, SerializeArguments(c.Arguments))).ToList()));
                }
                text = response.Messages.LastOrDefault(m => m.Role == ChatRole.Assistant)?.Text ?? response.Text ?? "";
                if (functionCalls.Count == 0)
                {
                    break;
                }
                var results = new List<AIContent>();
                foreach (var call in functionCalls)
                {
                    var result = await InvokeAsync(functions, call, ct).ConfigureAwait(false);
                    results.Add(new FunctionResultContent(call.CallId, result));
                    transcript.Add(new TranscriptMessage("tool", result, null, call.CallId));
                }
                messages.Add(new ChatMessage(ChatRole.Tool, results));
            }
        }
        finally
        {
            Record(transcript, calls, usage, turns > 0 ? SkillReply.ExtractFinalAnswer(text) : null);
        }
        return new SkillReply(text, messages, turns, usage, total.Elapsed);
    }

    internal static SkillAgent CreateForTask(SkillTaskScope scope)
    {
        if (scope.EnvironmentError is { } error)
        {
            throw new InvalidOperationException(error);
        }
        var (skill, _, _) = scope.SkillText();
        var (config, configPath) = scope.Config();
        var context = new SkillAgentContext(scope.Skill, scope.TaskId, scope.SampleIndex, scope.Stage, config, configPath);
        var client = ClientFactory is { } factory ? WithRecording(factory(context), config) : SharedClient(config, configPath);
        // The model id is the client's business (the configuration and SKILLOPT_TARGET_* overrides choose it).
        var options = new SkillAgentOptions { Seed = scope.SampleIndex, Stage = scope.Stage ?? ChatStage.Test };
        return new SkillAgent(client, skill, options, scope);
    }

    private static IChatClient SharedClient(SkillOptOptions config, string? configPath)
    {
        lock (ClientGate)
        {
            var key = configPath ?? "";
            if (!SharedClients.TryGetValue(key, out var client))
            {
                // Model-call spans leave the verifier process over OTLP when the trainer's environment asks for it.
                SkillOpt.Providers.ProviderTelemetry.EnsureProcessExportFromEnvironment("skillopt-verifier");
                // SKILLOPT_RECORDING / SKILLOPT_RECORDING_DIR: the trainer records the final evaluation, the gate replays it.
                client = RoleChatClients.Create("target", config.Models.Target, configPath is null ? null : Path.GetDirectoryName(configPath), VerifierEnvironment.RecordingPipeline());
                SharedClients[key] = client;
            }
            return client;
        }
    }

    /// <summary>Applies SKILLOPT_RECORDING to a client from <see cref="ClientFactory"/> (keyed by the configured provider and model, else <c>custom</c>).</summary>
    private static IChatClient WithRecording(IChatClient client, SkillOptOptions config)
    {
        var recording = VerifierEnvironment.RecordingPipeline();
        if (recording is null)
        {
            return client;
        }
        var provider = string.IsNullOrWhiteSpace(config.Models.Target.Provider) ? "custom" : config.Models.Target.Provider.Trim().ToLowerInvariant();
        var model = string.IsNullOrWhiteSpace(config.Models.Target.Model) ? "custom" : config.Models.Target.Model.Trim();
        return recording.Recording == SkillOpt.Providers.RecordingMode.Replay
            ? new SkillOpt.Providers.ReplayChatClient(recording.RecordingDirectory!, provider, model)
            : new SkillOpt.Providers.RecordingChatClient(client, recording.RecordingDirectory!, provider, model, recording.Recording);
    }

    private void Record(List<TranscriptMessage> transcript, List<ModelCallRecord> calls, TokenUsage usage, string? finalAnswer)
    {
        lock (_gate)
        {
            _transcript.AddRange(transcript);
            _usage += usage;
        }
        _scope?.Record(transcript, calls, usage, finalAnswer);
    }

    private static async Task<string> InvokeAsync(Dictionary<string, AIFunction> functions, FunctionCallContent call, CancellationToken ct)
    {
        if (!functions.TryGetValue(call.Name, out var function))
        {
            return $"Error: there is no tool named '{call.Name}'. Available tools: {(functions.Count == 0 ? "none" : string.Join(", ", functions.Keys))}.";
        }
        try
        {
            var result = await function.InvokeAsync(new AIFunctionArguments(call.Arguments), ct).ConfigureAwait(false);
            return result switch
            {
                null => "",
                string s => s,
                JsonElement e => e.ValueKind == JsonValueKind.String ? e.GetString() ?? "" : e.GetRawText(),
                _ => JsonSerializer.Serialize(result, result.GetType()),
            };
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // The model sees the tool's failure and may recover, as it would with a real tool.
            return $"Error: the tool '{call.Name}' failed: {ex.Message}";
        }
    }

    private static string SerializeArguments(IDictionary<string, object?>? arguments)
    {
        if (arguments is null)
        {
            return "{}";
        }
        try
        {
            return JsonSerializer.Serialize(arguments);
        }
        catch (NotSupportedException)
        {
            return "{" + string.Join(", ", arguments.Select(kv => $"\"{kv.Key}\": \"{kv.Value}\"")) + "}";
        }
    }
}

/// <summary>The agent kept calling tools past its turn limit: the skill did not lead it to an answer, so the task fails (an assertion failure, not an error).</summary>
public sealed class SkillAgentTurnLimitException : Exception, IAssertionException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="maxTurns">The limit that was reached.</param>
    public SkillAgentTurnLimitException(int maxTurns)
        : base($"The agent did not finish within {maxTurns} turns (it was still calling tools).")
    {
        MaxTurns = maxTurns;
    }

    /// <summary>The limit that was reached.</summary>
    public int MaxTurns { get; }
}
