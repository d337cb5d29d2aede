using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace SkillOpt.Providers;

/// <summary>
/// Trace export for the trainer and verifier processes: the names of the activity sources the pipeline and the training
/// loop write to, and an OTLP exporter switched on by the standard <c>OTEL_EXPORTER_OTLP_*</c> environment variables.
/// </summary>
/// <remarks>
/// Spans: one per model call (source <see cref="ModelCallsSourceName"/>, Microsoft.Extensions.AI's <c>UseOpenTelemetry</c>
/// with the OpenTelemetry GenAI semantic conventions: <c>gen_ai.request.model</c>, <c>gen_ai.usage.input_tokens</c>,
/// <c>gen_ai.usage.output_tokens</c>, ...), nested under the loop's training, step and rollout spans (sources starting
/// with <c>SkillOpt</c>). A verifier process joins its rollout's trace through the W3C <c>TRACEPARENT</c> variable the
/// trainer sets (see <see cref="RemoteParent"/>). Message contents are never recorded in spans.
/// </remarks>
internal static class ProviderTelemetry
{
    /// <summary>Activity source of the model-call spans (<c>SkillOpt.Providers</c>).</summary>
    public const string ModelCallsSourceName = "SkillOpt.Providers";

    private static readonly ActivitySource Source = new(ModelCallsSourceName);
    private static readonly object ProcessExportGate = new();
    private static bool _processExportStarted;

    /// <summary>The environment variable that carries the parent span of a child process (W3C trace context).</summary>
    public const string TraceParentVariable = "TRACEPARENT";

    /// <summary>The environment variable that carries the W3C trace state of the parent span, when it has one.</summary>
    public const string TraceStateVariable = "TRACESTATE";

    /// <summary>
    /// Whether a tracer listens to <see cref="ModelCallsSourceName"/> now (an OpenTelemetry tracer provider with a matching
    /// source, such as the one <see cref="StartOtlpExportFromEnvironment"/> starts). <see cref="ChatClientFactory"/> adds the
    /// model-call spans to the pipelines it builds while one does, and leaves the cost of <c>UseOpenTelemetry</c> out otherwise.
    /// </summary>
    public static bool IsListenedTo => Source.HasListeners();

    /// <summary>
    /// Whether the standard OpenTelemetry variables ask for trace export over OTLP: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or
    /// <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c> is set, and <c>OTEL_SDK_DISABLED</c> is not <c>true</c>.
    /// </summary>
    /// <param name="environment">Reads a variable; <see langword="null"/> uses <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    public static bool IsOtlpExportRequested(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (string.Equals(environment("OTEL_SDK_DISABLED")?.Trim(), "true", StringComparison.OrdinalIgnoreCase)) return false;
        return !string.IsNullOrWhiteSpace(environment("OTEL_EXPORTER_OTLP_ENDPOINT"))
               || !string.IsNullOrWhiteSpace(environment("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    }

    /// <summary>
    /// Starts exporting the SkillOpt spans over OTLP when <see cref="IsOtlpExportRequested"/> says so; the exporter reads
    /// the other standard variables itself (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>,
    /// <c>OTEL_SERVICE_NAME</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c>, ...).
    /// </summary>
    /// <param name="serviceName">Service name when <c>OTEL_SERVICE_NAME</c> is unset, for example <c>skillopt-trainer</c>.</param>
    /// <returns>The tracer provider (dispose it at exit to flush the last spans), or <see langword="null"/> when export is off.</returns>
    public static TracerProvider? StartOtlpExportFromEnvironment(string serviceName)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        return IsOtlpExportRequested() ? (TracerProvider)BuildOtlpExport(serviceName) : null;
    }

    // Kept apart so that a process without export never loads the OpenTelemetry SDK (the JIT loads what a method names).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static IDisposable BuildOtlpExport(string serviceName)
    {
        return Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME, when set, names the service (the SDK reads it); otherwise the caller's name does.
                if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME"))) resource.AddService(serviceName);
            })
            .AddSource("SkillOpt*")
            .AddOtlpExporter()
            .Build();
    }

    /// <summary>
    /// Starts OTLP export for the rest of this process (as <see cref="StartOtlpExportFromEnvironment"/>) once, however often
    /// it is called, and flushes it when the process exits; for processes without a main of their own to dispose a tracer
    /// provider in, such as verifier test executables. Does nothing when export is not requested.
    /// </summary>
    /// <param name="serviceName">Service name when <c>OTEL_SERVICE_NAME</c> is unset, for example <c>skillopt-verifier</c>.</param>
    public static void EnsureProcessExportFromEnvironment(string serviceName)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        lock (ProcessExportGate)
        {
            if (_processExportStarted) return;
            _processExportStarted = true;
            if (IsOtlpExportRequested())
                FlushAtExit(BuildOtlpExport(serviceName));
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void FlushAtExit(IDisposable provider) => AppDomain.CurrentDomain.ProcessExit += (_, _) => provider.Dispose();

    /// <summary>
    /// Starts the span of one task run in a verifier process (<c>skillopt.task</c>, source <see cref="ModelCallsSourceName"/>),
    /// under which its model calls nest: a child of the current span when there is one, else of the rollout span named by
    /// <see cref="TraceParentVariable"/>; <see langword="null"/> when nothing listens.
    /// </summary>
    /// <param name="taskId">The task's id, recorded as <c>skillopt.task_id</c> (when known).</param>
    /// <param name="environment">Reads a variable (in a verifier worker, the rollout's own values win over the process's);
    /// <see langword="null"/> uses <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    public static Activity? StartTask(string? taskId, Func<string, string?>? environment = null)
    {
        var parent = Activity.Current is null ? RemoteParent(environment) : null;
        var activity = parent is { } remote
            ? Source.StartActivity("skillopt.task", ActivityKind.Internal, remote)
            : Source.StartActivity("skillopt.task", ActivityKind.Internal);
        return taskId is null ? activity : activity?.SetTag("skillopt.task_id", taskId);
    }

    /// <summary>
    /// The parent span handed to this process through <see cref="TraceParentVariable"/> (and <see cref="TraceStateVariable"/>),
    /// or <see langword="null"/> when there is none or it is not a valid W3C <c>traceparent</c>.
    /// </summary>
    /// <param name="environment">Reads a variable; <see langword="null"/> uses <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    public static ActivityContext? RemoteParent(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var parent = environment(TraceParentVariable);
        return !string.IsNullOrWhiteSpace(parent) && ActivityContext.TryParse(parent.Trim(), environment(TraceStateVariable), isRemote: true, out var context)
            ? context
            : null;
    }

    /// <summary>
    /// Sets <see cref="TraceParentVariable"/> (and <see cref="TraceStateVariable"/>) in <paramref name="environment"/> from
    /// <paramref name="activity"/> (usually the rollout span), so that the child process's spans join its trace. Does
    /// nothing for a <see langword="null"/> activity.
    /// </summary>
    /// <param name="activity">The parent span.</param>
    /// <param name="environment">The child process's environment.</param>
    public static void PropagateTo(Activity? activity, IDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (activity?.Id is not { } id || activity.IdFormat != ActivityIdFormat.W3C) return;
        environment[TraceParentVariable] = id;
        if (!string.IsNullOrEmpty(activity.TraceStateString)) environment[TraceStateVariable] = activity.TraceStateString;
    }
}
