using System.Collections.Concurrent;

namespace SkillOpt.SimLab;

/// <summary>Counters of what a <see cref="SimLabServer"/> served (thread-safe snapshot values).</summary>
internal sealed class SimLabStatistics
{
    private long _targetCalls, _optimizerCalls, _promptTokens, _completionTokens, _cachedTokens, _rateLimited, _serverErrors, _timeouts, _malformed, _truncated, _rejected, _unknownCalls;
    private readonly ConcurrentDictionary<string, long> _bySchema = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _unknown = new(StringComparer.Ordinal);

    /// <summary>Completed target requests (fault replies excluded).</summary>
    public long TargetCalls => Interlocked.Read(ref _targetCalls);

    /// <summary>Completed optimizer requests (fault replies excluded).</summary>
    public long OptimizerCalls => Interlocked.Read(ref _optimizerCalls);

    /// <summary>Prompt tokens reported in usage (simulated count, about four characters a token).</summary>
    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    /// <summary>Completion tokens reported in usage.</summary>
    public long CompletionTokens => Interlocked.Read(ref _completionTokens);

    /// <summary>Prompt tokens reported as cached.</summary>
    public long CachedTokens => Interlocked.Read(ref _cachedTokens);

    /// <summary>Injected 429 replies.</summary>
    public long RateLimited => Interlocked.Read(ref _rateLimited);

    /// <summary>Injected 500 replies.</summary>
    public long ServerErrors => Interlocked.Read(ref _serverErrors);

    /// <summary>Injected hangs.</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    /// <summary>Injected malformed bodies.</summary>
    public long MalformedBodies => Interlocked.Read(ref _malformed);

    /// <summary>Injected truncated replies.</summary>
    public long Truncated => Interlocked.Read(ref _truncated);

    /// <summary>Requests refused (unknown model, invalid body).</summary>
    public long Refused => Interlocked.Read(ref _rejected);

    /// <summary>Completed target requests whose question matched no task of the scenario (each answered as a failure).</summary>
    public long UnknownTaskCalls => Interlocked.Read(ref _unknownCalls);

    /// <summary>Distinct tasks of the scenario the target was asked.</summary>
    public int KnownTasksAsked => _known.Count;

    /// <summary>Distinct questions the target was asked that match no task of the scenario (by normalised question text).</summary>
    public int UnknownTasksAsked => _unknown.Count;

    /// <summary>Returns true the first time <paramref name="question"/> (normalised) is counted as unknown.</summary>
    internal bool AskedUnknown(string question)
    {
        Interlocked.Increment(ref _unknownCalls);
        return _unknown.TryAdd(QuestionText.Normalize(question), 0);
    }

    internal void AskedKnown(string taskId) => _known.TryAdd(taskId, 0);

    /// <summary>Completed optimizer requests by schema name.</summary>
    public IReadOnlyDictionary<string, long> OptimizerCallsBySchema => new SortedDictionary<string, long>(_bySchema, StringComparer.Ordinal);

    internal void Completed(bool target, string? schema, int prompt, int cached, int completion)
    {
        Interlocked.Increment(ref target ? ref _targetCalls : ref _optimizerCalls);
        Interlocked.Add(ref _promptTokens, prompt);
        Interlocked.Add(ref _cachedTokens, cached);
        Interlocked.Add(ref _completionTokens, completion);
        if (!target)
        {
            _bySchema.AddOrUpdate(schema ?? "(none)", 1, (_, n) => n + 1);
        }
    }

    internal void Fault(FaultKind kind)
    {
        switch (kind)
        {
            case FaultKind.RateLimit: Interlocked.Increment(ref _rateLimited); break;
            case FaultKind.ServerError: Interlocked.Increment(ref _serverErrors); break;
            case FaultKind.Timeout: Interlocked.Increment(ref _timeouts); break;
            case FaultKind.MalformedBody: Interlocked.Increment(ref _malformed); break;
            case FaultKind.Truncated: Interlocked.Increment(ref _truncated); break;
        }
    }

    internal void Refuse() => Interlocked.Increment(ref _rejected);
}
