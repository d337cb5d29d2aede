using System.ComponentModel;
using SkillOpt.Testing.Verifiers;
using Xunit.Sdk;
using Xunit.v3;

namespace SkillOpt.Testing.Sdk;

/// <summary>
/// The xUnit test case of one skill task (a <see cref="SkillFactAttribute"/> method or one row of a
/// <see cref="SkillTheoryAttribute"/>). It runs like an ordinary test case, and additionally turns the test's result into
/// the task's result file (when <c>SKILLOPT_RESULTS_DIR</c> is set) and a <c>skillopt-result</c> test attachment.
/// </summary>
public class SkillTestCase : XunitTestCase, ISelfExecutingXunitTestCase
{
    /// <summary>Called by the de-serializer; do not use.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public SkillTestCase()
    {
    }

    /// <summary>Creates a skill test case.</summary>
    /// <param name="testMethod">The test method.</param>
    /// <param name="testCaseDisplayName">Display name.</param>
    /// <param name="uniqueID">Unique id.</param>
    /// <param name="explicit">Whether the test is explicit.</param>
    /// <param name="skipExceptions">Exceptions that mean "skip".</param>
    /// <param name="skipReason">Skip reason, if skipped.</param>
    /// <param name="skipType">Type holding <paramref name="skipUnless"/> / <paramref name="skipWhen"/>.</param>
    /// <param name="skipUnless">Property name: skip unless true.</param>
    /// <param name="skipWhen">Property name: skip when true.</param>
    /// <param name="traits">Traits, including the skill traits.</param>
    /// <param name="testMethodArguments">The row's arguments; empty for facts and for rows looked up at execution.</param>
    /// <param name="sourceFilePath">Source file.</param>
    /// <param name="sourceLineNumber">Source line.</param>
    /// <param name="timeout">Timeout in milliseconds.</param>
    /// <param name="skill">Skill name.</param>
    /// <param name="taskId">Stable task id.</param>
    /// <param name="split">Split: <c>train</c>, <c>val</c> or <c>test</c>.</param>
    /// <param name="rowIndex">Row index for theory rows; -1 for facts.</param>
    /// <param name="rowId">Row id for theory rows.</param>
    public SkillTestCase(IXunitTestMethod testMethod, string testCaseDisplayName, string uniqueID, bool @explicit, Type[]? skipExceptions, string? skipReason,
        Type? skipType, string? skipUnless, string? skipWhen, Dictionary<string, HashSet<string>>? traits, object?[]? testMethodArguments,
        string? sourceFilePath, int? sourceLineNumber, int? timeout, string skill, string taskId, string split, int rowIndex, string? rowId)
        : base(testMethod, testCaseDisplayName, uniqueID, @explicit, skipExceptions, skipReason, skipType, skipUnless, skipWhen, traits,
            testMethodArguments, sourceFilePath, sourceLineNumber, timeout)
    {
        Skill = skill;
        TaskId = taskId;
        Split = split;
        RowIndex = rowIndex;
        RowId = rowId;
    }

    /// <summary>Skill name.</summary>
    public string Skill { get; private set; } = "";

    /// <summary>Stable task id.</summary>
    public string TaskId { get; private set; } = "";

    /// <summary>Split of the task.</summary>
    public string Split { get; private set; } = "";

    /// <summary>Index of the theory row over all data attributes, or -1 for a fact.</summary>
    public int RowIndex { get; private set; } = -1;

    /// <summary>Row id of a theory row.</summary>
    public string? RowId { get; private set; }

    /// <summary>True when the row's arguments were not serialisable and are looked up again at execution.</summary>
    public bool LooksUpRow => RowIndex >= 0 && TestMethodArguments.Length == 0 && TestMethod.Parameters.Count > 0;

    /// <inheritdoc/>
    protected override void Serialize(IXunitSerializationInfo info)
    {
        base.Serialize(info);
        info.AddValue("skillopt.skill", Skill);
        info.AddValue("skillopt.task", TaskId);
        info.AddValue("skillopt.split", Split);
        info.AddValue("skillopt.row_index", RowIndex);
        info.AddValue("skillopt.row_id", RowId);
    }

    /// <inheritdoc/>
    protected override void Deserialize(IXunitSerializationInfo info)
    {
        base.Deserialize(info);
        Skill = info.GetValue<string>("skillopt.skill") ?? "";
        TaskId = info.GetValue<string>("skillopt.task") ?? "";
        Split = info.GetValue<string>("skillopt.split") ?? "";
        RowIndex = info.GetValue<int>("skillopt.row_index");
        RowId = info.GetValue<string>("skillopt.row_id");
    }

    /// <inheritdoc/>
    public override async ValueTask<IReadOnlyCollection<IXunitTest>> CreateTests()
    {
        if (!LooksUpRow)
        {
            return await base.CreateTests().ConfigureAwait(false);
        }
        var rows = await TheoryRows.ForExecutionAsync(TestMethod).ConfigureAwait(false);
        var row = RowIndex < rows.Count && rows[RowIndex].RowId == RowId ? rows[RowIndex] : rows.FirstOrDefault(r => r.RowId == RowId)
            ?? throw new InvalidOperationException($"The data row '{RowId}' of {TestClassName}.{TestMethodName} was found at discovery but not at execution: the theory's data must be the same each time it is enumerated.");
        var traits = Traits.ToDictionary(kv => kv.Key, kv => (IReadOnlyCollection<string>)kv.Value.ToList(), Traits.Comparer);
        return [new XunitTest(this, TestMethod, Explicit, SkipReason, SkipType, SkipUnless, SkipWhen, TestCaseDisplayName, 0, traits, Timeout, row.Arguments)];
    }

    /// <inheritdoc/>
    public async ValueTask<RunSummary> Run(ExplicitOption explicitOption, IMessageBus messageBus, object?[] constructorArguments, ExceptionAggregator aggregator,
        CancellationTokenSource cancellationTokenSource)
    {
        if (SkillWorker.TryBecomeHost())
        {
            // SKILLOPT_WORKER: this process serves rollouts until the trainer closes its standard input.
            return await SkillWorker.ServeAsync(this, cancellationTokenSource.Token).ConfigureAwait(false);
        }
        var scope = SkillTaskScope.Begin(this);
        var bus = new SkillResultMessageBus(messageBus, scope);
        try
        {
            var tests = await aggregator.RunAsync(CreateTests, []).ConfigureAwait(false);
            if (aggregator.ToException() is { } ex)
            {
                aggregator.Clear();
                return XunitRunnerHelper.FailTestCases(bus, cancellationTokenSource, [this], ex, sendTestCaseMessages: true, sendTestMessages: true,
                    sendTestCollectionMessages: false, sendTestClassMessages: false, sendTestMethodMessages: false);
            }
            // Outside the trainer and the skill gate a skill task is skipped unless SKILLOPT_VERIFIERS=1 (it would call the model).
            if (SkipReason is null && VerifierEnvironment.PlainRunSkipReason() is { } plainRun)
            {
                tests = tests.Select(t => (IXunitTest)new XunitTest(this, t.TestMethod, t.Explicit, plainRun, null, null, null, t.TestDisplayName, 0,
                    t.Traits, t.Timeout, t.TestMethodArguments)).ToList();
            }
            return await XunitTestCaseRunner.Instance.Run(this, tests, bus, aggregator, cancellationTokenSource, TestCaseDisplayName, SkipReason, explicitOption, constructorArguments)
                .ConfigureAwait(false);
        }
        finally
        {
            bus.EnsureReported();
            scope.End();
        }
    }
}
