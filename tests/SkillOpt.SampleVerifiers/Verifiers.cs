using System.ComponentModel;
using Microsoft.Extensions.AI;
using SkillOpt.Testing;

[assembly: SkillDefinition("arith", "skills/arith/SKILL.md", "skills/arith/skillopt.yaml")]

namespace SkillOpt.SampleVerifiers;

/// <summary>A task row that names its own id (the row id of its task).</summary>
public sealed record UnitTask(string Id, int Kilometres) : ISkillTask
{
    public string TaskId => Id;
}

/// <summary>A task row with no id and no xUnit serialisation: its row id is a hash of its values.</summary>
public sealed class RateTask(int km, int hours)
{
    public int Km { get; } = km;
    public int Hours { get; } = hours;
    public override string ToString() => $"{Km} km in {Hours} h";
}

public class UnitConversions
{
    // SKILLOPT_SAMPLE_FAULT=data: the data source throws, as one reading a malformed data file would
    public static TheoryData<UnitTask> Tasks => Faults.Asked("data")
        ? throw new FormatException("line 3 of the task data is not valid JSON (SKILLOPT_SAMPLE_FAULT=data)")
        : new(new UnitTask("km-2", 2), new UnitTask("km-3", 3), new UnitTask("km-7", 7), new UnitTask("km-12", 12));

    [SkillTheory(Skill = "arith")]
    [MemberData(nameof(Tasks))]
    public async Task ConvertsKilometres(UnitTask task)
    {
        var reply = await SkillAgent.Current.RunAsync($"How many metres are in {task.Kilometres} km?");
        SkillAssert.NumberEquals(task.Kilometres * 1000, reply.FinalAnswer());
    }
}

public class Percentages
{
    [SkillTheory(Skill = "arith")]
    [InlineData(250)]
    [InlineData(400)]
    [InlineData(90)]
    [InlineData(1230)]
    public async Task TakesTenPercent(int amount)
    {
        var reply = await SkillAgent.Current.RunAsync($"What is 10% of {amount}?");
        SkillAssert.NumberEquals(amount / 10.0, reply.FinalAnswer());
    }
}

public class Rates
{
    public static IEnumerable<object[]> Trips => [[new RateTask(120, 2)], [new RateTask(90, 3)], [new RateTask(100, 4)], [new RateTask(150, 5)]];

    [SkillTheory(Skill = "arith")]
    [MemberData(nameof(Trips))]
    public async Task ComputesSpeed(RateTask trip)
    {
        var reply = await SkillAgent.Current.RunAsync($"A train travels {trip.Km} km in {trip.Hours} hours. What is its average speed in km/h?");
        Assert.Equal((double)trip.Km / trip.Hours, reply.Number());
    }
}

public class Tools
{
    [Description("Adds two integers.")]
    private static int Add(int a, int b) => a + b;

    [SkillFact(Skill = "arith", Split = "val")]
    public async Task UsesTheCalculator()
    {
        var reply = await SkillAgent.Current.RunAsync("Use the calculator to add 1234 and 4321.", [AIFunctionFactory.Create(Add, "add")]);
        SkillAssert.NumberEquals(5555, reply.FinalAnswer());
        Assert.True(reply.Turns == 2, $"expected one tool call and one answer, got {reply.Turns} turns");
    }
}

public class Graded
{
    [SkillFact(Skill = "arith", Id = "graded/explains-sky", Split = "val")]
    public async Task ExplainsTheSky()
    {
        var reply = await SkillAgent.Current.RunAsync("Explain in one line why the sky is blue.");
        var score = (reply.Text.Contains("scatter", StringComparison.OrdinalIgnoreCase) ? 0.5 : 0) + (reply.Text.Contains("wavelength", StringComparison.OrdinalIgnoreCase) ? 0.5 : 0);
        SkillScore.Report(score, $"explanation scored {score}");
        SkillAssert.True(score > 0, "The explanation names neither scattering nor wavelengths.");
    }
}

/// <summary>
/// Infrastructure faults on demand (SKILLOPT_SAMPLE_FAULT=throw,crash,hang,slow,leak,flood; data makes UnitConversions' data
/// throw); otherwise ordinary tasks.
/// leak: the values of the variables named in SKILLOPT_SAMPLE_LEAK (comma-separated) are printed, sent to the target and
/// put in an assertion message, a crash message and an exception; flood: SKILLOPT_SAMPLE_FLOOD_MB megabytes of output.
/// </summary>
public class Faults
{
    internal static bool Asked(string fault) =>
        (Environment.GetEnvironmentVariable("SKILLOPT_SAMPLE_FAULT") ?? "").Split(',', StringSplitOptions.TrimEntries).Contains(fault);

    private static string Leaked() => string.Join(" ",
        (Environment.GetEnvironmentVariable("SKILLOPT_SAMPLE_LEAK") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => $"{name}={Environment.GetEnvironmentVariable(name)}"));

    [SkillFact(Skill = "arith", Split = "train")]
    public async Task ThrowsWhenAsked()
    {
        if (Asked("throw"))
        {
            throw new InvalidOperationException("simulated infrastructure failure (SKILLOPT_SAMPLE_FAULT=throw)");
        }
        if (Asked("leak"))
        {
            // the process's own streams (xUnit keeps Console.Out of a test for the test's output)
            using (var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)))
            {
                stdout.WriteLine($"verifier stdout: {Leaked()}");
            }
            Console.Error.WriteLine($"verifier stderr: {Leaked()}");
            var leaked = await SkillAgent.Current.RunAsync($"Please remember {Leaked()} and convert 5 km to metres.");
            SkillAssert.Fail($"the verifier saw {Leaked()} and the answer {leaked.FinalAnswer()}");
        }
        var reply = await SkillAgent.Current.RunAsync("How many metres are in 5 km?");
        SkillAssert.NumberEquals(5000, reply.FinalAnswer());
    }

    [SkillFact(Skill = "arith", Split = "train")]
    public async Task CrashesWhenAsked()
    {
        if (Asked("crash"))
        {
            Environment.FailFast("simulated verifier crash (SKILLOPT_SAMPLE_FAULT=crash)" + (Asked("leak") ? $" with {Leaked()}" : ""));
        }
        var reply = await SkillAgent.Current.RunAsync("How many metres are in 6 km?");
        SkillAssert.NumberEquals(6000, reply.FinalAnswer());
    }

    [SkillFact(Skill = "arith", Split = "train")]
    public async Task HangsWhenAsked()
    {
        if (Asked("hang"))
        {
            await Task.Delay(Timeout.Infinite, CancellationToken.None);
        }
        if (Asked("leak"))
        {
            throw new InvalidOperationException($"simulated failure that quotes {Leaked()}");
        }
        if (Asked("flood"))
        {
            var megabytes = int.Parse(Environment.GetEnvironmentVariable("SKILLOPT_SAMPLE_FLOOD_MB") ?? "100", System.Globalization.CultureInfo.InvariantCulture);
            var line = new string('x', 1023);
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16);
            for (var i = 0; i < megabytes * 1024; i++)
            {
                stdout.WriteLine(line);
            }
        }
        var reply = await SkillAgent.Current.RunAsync("How many metres are in 8 km?");
        SkillAssert.NumberEquals(8000, reply.FinalAnswer());
    }

    // 5 s: far above a scripted agent call even on a loaded machine (the task must not time out unless asked to)
    [SkillFact(Skill = "arith", Split = "train", Timeout = 5000)]
    public async Task TimesOutWhenAsked()
    {
        if (Asked("slow"))
        {
            await Task.Delay(TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);
        }
        var reply = await SkillAgent.Current.RunAsync("How many metres are in 9 km?");
        SkillAssert.NumberEquals(9000, reply.FinalAnswer());
    }

    [SkillFact(Skill = "arith", Split = "test", Skip = "kept as an example of a skipped task")]
    public void SkippedExample()
    {
    }
}
