using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using FaultSoak;
using SkillOpt.Core.Processes;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.SimLab;

// Fault soak: one small SimLab training (SIMULATED models) three ways — fault-free, through a fault proxy, and killed
// with kill -9 at random moments then resumed — which must end alike. See bench/FaultSoak/FaultSoak.csproj.
var inv = CultureInfo.InvariantCulture;
var faultRate = Arg("--fault-rate", 0.25);
var kills = (int)Arg("--kills", 10);
var seed = (int)Arg("--seed", 1);
var epochs = (int)Arg("--epochs", 3);
var keep = args.Contains("--keep");

var trainer = Metadata("SkillOpt.Trainer");
var verifier = Metadata("SkillOpt.SampleVerifiers");
var simmath = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(verifier)!, "..", "..", "..", "skills", "simmath"));
var work = Path.Combine(Path.GetTempPath(), "skillopt-faultsoak-" + Environment.ProcessId.ToString(inv));
Directory.CreateDirectory(work);
var random = new Random(seed);

var scenario = ScenarioLoader.Load(Path.Combine(simmath, "scenario.yaml"));
await using var simlab = await SimLabServer.StartAsync(scenario);
Console.WriteLine($"FaultSoak: SIMULATED models (SimLab scenario '{scenario.Name}', no language model); {epochs} epochs from the scenario's initial skill; "
    + $"fault rate {faultRate.ToString("0.##", inv)}, {kills} kills, seed {seed}, {Environment.ProcessorCount} cores; work folder {work}");

// 1. Fault-free.
var clean = await TrainAsync("clean", simlab.BaseUrl, null);
Console.WriteLine($"clean:  exit {clean.ExitCode}, {clean.Seconds:0.0} s; {Describe(clean.Folder)}");

// 2. Through the fault proxy: every request can get 429, 500, 503, a reset connection or a stall.
var stall = TimeSpan.FromSeconds(15);
FaultRun faulty;
await using (var proxy = await FaultProxy.StartAsync(simlab.BaseUrl, faultRate, stall, seed))
{
    var run = await TrainAsync("faults", proxy.BaseUrl, null);
    var faults = proxy.Faults;
    faulty = new FaultRun(run, proxy.Requests, faults);
    Console.WriteLine($"faults: exit {run.ExitCode}, {run.Seconds:0.0} s; {proxy.Requests} requests, {faults.Values.Sum()} faulted "
        + $"({faults.Values.Sum() / (double)Math.Max(1, proxy.Requests):P1}: {string.Join(", ", faults.Select(f => $"{f.Key} {f.Value}"))}); {Describe(run.Folder)}");
}

// 3. kill -9 at random moments, then the same command again, until it completes.
var killFolder = Path.Combine(work, "kills");
var landed = 0;
var sessions = 0;
Run last;
while (true)
{
    sessions++;
    // the moment: after 1 to 4 verifier processes of this session ended, then 0 to 1.5 s more
    var kill = landed < kills ? new KillPoint(random.Next(1, 5), TimeSpan.FromSeconds(1.5 * random.NextDouble())) : null;
    last = await TrainAsync("kills", simlab.BaseUrl, kill);
    if (last.Killed)
    {
        landed++;
        Console.WriteLine($"kills:  session {sessions} killed (kill -9 of the process tree) after {last.Seconds:0.0} s, {kill!.AfterProcesses} verifier processes + {kill.Delay.TotalSeconds:0.0} s; checkpoint: phase {CompletedPhases(killFolder)}");
        continue;
    }
    Console.WriteLine($"kills:  session {sessions} exit {last.ExitCode} after {last.Seconds:0.0} s{(landed < kills ? " (it finished before its kill)" : "")}; {Describe(killFolder)}");
    break;
}

// The verdicts.
var reference = Outcome(clean.Folder);
var checks = new List<(string What, bool Ok, string Detail)>
{
    ("clean run completed and accepted edits", clean.ExitCode == 0 && reference.Accepted > 0, $"exit {clean.ExitCode}, {reference.Accepted} accepted"),
    ("faulty run: same best skill", faulty.Run.ExitCode == 0 && Outcome(faulty.Run.Folder).BestSkill == reference.BestSkill, $"exit {faulty.Run.ExitCode}"),
    ("faulty run: same gate sequence", Outcome(faulty.Run.Folder).Gates.SequenceEqual(reference.Gates), string.Join(" ", Outcome(faulty.Run.Folder).Gates)),
    ("faulty run: at least 20% of requests faulted", faulty.Faults.Values.Sum() >= 0.2 * faulty.Requests, $"{faulty.Faults.Values.Sum()} of {faulty.Requests}"),
    ("faulty run: no errored task scored", ErroredScored(faulty.Run.Folder) == 0, $"{Errored(faulty.Run.Folder)} errored results, {ErroredScored(faulty.Run.Folder)} of them scored"),
    ("kill -9 run: kills landed", landed == kills, $"{landed} of {kills} in {sessions} sessions"),
    ("kill -9 run: same best skill", last.ExitCode == 0 && Outcome(killFolder).BestSkill == reference.BestSkill, $"exit {last.ExitCode}"),
    ("kill -9 run: same gate sequence", Outcome(killFolder).Gates.SequenceEqual(reference.Gates), string.Join(" ", Outcome(killFolder).Gates)),
    ("no corrupt file (every JSON file parses)", new[] { clean.Folder, faulty.Run.Folder, killFolder }.All(f => Corrupt(f).Count == 0),
        $"{new[] { clean.Folder, faulty.Run.Folder, killFolder }.Sum(f => Directory.GetFiles(f, "*.json", SearchOption.AllDirectories).Length)} JSON files; "
        + $"{Directory.GetFiles(killFolder, "*.tmp", SearchOption.AllDirectories).Length} temporary files of writes cut by a kill (never read) "
        + string.Join("; ", new[] { clean.Folder, faulty.Run.Folder, killFolder }.SelectMany(Corrupt).Take(3))),
};
Console.WriteLine($"gate sequence (clean): {string.Join(" ", reference.Gates)}");
foreach (var (what, ok, detail) in checks)
{
    Console.WriteLine($"{(ok ? "PASS" : "FAIL")}  {what}: {detail}");
}
if (!keep && checks.All(c => c.Ok))
{
    Directory.Delete(work, recursive: true);
}
return checks.All(c => c.Ok) ? 0 : 1;

// Runs `skillopt train` on a fresh copy of the simmath skill (or resumes the run of that name), both roles at endpoint;
// with a kill point, kill -9 of the whole process tree once that many verifier processes ended and the delay passed.
async Task<Run> TrainAsync(string name, string endpoint, KillPoint? kill)
{
    var dir = Path.Combine(work, name + "-skill");
    if (!Directory.Exists(dir))
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "SKILL.md"), scenario.InitialSkill);
        // one edit per step and small batches, so that the run takes several gate decisions
        var config = File.ReadAllText(Path.Combine(simmath, "skillopt.yaml"))
            .Replace("  epochs: 1\n", $"  epochs: {epochs}\n", StringComparison.Ordinal)
            .Replace("  batch_size: 8\n", "  batch_size: 4\n", StringComparison.Ordinal)
            .Replace("    max: 4\n    min: 4\n", "    max: 1\n    min: 1\n", StringComparison.Ordinal)
            .Replace("    max_retries: 1\n", "    max_retries: 10\n", StringComparison.Ordinal)
            .Replace("    timeout_seconds: 20\n", "    timeout_seconds: 5\n", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(dir, "skillopt.yaml"), config);
    }
    var folder = Path.Combine(work, name);
    var output = new StringBuilder();
    var ended = 0;
    var due = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    void Line(string line)
    {
        lock (output)
        {
            output.AppendLine(line);
        }
        if (kill is not null && line.Contains("skillopt: verifier process:", StringComparison.Ordinal) && Interlocked.Increment(ref ended) == kill.AfterProcesses)
        {
            due.TrySetResult();
        }
    }
    var sw = Stopwatch.StartNew();
    using var process = new ChildProcess(new ChildProcessStart
    {
        FileName = "dotnet",
        Arguments = ["exec", trainer, "train", "--verifier", verifier, "--skill", "simmath", "--skill-file", Path.Combine(dir, "SKILL.md"),
            "--config", Path.Combine(dir, "skillopt.yaml"), "--run", folder, "--verbose"],
        WorkingDirectory = work,
        Environment =
        [
            .. Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("SKILLOPT_", StringComparison.Ordinal))
                .Select(k => new KeyValuePair<string, string?>(k, null)),
            new("SKILLOPT_TARGET_ENDPOINT", endpoint),
            new("SKILLOPT_OPTIMIZER_ENDPOINT", endpoint),
            new("DiffEngine_Disabled", "true"),
        ],
        OnStdout = Line,
        OnStderr = Line,
    });
    process.Start();
    var exited = process.WaitForExitAsync(CancellationToken.None);
    var killed = false;
    if (kill is not null && await Task.WhenAny(due.Task, exited) == due.Task)
    {
        await Task.Delay(kill.Delay);
        if (process.ExitCode is null)
        {
            process.Kill();
            killed = true;
        }
    }
    var code = await exited;
    await process.WaitForOutputAsync(Timeout.InfiniteTimeSpan);
    File.AppendAllText(Path.Combine(work, name + ".log"), output.ToString());
    return new Run(folder, killed ? -9 : code, killed, sw.Elapsed.TotalSeconds);
}

static RunOutcome Outcome(string folder)
{
    var best = File.Exists(Path.Combine(folder, "best_skill.md")) ? File.ReadAllText(Path.Combine(folder, "best_skill.md")) : "";
    var history = AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json")) ?? [];
    // every phase's verdict, in order: gate decisions, skips, slow updates, the test
    var gates = history.Select(h => $"{h.Kind}{h.Step}:{h.Action}{(h.CandidateHash is { } c ? ":" + c[..Math.Min(8, c.Length)] : "")}").ToList();
    return new RunOutcome(best, gates, history.Count(h => h.Action == "accept"));
}

static string Describe(string folder)
{
    var o = Outcome(folder);
    return $"{o.Accepted} accepted, gates {string.Join(" ", o.Gates)}";
}

static int CompletedPhases(string folder) =>
    File.Exists(Path.Combine(folder, "runtime_state.json"))
        ? JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "runtime_state.json"))).RootElement.GetProperty("completed_phases").GetInt32()
        : 0;

static IEnumerable<Evaluation> Evaluations(string folder) =>
    Directory.GetFiles(folder, "*.json", SearchOption.AllDirectories)
        .Where(f => Path.GetFileName(f) == "rollout.json" || Path.GetFileName(Path.GetDirectoryName(f)!) == "evaluations" || Path.GetFileName(f).StartsWith("validation_", StringComparison.Ordinal))
        .Select(f => AtomicFile.ReadJson<Evaluation>(f)!);

static int Errored(string folder) => Evaluations(folder).Sum(e => e.ErroredCount);

// An errored result counts as evidence only if it is Passed or Failed, which it is not by construction; recomputing the
// mean over every result with a score checks the files agree with that.
static int ErroredScored(string folder) => Evaluations(folder).SelectMany(e => e.Results).Count(r => r.Outcome == TaskOutcome.Errored && r.IsScored);

static List<string> Corrupt(string folder)
{
    var bad = new List<string>();
    foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
    {
        if (file.EndsWith(".json", StringComparison.Ordinal))
        {
            try
            {
                using var _ = JsonDocument.Parse(File.ReadAllText(file));
            }
            catch (JsonException)
            {
                bad.Add(file);
            }
        }
    }
    return bad;
}

string Metadata(string key) =>
    typeof(FaultProxy).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == key).Value!;

double Arg(string name, double fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], inv) : fallback;
}

internal sealed record Run(string Folder, int ExitCode, bool Killed, double Seconds);

internal sealed record KillPoint(int AfterProcesses, TimeSpan Delay);

internal sealed record FaultRun(Run Run, long Requests, IReadOnlyDictionary<string, long> Faults);

internal sealed record RunOutcome(string BestSkill, List<string> Gates, int Accepted);
