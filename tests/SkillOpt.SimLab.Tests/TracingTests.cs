using System.Diagnostics;
using Microsoft.Extensions.AI;
using OpenTelemetry;
using OpenTelemetry.Trace;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Training;
using SkillOpt.Providers;

namespace SkillOpt.SimLab.Tests;

/// <summary>The trace of a SimLab training (SIMULATED models), exported to OpenTelemetry's in-memory exporter.</summary>
public class TracingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_model_call_is_one_gen_ai_span_nested_under_rollout_step_and_training_spans()
    {
        var exported = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource("SkillOpt*").AddInMemoryExporter(exported).Build();
        var scenario = SimLabHost.Tiny();
        var options = SkillOptConfigLoader.Parse("""
            preset: classic
            seed: 3
            training:
              epochs: 1
              batch_size: 3
              minibatch_size: 2
            """, "tracing.yaml");
        var folder = Path.Combine(Path.GetTempPath(), "simlab-trace-" + Guid.NewGuid().ToString("N")[..10]);
        SimLabStatistics stats;
        try
        {
            await using var server = await SimLabServer.StartAsync(scenario, cancellationToken: Ct);
            using var target = SimLabHost.Client(server, scenario.Models.Target);
            using var optimizer = SimLabHost.Client(server, scenario.Models.Optimizer, 4);
            var loop = new SkillTrainingLoop(options, new SimLabRolloutRunner(scenario, target), optimizer, folder,
                optimizerOptions: new ChatOptions { ModelId = scenario.Models.Optimizer });
            var summary = await loop.RunAsync(scenario.InitialSkill, new TaskSplits(["t1", "t2", "t3"], ["t4", "t5"], ["t6"]), Ct);
            Assert.Equal("completed", summary.Status);
            stats = server.Statistics;
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        tracing.ForceFlush();
        // Stop listening before reading: other tests trace SkillOpt sources at the same time, and the in-memory exporter's
        // list is not safe to read while their spans are still being added to it.
        tracing.Dispose();
        var all = exported.ToArray().Where(a => a is not null).ToList(); // a span still being added is skipped, never read half-way

        // Other tests may trace at the same time: keep this training's trace only.
        var training = Assert.Single(all, a => a.OperationName == "skillopt.training" && a.GetTagItem("skillopt.run_folder") as string == folder);
        var spans = all.Where(a => a.TraceId == training.TraceId).ToList();
        var byId = spans.ToDictionary(a => a.SpanId);
        IEnumerable<string> Ancestors(Activity a)
        {
            for (var p = a.ParentSpanId; byId.TryGetValue(p, out var parent); p = parent.ParentSpanId)
                yield return parent.OperationName;
        }

        var modelCalls = spans.Where(a => a.Source.Name == ProviderTelemetry.ModelCallsSourceName).ToList();
        Assert.Equal(stats.TargetCalls + stats.OptimizerCalls, modelCalls.Count); // one span per model call SimLab answered
        Assert.Equal(stats.PromptTokens, modelCalls.Sum(a => Convert.ToInt64(a.GetTagItem("gen_ai.usage.input_tokens"))));
        Assert.Equal(stats.CompletionTokens, modelCalls.Sum(a => Convert.ToInt64(a.GetTagItem("gen_ai.usage.output_tokens"))));
        foreach (var call in modelCalls)
        {
            Assert.Equal(ActivityKind.Client, call.Kind);
            Assert.Equal("chat", call.GetTagItem("gen_ai.operation.name"));
            Assert.Contains(call.GetTagItem("gen_ai.request.model") as string, new[] { scenario.Models.Target, scenario.Models.Optimizer });
            Assert.Equal("skillopt.training", Ancestors(call).Last());
        }

        var targetCalls = modelCalls.Where(a => a.GetTagItem("gen_ai.request.model") as string == scenario.Models.Target).ToList();
        var optimizerCalls = modelCalls.Except(targetCalls).ToList();
        Assert.Equal(stats.TargetCalls, targetCalls.Count);
        Assert.NotEmpty(optimizerCalls);
        // Target calls run inside a rollout, inside a phase (baseline, step or test), inside the training.
        Assert.All(targetCalls, a => Assert.Equal("skillopt.rollout", Ancestors(a).First()));
        Assert.Contains(targetCalls, a => Ancestors(a).SequenceEqual(["skillopt.rollout", "skillopt.step", "skillopt.training"]));
        // Optimizer calls (reflection, merge, ...) run in a step.
        Assert.All(optimizerCalls, a => Assert.Equal(["skillopt.step", "skillopt.training"], Ancestors(a)));
        var rollout = spans.First(a => a.OperationName == "skillopt.rollout" && Ancestors(a).First() == "skillopt.step");
        Assert.Equal(ChatStage.Rollout, rollout.GetTagItem("skillopt.stage"));
    }
}
