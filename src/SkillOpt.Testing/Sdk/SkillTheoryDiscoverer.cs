using SkillOpt.Testing.Verifiers;
using Xunit.Sdk;
using Xunit.v3;

namespace SkillOpt.Testing.Sdk;

/// <summary>
/// Discovers <see cref="SkillTheoryAttribute"/> methods: every data row becomes its own <see cref="SkillTestCase"/> with
/// its own stable task id and split, always (xUnit's pre-enumeration setting and the data's serialisability do not
/// matter: rows that cannot be serialised are looked up again by index and id when they run).
/// </summary>
public class SkillTheoryDiscoverer : IXunitTestCaseDiscoverer
{
    /// <inheritdoc/>
    public async ValueTask<IReadOnlyCollection<IXunitTestCase>> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, IXunitTestMethod testMethod, IFactAttribute factAttribute)
    {
        ArgumentNullException.ThrowIfNull(testMethod);
        ArgumentNullException.ThrowIfNull(factAttribute);
        var theory = (ITheoryAttribute)factAttribute;
        var methodDetails = TestIntrospectionHelper.GetTestCaseDetails(discoveryOptions, testMethod, factAttribute, null, null, null, null);
        IXunitTestCase Error(string message, string? uniqueId = null) => SkillDiscovery.Error(methodDetails.ResolvedTestMethod, factAttribute, methodDetails.TestCaseDisplayName,
            uniqueId ?? methodDetails.UniqueID, methodDetails.SourceFilePath, methodDetails.SourceLineNumber, message);

        var info = SkillDiscovery.Describe(testMethod, factAttribute, out var error);
        if (info is null)
        {
            return [Error(error!)];
        }

        IReadOnlyList<TheoryRow> rows;
        var disposal = new DisposalTracker();
        try
        {
            rows = await TheoryRows.EnumerateAsync(testMethod, disposal).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await disposal.DisposeAsync().ConfigureAwait(false);
            // a [MemberData] property or method that throws arrives wrapped by reflection: report what it threw
            var cause = ex is System.Reflection.TargetInvocationException { InnerException: { } inner } ? inner : ex;
            return [Error($"The data of {testMethod.TestClass.TestClassName}.{testMethod.MethodName} could not be enumerated: {cause.GetType().Name}: {cause.Message}")];
        }

        var result = new List<IXunitTestCase>();
        if (rows.Count == 0)
        {
            await disposal.DisposeAsync().ConfigureAwait(false);
            return theory.SkipTestWithoutData ? [] : [Error($"No data found for {testMethod.TestClass.TestClassName}.{testMethod.MethodName}: a [SkillTheory] needs at least one data row.")];
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var taskId = SkillTaskId.ForRow(info.MethodTaskId, row.RowId);
            var uniqueId = UniqueIDGenerator.ForTestCase(methodDetails.ResolvedTestMethod.UniqueID, null, [taskId]);
            if (seen.TryGetValue(taskId, out var first))
            {
                result.Add(Error($"Rows {first} and {row.Index} of {testMethod.TestClass.TestClassName}.{testMethod.MethodName} have the same task id '{taskId}': give the data objects distinct ids (ISkillTask, a TaskId or Id property).",
                    UniqueIDGenerator.ForTestCase(methodDetails.ResolvedTestMethod.UniqueID, null, [taskId, row.Index])));
                continue;
            }
            seen[taskId] = row.Index;
            var serializable = TheoryRows.AreSerializable(row.Arguments);
            // xUnit derives ids from serialised arguments; rows that cannot be serialised get their details without them.
            var details = TestIntrospectionHelper.GetTestCaseDetailsForTheoryDataRow(discoveryOptions, testMethod, theory,
                serializable ? row.DataRow : new ArgumentlessRow(row.DataRow), serializable ? row.Arguments : []);
            var displayName = serializable ? details.TestCaseDisplayName : testMethod.GetDisplayName(WithoutMissingArguments(details.TestCaseDisplayName, testMethod), row.DataRow.Label, row.Arguments, null);
            var traits = TestIntrospectionHelper.GetTraits(testMethod, row.DataRow);
            TestIntrospectionHelper.MergeTraitsInto(traits, row.Source.Traits);
            var split = SkillDiscovery.SplitOf(info, taskId);
            result.Add(new SkillTestCase(
                details.ResolvedTestMethod, displayName, uniqueId, details.Explicit, details.SkipExceptions,
                details.SkipReason ?? row.Source.Skip, details.SkipType, details.SkipUnless, details.SkipWhen,
                SkillDiscovery.WithSkillTraits(traits, info.Skill, taskId, split),
                serializable ? row.Arguments : [], details.SourceFilePath, details.SourceLineNumber, details.Timeout,
                info.Skill, taskId, split, row.Index, row.RowId));
        }
        // Discovery-time data is only used for names and ids; execution gets its own (see TheoryRows.ForExecutionAsync).
        await disposal.DisposeAsync().ConfigureAwait(false);
        return result;
    }

    /// <summary>Removes the <c>(name: ???, …)</c> suffix xUnit prints for arguments it was not given.</summary>
    private static string WithoutMissingArguments(string displayName, IXunitTestMethod testMethod)
    {
        var suffix = "(" + string.Join(", ", testMethod.Method.GetParameters().Select(p => $"{p.Name}: ???")) + ")";
        return displayName.EndsWith(suffix, StringComparison.Ordinal) ? displayName[..^suffix.Length] : displayName;
    }
}

/// <summary>A data row seen without its data (and label), so that xUnit computes names and settings without serialising arguments.</summary>
internal sealed class ArgumentlessRow(Xunit.ITheoryDataRow row) : Xunit.ITheoryDataRow
{
    public bool? Explicit => row.Explicit;
    public string? Label => null;
    public string? Skip => row.Skip;
    public Type? SkipType => row.SkipType;
    public string? SkipUnless => row.SkipUnless;
    public string? SkipWhen => row.SkipWhen;
    public string? TestDisplayName => row.TestDisplayName;
    public int? Timeout => row.Timeout;
    public Dictionary<string, HashSet<string>>? Traits => row.Traits;
    public object?[] GetData() => [];
}
