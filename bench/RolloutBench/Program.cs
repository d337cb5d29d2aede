using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Rollouts;
using SkillOpt.Providers.Scripted;
using SkillOpt.Testing.Verifiers;
using SkillOpt.Trainer.Verifiers;

// Rollout benchmark: N tasks, each one model call of a fixed latency, through the real runner (verifier workers and/or one process per batch slot).
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
// concurrency: the per-process limit on target calls in flight (models.target.concurrency, default 8) must not be what is measured
File.WriteAllText(config, $"models:\n  target:\n    provider: scripted\n    endpoint: {rules}\n    concurrency: 256\n");

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

var isolations = ArgText("--isolation", "process,worker").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    .Select(i => Enum.Parse<VerifierIsolation>(i, ignoreCase: true)).ToList();
var workers = Arg("--workers", Environment.ProcessorCount);
var rss = Arg("--rss", 0);
if (rss > 0)
{
    return await RssAsync(rss);
}

// 1. One process, one task: the fixed cost of a verifier process.
if (isolations.Contains(VerifierIsolation.Process))
{
    var single = new List<double>();
    for (var i = 0; i < repeat; i++)
    {
        var (wall, _, _, _) = await RunAsync(VerifierIsolation.Process, 1, ids.Take(1).ToList());
        single.Add(wall);
    }
    var singleMedian = Median(single);
    Console.WriteLine($"single task, one process: median {singleMedian:0.000} s (model {latencyMs / 1000.0:0.000} s, process overhead {singleMedian - latencyMs / 1000.0:0.000} s)");
}

// 2. The batch through the runner, per isolation (workers: the first run starts them, later runs reuse them).
var ideal = tasks * latencyMs / 1000.0 / concurrency;
foreach (var isolation in isolations)
{
    var walls = new List<double>();
    var started = 0;
    for (var i = 0; i < repeat; i++)
    {
        var (wall, errored, processes, cpu) = await RunAsync(isolation, concurrency, ids);
        walls.Add(wall);
        started += processes;
        Console.WriteLine($"{isolation} run {i + 1}: {wall:0.000} s wall ({wall / ideal:0.00}× ideal), {processes} verifier processes started, {errored} errored, trainer+children CPU {cpu:0.00} s");
    }
    var median = Median(walls);
    var perTask = (median * concurrency - tasks * latencyMs / 1000.0) / tasks;
    Console.WriteLine($"{isolation}: median {median:0.000} s wall vs ideal {ideal:0.000} s ({median / ideal:0.00}×); {started} processes started in {repeat} runs; "
        + $"overhead {perTask * 1000:0} ms of slot time per rollout ((wall × concurrency − tasks × latency) / tasks)");
}

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

async Task<(double Wall, int Errored, int Processes, double Cpu)> RunAsync(VerifierIsolation isolation, int slots, List<string> batch)
{
    var runner = Runner(isolation, slots, workers);
    var before = runner.WorkersStarted;
    var processes = 0;
    runner.ProcessEnded += _ => { if (isolation == VerifierIsolation.Process) { Interlocked.Increment(ref processes); } };
    var cpu0 = Cpu(runner);
    var sw = Stopwatch.StartNew();
    var results = await runner.RunAsync(new RolloutRequest(skill, hash, batch, 0, "rollout"), CancellationToken.None);
    var wall = sw.Elapsed.TotalSeconds;
    var errored = results.Count(r => r.Outcome == TaskOutcome.Errored);
    if (errored > 0)
    {
        Console.WriteLine("  first error: " + results.First(r => r.Outcome == TaskOutcome.Errored).Reason);
    }
    if (isolation == VerifierIsolation.Worker)
    {
        processes = runner.WorkersStarted - before;
    }
    return (wall, errored, processes, Cpu(runner) - cpu0);
}

VerifierProcessRunner Runner(VerifierIsolation isolation, int slots, int workerCount) => new(verifier, new VerifierRunnerOptions
{
    Concurrency = slots,
    Isolation = isolation,
    Workers = workerCount,
    Timeout = TimeSpan.FromSeconds(120),
    ConfigPath = config,
    WorkDirectory = Path.Combine(work, "rollouts-" + Guid.NewGuid().ToString("N")[..8]),
    Environment = env,
});

// RSS of one worker after n rollouts (10, then up to n): memory must not grow per rollout.
async Task<int> RssAsync(int total)
{
    var runner = Runner(VerifierIsolation.Worker, concurrency, 1);
    var done = 0;
    var sample = 10;
    double? first = null;
    while (done < total)
    {
        var n = Math.Min(done < sample ? sample - done : Math.Min(ids.Count, total - done), ids.Count);
        var results = await runner.RunAsync(new RolloutRequest(skill, hash, ids.Take(n).ToList(), done, "rollout"), CancellationToken.None);
        done += n;
        var errored = results.Count(r => r.Outcome == TaskOutcome.Errored);
        var pid = runner.WorkerProcessIds.Single();
        var kb = Rss(pid);
        first ??= kb;
        if (done == sample || done >= total || done % 250 < n)
        {
            Console.WriteLine($"worker {pid}: RSS {kb / 1024:0.0} MiB after {done} rollouts ({kb / first.Value:0.00}× the RSS after {sample}), {errored} errored in the last batch, {runner.WorkersStarted} workers started");
        }
    }
    return 0;
}

static double Rss(int pid) =>
    File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
        .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).First();

// CPU seconds (Linux /proc: utime + stime) of this process, its ended children and the live workers.
static double Cpu(VerifierProcessRunner runner) => Ticks("self", children: true) + runner.WorkerProcessIds.Sum(pid => Ticks(pid.ToString(CultureInfo.InvariantCulture), children: false));

static double Ticks(string pid, bool children)
{
    try
    {
        var f = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var t = long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
        if (children)
        {
            t += long.Parse(f[13], CultureInfo.InvariantCulture) + long.Parse(f[14], CultureInfo.InvariantCulture);
        }
        return t / 100.0;
    }
    catch (IOException)
    {
        return 0;
    }
}

string ArgText(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
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
