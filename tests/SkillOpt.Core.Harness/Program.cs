using SkillOpt.Core.Configuration;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Training;

// Usage: SkillOpt.Core.Harness <run-folder> <delay-ms>
// Trains the scripted world into <run-folder>, printing "ROLLOUT <stage> <sample>" before each rollout.
var folder = args[0];
var delay = TimeSpan.FromMilliseconds(int.Parse(args[1]));
var runner = new ScriptedRunner(delay, r => Console.Out.WriteLine($"ROLLOUT {r.Stage} {r.SampleIndex}"));
var loop = new SkillTrainingLoop(HarnessConfig.Options(), runner, new ScriptedOptimizer(), folder);
var summary = await loop.RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits());
Console.Out.WriteLine($"DONE {summary.Accepted} {summary.Rejected}");
return 0;

namespace SkillOpt.Core.Harness
{
    public static class HarnessConfig
    {
        public const string InitialSkill = "# Math skill\n\nSolve the problem step by step.\n";

        /// <summary>
        /// The harness configuration with <paramref name="gateKind"/> as <c>gate.kind</c> when given (it is part of the parsed
        /// file, so every setting that follows from the gate follows it; setting <c>Gate.Kind</c> on parsed options does not).
        /// </summary>
        public static SkillOptOptions Options(string? gateKind = null) => SkillOptConfigLoader.Parse((gateKind is null ? "" : $"gate:\n  kind: {gateKind}\n") + """
            seed: 7
            training:
              epochs: 3
              batch_size: 10
              minibatch_size: 4
              early_stopping:
                # the scripted world is deterministic: once the skill passes every validation task the ceiling rule would end
                # the run, and the tests built on this configuration exercise the phases after that (CeilingTests turn it on)
                ceiling: false
            """, "harness.yaml");
    }
}
