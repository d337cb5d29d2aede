using SkillOpt.Core;
using SkillOpt.Trainer.Commands;
using SkillOpt.Trainer.Console;

namespace SkillOpt.Trainer;

/// <summary>
/// The <c>skillopt</c> entry point. An explicit class instead of top-level statements: the trainer references ASP.NET Core
/// (it hosts SimLab), whose source generator would make a top-level <c>Program</c> public and visible to every project
/// that references the trainer.
/// </summary>
internal static class TrainerProgram
{
    private static async Task<int> Main(string[] args)
    {
        // Every line the trainer prints (progress, diagnostics that the MSBuild task relays as build errors, help) goes
        // through the secret redaction first: a key a verifier printed never reaches a console, a log or a build.
        System.Console.SetOut(new RedactingTextWriter(System.Console.Out));
        System.Console.SetError(new RedactingTextWriter(System.Console.Error));
        // Traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set; flushed on the way out.
        using var tracing = SkillOpt.Providers.ProviderTelemetry.StartOtlpExportFromEnvironment("skillopt-trainer");
        return await TrainerCommands.RunAsync(args, TrainerConsole.Standard).ConfigureAwait(false);
    }
}
