using System.Collections;
using Microsoft.Build.Framework;

namespace SkillOpt.Build.Tests.Infrastructure;

/// <summary>A build engine that records what a task logs.</summary>
public sealed class FakeBuildEngine(string projectFile) : IBuildEngine
{
    private readonly object _gate = new();

    public List<BuildErrorEventArgs> Errors { get; } = [];

    public List<BuildWarningEventArgs> Warnings { get; } = [];

    public List<BuildMessageEventArgs> Messages { get; } = [];

    public bool ContinueOnError => false;

    public int LineNumberOfTaskNode => 0;

    public int ColumnNumberOfTaskNode => 0;

    public string ProjectFileOfTaskNode => projectFile;

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) => throw new NotSupportedException();

    public void LogCustomEvent(CustomBuildEventArgs e)
    {
    }

    public void LogErrorEvent(BuildErrorEventArgs e)
    {
        lock (_gate) { Errors.Add(e); }
    }

    public void LogMessageEvent(BuildMessageEventArgs e)
    {
        lock (_gate) { Messages.Add(e); }
    }

    public void LogWarningEvent(BuildWarningEventArgs e)
    {
        lock (_gate) { Warnings.Add(e); }
    }

    public string Log()
    {
        lock (_gate)
        {
            return string.Join("\n", Messages.Select(m => $"message {m.Importance}: {m.Message}")
                .Concat(Warnings.Select(w => $"{w.File}({w.LineNumber},{w.ColumnNumber}): warning {w.Code}: {w.Message}"))
                .Concat(Errors.Select(e => $"{e.File}({e.LineNumber},{e.ColumnNumber}): error {e.Code}: {e.Message}")));
        }
    }
}
