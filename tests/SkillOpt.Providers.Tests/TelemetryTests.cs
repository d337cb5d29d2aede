using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Trace;
using SkillOpt.Providers.Tests.Infrastructure;
using static SkillOpt.Providers.Tests.Infrastructure.Pipelines;

namespace SkillOpt.Providers.Tests;

/// <summary>Model-call spans, logging and trace-context propagation of the pipeline.</summary>
public sealed class TelemetryTests
{
    private static readonly ActivitySource ParentSource = new("SkillOpt.Providers.Tests.Parent");

    [Fact(Timeout = 60_000)]
    public async Task A_call_is_one_gen_ai_span_however_many_attempts_it_takes()
    {
        var exported = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(ProviderTelemetry.ModelCallsSourceName, ParentSource.Name)
            .AddInMemoryExporter(exported).Build();
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.EnqueueJson(503, Wire.OpenAIError("Overloaded", "server_error"));
        server.EnqueueJson(200, Wire.OpenAIText("ok", prompt: 321, completion: 12));
        using var client = Factory(time, new Dictionary<string, string>()).Create("target",
            new() { Provider = "simlab", Model = "simlab-target", Endpoint = server.BaseAddress + "v1", TimeoutSeconds = 86_400 });

        using var parent = ParentSource.StartActivity("parent")!; // other tests trace at the same time: keep this trace only
        var response = await time.DriveAsync(client.GetResponseAsync(Ask("hi"), new ChatOptions { Seed = 4 }, Ct));
        tracing.ForceFlush();
        // Stop listening before reading: other tests' model calls end on their own threads and the in-memory exporter adds
        // them to this list meanwhile (a List read while it grows throws); the copy skips a slot caught half-written.
        tracing.Dispose();
        var spans = exported.ToArray().Where(a => a is not null).ToList();

        Assert.Equal("ok", response.Text);
        Assert.Equal(2, server.RequestCount);
        var span = Assert.Single(spans, a => a.Source.Name == ProviderTelemetry.ModelCallsSourceName && a.TraceId == parent.TraceId);
        Assert.Equal(parent.SpanId, span.ParentSpanId);
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("simlab-target", span.GetTagItem("gen_ai.request.model"));
        Assert.Equal(321, Convert.ToInt32(span.GetTagItem("gen_ai.usage.input_tokens")));
        Assert.Equal(12, Convert.ToInt32(span.GetTagItem("gen_ai.usage.output_tokens")));
        Assert.Contains(span.TagObjects, t => t.Value as string == "simlab"); // the provider keeps its name
        Assert.DoesNotContain(span.TagObjects, t => t.Value is string s && s.Contains("hi", StringComparison.Ordinal) && t.Key.Contains("message", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Retries_are_logged_with_provider_and_endpoint_and_never_the_key()
    {
        var time = Clock.Fake();
        await using var server = await LoopbackServer.StartAsync(time);
        server.EnqueueJson(429, Wire.OpenAIError("slow down"), ("Retry-After", "2"));
        server.EnqueueJson(200, Wire.OpenAIText("ok"));
        var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var client = OpenAIPipeline(server, time, pipeline: new ChatPipelineOptions { LoggerFactory = loggerFactory });

        await time.DriveAsync(client.GetResponseAsync(Ask("hi"), cancellationToken: Ct));

        var retry = Assert.Single(logs.Lines, l => l.Contains("retrying in 2 s", StringComparison.Ordinal));
        Assert.Contains($"endpoint {new Uri(server.BaseAddress, "v1")}", retry);
        Assert.Contains("HTTP 429 (TooManyRequests): slow down", retry);
        Assert.Contains(logs.Lines, l => l.Contains("GetResponseAsync", StringComparison.Ordinal)); // UseLogging
        Assert.DoesNotContain(logs.Lines, l => l.Contains(OpenAIKey, StringComparison.Ordinal));
    }

    [Fact]
    public void Trace_context_travels_to_a_child_process_through_traceparent()
    {
        using var source = new ActivitySource("SkillOpt.Providers.Tests.Propagation");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var rollout = source.StartActivity("skillopt.rollout")!;
        rollout.TraceStateString = "vendor=1";
        var env = new Dictionary<string, string?>();

        ProviderTelemetry.PropagateTo(rollout, env);
        var parent = ProviderTelemetry.RemoteParent(name => env.GetValueOrDefault(name));

        Assert.Equal(rollout.Id, env[ProviderTelemetry.TraceParentVariable]);
        Assert.NotNull(parent);
        Assert.Equal(rollout.TraceId, parent.Value.TraceId);
        Assert.Equal(rollout.SpanId, parent.Value.SpanId);
        Assert.Equal("vendor=1", parent.Value.TraceState);
        Assert.True(parent.Value.IsRemote);
        Assert.Null(ProviderTelemetry.RemoteParent(_ => "not-a-traceparent"));
        Assert.Null(ProviderTelemetry.RemoteParent(_ => null));
    }

    [Theory]
    [InlineData(null, null, null, false)]
    [InlineData("http://127.0.0.1:4317", null, null, true)]
    [InlineData(null, "http://127.0.0.1:4318/v1/traces", null, true)]
    [InlineData("http://127.0.0.1:4317", null, "true", false)]
    public void Otlp_export_follows_the_standard_variables(string? endpoint, string? tracesEndpoint, string? disabled, bool expected)
    {
        var env = new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = tracesEndpoint,
            ["OTEL_SDK_DISABLED"] = disabled,
        };
        Assert.Equal(expected, ProviderTelemetry.IsOtlpExportRequested(name => env.GetValueOrDefault(name)));
    }
}
