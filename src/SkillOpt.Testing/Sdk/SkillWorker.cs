using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkillOpt.Testing.Verifiers;
using Xunit.Sdk;
using Xunit.v3;

namespace SkillOpt.Testing.Sdk;

/// <summary>
/// Worker mode of a verifier executable (protocol 1, docs/verifiers.md "Verifier workers"). The trainer starts the
/// verifier once with <c>SKILLOPT_WORKER=1</c>, <c>SKILLOPT_WORKER_PIPE</c> and a filter that selects one skill task; that
/// task, instead of running, connects to the named pipe, discovers the assembly's skill tasks again through xUnit's own
/// test framework and serves rollouts: one JSON object per line on the pipe asks for a task with its per-rollout variables, each rollout runs through xUnit's executor
/// (fixtures, skips, timeouts as in a normal run) concurrently with the others, its xUnit messages go back as
/// <c>output</c> lines and its end as a <c>done</c> line; the result file is written as in a normal run. An <c>exit</c>
/// request or the pipe closing ends the worker once its rollouts finish.
/// </summary>
internal static class SkillWorker
{
    /// <summary>Version of the protocol this worker speaks.</summary>
    public const int ProtocolVersion = 1;

    /// <summary>Every line this worker writes for the trainer starts with this text.</summary>
    public const string LinePrefix = "{\"$skillopt\":";

    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static int _host;

    /// <summary>True once per process, when <c>SKILLOPT_WORKER</c> asks for worker mode: the caller becomes the worker.</summary>
    public static bool TryBecomeHost() =>
        Environment.GetEnvironmentVariable(VerifierEnvironment.Worker) is { } v && v.Trim() == "1" && Interlocked.Exchange(ref _host, 1) == 0;

    /// <summary>Serves rollouts until an <c>exit</c> request or the end of the pipe; returns the host test case's (empty) summary.</summary>
    public static async ValueTask<RunSummary> ServeAsync(SkillTestCase host, CancellationToken cancellationToken)
    {
        // A pipe of its own (not standard output, which verifiers and xUnit also write to): SKILLOPT_WORKER_PIPE names it.
        var pipeName = Environment.GetEnvironmentVariable(VerifierEnvironment.WorkerPipe)
            ?? throw new InvalidOperationException($"{VerifierEnvironment.Worker} is set but {VerifierEnvironment.WorkerPipe} names no pipe.");
        using var pipe = new System.IO.Pipes.NamedPipeClientStream(".", pipeName.Trim(), System.IO.Pipes.PipeDirection.InOut, System.IO.Pipes.PipeOptions.Asynchronous);
        await pipe.ConnectAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        using var output = new StreamWriter(pipe, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true) { AutoFlush = false };
        using var input = new StreamReader(pipe, new System.Text.UTF8Encoding(false), false, 1 << 16, leaveOpen: true);
        var writeGate = new object();
        void Send(JsonObject message)
        {
            var line = message.ToJsonString(Json);
            lock (writeGate)
            {
                try
                {
                    output.WriteLine(line);
                    output.Flush();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                {
                    // the trainer is gone: the pipe's end stops the loop
                }
            }
        }

        await Task.Run(async () =>
        {
            var assembly = host.TestMethod.TestClass.Class.Assembly;
            var framework = ExtensibilityPointFactory.GetTestFramework(assembly);
            var cases = new Dictionary<string, SkillTestCase>(StringComparer.Ordinal);
            await framework.GetDiscoverer(assembly).Find(tc =>
            {
                if (tc is SkillTestCase s)
                {
                    cases.TryAdd(s.TaskId, s);
                }
                return new ValueTask<bool>(true);
            }, new WorkerOptions(), null, cancellationToken).ConfigureAwait(false);
            var executor = framework.GetExecutor(assembly);
            Send(new JsonObject { ["$skillopt"] = "ready", ["protocol"] = ProtocolVersion, ["tasks"] = cases.Count, ["pid"] = Environment.ProcessId });

            var running = new ConcurrentDictionary<long, Task>();
            string? line;
            while ((line = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false)) is not null)
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }
                JsonObject request;
                string? type;
                long id;
                try
                {
                    request = JsonNode.Parse(line)!.AsObject();
                    type = request["type"]?.GetValue<string>();
                    if (type == "exit")
                    {
                        break;
                    }
                    id = request["id"]!.GetValue<long>();
                }
                catch (Exception ex) when (ex is JsonException or InvalidOperationException or NullReferenceException or FormatException)
                {
                    Send(new JsonObject { ["$skillopt"] = "error", ["message"] = $"not a request: {ex.Message}" });
                    continue;
                }
                var task = request["task"]?.GetValue<string>();
                if (type != "run" || task is null || !cases.TryGetValue(task, out var testCase))
                {
                    Send(new JsonObject
                    {
                        ["$skillopt"] = "done", ["id"] = id,
                        ["error"] = type != "run" ? $"unknown request type '{type}'" : $"no [SkillFact]/[SkillTheory] task '{task}' in this verifier",
                    });
                    continue;
                }
                var variables = new Dictionary<string, string?>(StringComparer.Ordinal);
                if (request["env"] is JsonObject env)
                {
                    foreach (var (k, v) in env)
                    {
                        variables[k] = v?.GetValue<string>();
                    }
                }
                running[id] = Task.Run(async () =>
                {
                    string? error = null;
                    try
                    {
                        VerifierEnvironment.SetForRollout(variables);
                        var sink = new RolloutSink(id, Send);
                        await executor.RunTestCases([testCase], sink, new WorkerOptions(), cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        error = $"{ex.GetType().Name}: {ex.Message}";
                    }
                    finally
                    {
                        VerifierEnvironment.SetForRollout(null);
                    }
                    var done = new JsonObject { ["$skillopt"] = "done", ["id"] = id };
                    if (error is not null)
                    {
                        done["error"] = error;
                    }
                    Send(done);
                    running.TryRemove(id, out _);
                }, CancellationToken.None);
            }
            await Task.WhenAll(running.Values).ConfigureAwait(false);
        }, CancellationToken.None).ConfigureAwait(false);
        return new RunSummary { Total = 0 };
    }

    /// <summary>Passes a rollout's xUnit messages on as <c>output</c> lines (what <c>-automated</c> would print).</summary>
    private sealed class RolloutSink(long id, Action<JsonObject> send) : IMessageSink
    {
        public bool OnMessage(IMessageSinkMessage message)
        {
            if (message is IJsonSerializable json && json.ToJson() is { } text)
            {
                send(new JsonObject { ["$skillopt"] = "output", ["id"] = id, ["line"] = text });
            }
            return true;
        }
    }

    /// <summary>Discovery and execution options of the worker's own runs: xUnit's defaults, one test case at a time per run.</summary>
    private sealed class WorkerOptions : ITestFrameworkDiscoveryOptions, ITestFrameworkExecutionOptions
    {
        private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal)
        {
            [TestOptionsNames.Execution.DisableParallelization] = "true",
            [TestOptionsNames.Discovery.PreEnumerateTheories] = "true",
        };

        public TValue? GetValue<TValue>(string name)
        {
            if (!_values.TryGetValue(name, out var v) || v is null)
            {
                return default;
            }
            var type = Nullable.GetUnderlyingType(typeof(TValue)) ?? typeof(TValue);
            return type.IsEnum ? (TValue)Enum.Parse(type, v) : (TValue)Convert.ChangeType(v, type, CultureInfo.InvariantCulture);
        }

        public void SetValue<TValue>(string name, TValue value) => _values[name] = Convert.ToString(value, CultureInfo.InvariantCulture);

        public string ToJson() => JsonSerializer.Serialize(_values);
    }
}
