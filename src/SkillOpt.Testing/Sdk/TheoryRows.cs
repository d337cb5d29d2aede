using System.Collections.Concurrent;
using System.Reflection;
using SkillOpt.Testing.Verifiers;
using Xunit;
using Xunit.Sdk;
using Xunit.v3;

namespace SkillOpt.Testing.Sdk;

/// <summary>One data row of a skill theory.</summary>
/// <param name="Index">0-based position over all data attributes of the method.</param>
/// <param name="DataRow">The row as the data attribute produced it.</param>
/// <param name="Source">The data attribute.</param>
/// <param name="Arguments">The row's arguments converted to the method's parameter types.</param>
/// <param name="RowId">The row id (<see cref="SkillTaskId.RowId"/>).</param>
internal sealed record TheoryRow(int Index, ITheoryDataRow DataRow, IDataAttribute Source, object?[] Arguments, string RowId);

/// <summary>Enumerates the data rows of a theory (at discovery, and again at execution for rows that cannot be serialised).</summary>
internal static class TheoryRows
{
    private static readonly ConcurrentDictionary<MethodInfo, Lazy<Task<IReadOnlyList<TheoryRow>>>> ExecutionCache = new();
    private static readonly DisposalTracker ExecutionDisposal = new();

    /// <summary>Enumerates every row of every data attribute of <paramref name="testMethod"/>.</summary>
    public static async Task<IReadOnlyList<TheoryRow>> EnumerateAsync(IXunitTestMethod testMethod, DisposalTracker disposalTracker)
    {
        var rows = new List<TheoryRow>();
        foreach (var dataAttribute in testMethod.DataAttributes)
        {
            var data = await dataAttribute.GetData(testMethod.Method, disposalTracker).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"{dataAttribute.GetType().Name} on {testMethod.TestClass.TestClassName}.{testMethod.MethodName} returned null instead of data.");
            foreach (var row in data)
            {
                var raw = row.GetData() ?? [];
                var args = testMethod.ResolveMethodArguments(raw);
                rows.Add(new TheoryRow(rows.Count, row, dataAttribute, args, SkillTaskId.RowId(args)));
            }
        }
        return rows;
    }

    /// <summary>The rows of a method enumerated once per process for execution (rows whose data is not serialisable are looked up here).</summary>
    public static Task<IReadOnlyList<TheoryRow>> ForExecutionAsync(IXunitTestMethod testMethod) =>
        ExecutionCache.GetOrAdd(testMethod.Method, _ => new Lazy<Task<IReadOnlyList<TheoryRow>>>(() => EnumerateAsync(testMethod, ExecutionDisposal))).Value;

    /// <summary>True when every argument survives xUnit serialisation (so the test case can carry it).</summary>
    public static bool AreSerializable(object?[] arguments)
    {
        foreach (var a in arguments)
        {
            try
            {
                if (!SerializationHelper.Instance.IsSerializable(a))
                {
                    return false;
                }
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException)
            {
                return false;
            }
        }
        return true;
    }
}
