using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Verifiers;
using Xunit;

namespace SkillOpt.Testing.Sdk;

/// <summary>One model call of a task, kept for the result file.</summary>
/// <param name="Turn">1-based turn within its conversation.</param>
/// <param name="LatencySeconds">Wall time of the call.</param>
/// <param name="InputTokens">Prompt tokens reported.</param>
/// <param name="OutputTokens">Completion tokens reported.</param>
internal sealed record ModelCallRecord(int Turn, double LatencySeconds, long InputTokens, long OutputTokens);

/// <summary>
/// The running state of one skill task: who it is, which skill and sample it runs with, and what the agent recorded
/// (transcript, usage, final answer, partial score, verifier literals). Found from test code through an async-local and
/// through the current test case's unique id.
/// </summary>
internal sealed class SkillTaskScope
{
    private static readonly AsyncLocal<SkillTaskScope?> Ambient = new();
    private static readonly ConcurrentDictionary<string, SkillTaskScope> ByTestCase = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, (SkillOptOptions Options, string? Path)> Configs = new(StringComparer.Ordinal);

    private readonly object _gate = new();
    private readonly List<TranscriptMessage> _transcript = [];
    private readonly List<ModelCallRecord> _calls = [];
    private readonly List<string> _literals = [];
    private SkillAgent? _agent;
    private (string Text, string Hash, string Path)? _skill;

    private SkillTaskScope(SkillTestCase testCase)
    {
        TestCase = testCase;
        Skill = testCase.Skill;
        TaskId = testCase.TaskId;
        Split = testCase.Split;
        Assembly = testCase.TestMethod.TestClass.Class.Assembly;
        try
        {
            SampleIndex = VerifierEnvironment.GetSampleIndex();
        }
        catch (InvalidOperationException ex)
        {
            EnvironmentError = ex.Message;
        }
        Stage = VerifierEnvironment.Get(VerifierEnvironment.Stage);
        ResultsDir = VerifierEnvironment.Get(VerifierEnvironment.ResultsDir);
    }

    public SkillTestCase TestCase { get; }
    public string Skill { get; }
    public string TaskId { get; }
    public string Split { get; }
    public Assembly Assembly { get; }
    public int SampleIndex { get; }
    public string? Stage { get; }
    public string? ResultsDir { get; }
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>Why the trainer's environment cannot be used (the agent then fails the task as Errored).</summary>
    public string? EnvironmentError { get; }

    public double? PartialScore { get; private set; }
    public string? ScoreReason { get; private set; }
    public string? FinalAnswer { get; private set; }
    public TokenUsage Usage { get; private set; } = TokenUsage.Zero;

    /// <summary>The scope of the skill task running on this flow, or <see langword="null"/>.</summary>
    public static SkillTaskScope? Current =>
        Ambient.Value ?? (TestContext.Current.TestCase?.UniqueID is { } id && ByTestCase.TryGetValue(id, out var s) ? s : null);

    public static SkillTaskScope Begin(SkillTestCase testCase)
    {
        var scope = new SkillTaskScope(testCase);
        ByTestCase[testCase.UniqueID] = scope;
        Ambient.Value = scope;
        return scope;
    }

    public void End()
    {
        ByTestCase.TryRemove(TestCase.UniqueID, out _);
        Ambient.Value = null;
    }

    /// <summary>The skill text the target model gets: <c>SKILLOPT_SKILL_FILE</c> during training, else the committed file.</summary>
    public (string Text, string Hash, string Path) SkillText()
    {
        lock (_gate)
        {
            if (_skill is null)
            {
                var path = VerifierEnvironment.Get(VerifierEnvironment.SkillFile)
                    ?? SkillProject.For(Assembly).Find(Skill)?.SkillFile
                    ?? throw new InvalidOperationException($"The skill '{Skill}' is not declared with [assembly: SkillDefinition].");
                if (!File.Exists(path))
                {
                    throw new FileNotFoundException($"The skill file of '{Skill}' does not exist: {path}", path);
                }
                var text = File.ReadAllText(path);
                _skill = (text, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text))), path);
            }
            return _skill.Value;
        }
    }

    /// <summary>The configuration: <c>SKILLOPT_CONFIG</c>, else the skill's declared file, else the defaults.</summary>
    public (SkillOptOptions Options, string? Path) Config()
    {
        var path = VerifierEnvironment.Get(VerifierEnvironment.Config) ?? SkillProject.For(Assembly).Find(Skill)?.ConfigFile;
        return Configs.GetOrAdd(path is null ? "" : Path.GetFullPath(path), p =>
            p.Length == 0 || !File.Exists(p) ? (new SkillOptOptions().ApplyPreset(), null) : (SkillOptConfigLoader.Load(p), p));
    }

    /// <summary>The agent of this task (created on first use).</summary>
    public SkillAgent Agent()
    {
        lock (_gate)
        {
            return _agent ??= SkillAgent.CreateForTask(this);
        }
    }

    public void Record(IEnumerable<TranscriptMessage> messages, IEnumerable<ModelCallRecord> calls, TokenUsage usage, string? finalAnswer)
    {
        lock (_gate)
        {
            _transcript.AddRange(messages);
            _calls.AddRange(calls);
            Usage += usage;
            FinalAnswer = finalAnswer ?? FinalAnswer;
        }
    }

    public void ReportScore(double score, string? reason)
    {
        lock (_gate)
        {
            PartialScore = score;
            ScoreReason = reason ?? ScoreReason;
        }
    }

    public void AddVerifierLiteral(string literal)
    {
        lock (_gate)
        {
            if (!string.IsNullOrEmpty(literal) && !_literals.Contains(literal, StringComparer.Ordinal))
            {
                _literals.Add(literal);
            }
        }
    }

    public IReadOnlyList<TranscriptMessage> Transcript { get { lock (_gate) { return _transcript.ToList(); } } }
    public IReadOnlyList<ModelCallRecord> Calls { get { lock (_gate) { return _calls.ToList(); } } }
    public IReadOnlyList<string> VerifierLiterals { get { lock (_gate) { return _literals.ToList(); } } }
    public string? SkillHash { get { lock (_gate) { return _skill?.Hash; } } }
}
