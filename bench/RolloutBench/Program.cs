using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Rollouts;
using SkillOpt.Providers.Scripted;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Verifiers;

// Rollout benchmark: N tasks, each one model call of a fixed latency, through the real process runner.
var tasks = Arg("--tasks", 64);
var concurrency = Arg("--concurrency", 16);
var latencyMs = Arg("--latency-ms", 200);
var repeat = Arg("--repeat", 3);
var inv = CultureInfo.InvariantCulture;

var verifierPath = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "SkillOpt.SampleVerifiers").Value!;
var work = Path.Combine(Path.GetTempPath(), "skillopt-rolloutbench-" + Environment.ProcessId.ToString(inv));
Directory.CreateDirectory(work);
var rules = Path.Combine(work, "target.rules.yaml");
File.WriteAllText(rules, $"latency_ms: {latencyMs}\nrules:\n  - when:\n      user_matches: 'Echo (\\d+)'\n    reply: \"Final answer: $1\"\n");
var config = Path.Combine(work, "skillopt.yaml");
File.WriteAllText(config, $"models:\n  target:\n    provider: scripted\n    endpoint: {rules}\n");

var verifier = new VerifierExecutable(verifierPath);
var env = new Dictionary<string, string?> { [VerifierEnvironment.Config] = config };
var ids = (await verifier.ListAsync(env, "bench", CancellationToken.None)).Select(t => t.TaskId).Take(tasks).ToList();
if (ids.Count < tasks)
{
    Console.Error.WriteLine($"the sample verifier has only {ids.Count} bench tasks");
    return 1;
}
var skill = File.ReadAllText(verifier.Project.Find("bench")!.SkillFile);
var hash = SkillOpt.Core.Skills.SkillDocument.Parse(skill).Hash;
Console.WriteLine($"RolloutBench: {tasks} tasks, concurrency {concurrency}, {latencyMs} ms per model call, {Environment.ProcessorCount} cores, .NET {Environment.Version}");

// 1. One process, one task: the fixed cost of a verifier process.
var single = new List<double>();
for (var i = 0; i < repeat; i++)
{
    var (wall, _, _) = await RunAsync(1, ids.Take(1).ToList());
    single.Add(wall);
}
var singleMedian = Median(single);
Console.WriteLine($"single task, one process: median {singleMedian:0.000} s (model {latencyMs / 1000.0:0.000} s, process overhead {singleMedian - latencyMs / 1000.0:0.000} s)");

// 2. The batch through the runner.
var walls = new List<double>();
var processWalls = new List<double>();
for (var i = 0; i < repeat; i++)
{
    var (wall, errored, perProcess) = await RunAsync(concurrency, ids);
    walls.Add(wall);
    processWalls.AddRange(perProcess);
    Console.WriteLine($"run {i + 1}: {wall:0.000} s wall, {perProcess.Count} processes, {errored} errored");
}
var ideal = tasks * latencyMs / 1000.0 / concurrency;
var median = Median(walls);
var perTask = (median * concurrency - tasks * latencyMs / 1000.0) / tasks;
var tasksPerProcess = (tasks + concurrency - 1) / concurrency;
Console.WriteLine($"batch: median {median:0.000} s wall vs ideal {ideal:0.000} s ({median / ideal:0.00}×)");
Console.WriteLine($"per-rollout overhead of the process approach: {perTask:0.000} s of process-slot time per task ((wall × concurrency − tasks × latency) / tasks)");
Console.WriteLine($"per process: mean {processWalls.Average():0.000} s for {tasksPerProcess} tasks ({tasksPerProcess * latencyMs / 1000.0:0.000} s of model time)");

// 3. In-process baseline: the same client, no processes.
var client = new ScriptedChatClient(ScriptedRuleSet.Load(rules));
var gate = new SemaphoreSlim(concurrency);
var sw = Stopwatch.StartNew();
await Task.WhenAll(ids.Select(async id =>
{
    await gate.WaitAsync();
    try { await client.GetResponseAsync([new ChatMessage(ChatRole.System, skill), new ChatMessage(ChatRole.User, "Echo 1")]); }
    finally { gate.Release(); }
}));
Console.WriteLine($"in-process baseline (same client, no verifier processes): {sw.Elapsed.TotalSeconds:0.000} s");
Directory.Delete(work, recursive: true);
return 0;

async Task<(double Wall, int Errored, List<double> PerProcess)> RunAsync(int slots, List<string> batch)
{
    var runner = new VerifierProcessRunner(verifier, new VerifierRunnerOptions
    {
        Concurrency = slots,
        Timeout = TimeSpan.FromSeconds(120),
        ConfigPath = config,
        WorkDirectory = Path.Combine(work, "rollouts-" + Guid.NewGuid().ToString("N")[..8]),
        Environment = env,
    });
    var perProcess = new List<double>();
    runner.ProcessEnded += r => { lock (perProcess) { perProcess.Add(r.Elapsed.TotalSeconds); } };
    var sw = Stopwatch.StartNew();
    var results = await runner.RunAsync(new RolloutRequest(skill, hash, batch, 0, "rollout"), CancellationToken.None);
    var wall = sw.Elapsed.TotalSeconds;
    var errored = results.Count(r => r.Outcome == TaskOutcome.Errored);
    if (results.Any(r => r.Outcome == TaskOutcome.Errored))
    {
        Console.WriteLine("  first error: " + results.First(r => r.Outcome == TaskOutcome.Errored).Reason);
    }
    return (wall, errored, perProcess);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static double Median(List<double> xs)
{
    var s = xs.OrderBy(x => x).ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}
