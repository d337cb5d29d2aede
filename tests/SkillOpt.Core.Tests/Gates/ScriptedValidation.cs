using SkillOpt.Core.Gates;
using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Tests.Gates;

/// <summary>
/// A 40-task validation split whose outcomes come from a rule on (skill — "candidate" or "incumbent" —, task number,
/// sample); records what a paired gate asked for.
/// </summary>
internal sealed class ScriptedValidation(Func<string, int, int, bool> passes)
{
    public static readonly string[] Tasks = Enumerable.Range(0, 40).Select(i => $"t{i:D2}").ToArray();

    public static int N(string t) => int.Parse(t[1..]);

    /// <summary>Candidate results the gate asked for, over every call.</summary>
    public int CandidateTasks { get; private set; }

    /// <summary>Sample indices the gate asked for.</summary>
    public SortedSet<int> Samples { get; } = [];

    public Task<Evaluation> Evaluate(string skill, string hash, IReadOnlyList<string> tasks, int sample, CancellationToken ct)
    {
        CandidateTasks += skill == "candidate" ? tasks.Count : 0;
        Samples.Add(sample);
        return Task.FromResult(new Evaluation(hash, sample, [.. tasks.Select(t => new RolloutResult
        {
            TaskId = t,
            Outcome = passes(skill, N(t), sample) ? TaskOutcome.Passed : TaskOutcome.Failed,
            Score = passes(skill, N(t), sample) ? 1 : 0,
        })]));
    }

    public GateContext Context(int firstSample = 0) =>
        new("candidate", "c", "incumbent", "i", new Evaluation("i", 0, []), Tasks, Evaluate, Seed: 3, ValidationSample: firstSample);
}
