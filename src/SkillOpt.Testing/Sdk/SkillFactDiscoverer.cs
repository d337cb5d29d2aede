using Xunit.Sdk;
using Xunit.v3;

namespace SkillOpt.Testing.Sdk;

/// <summary>Discovers <see cref="SkillFactAttribute"/> methods: one <see cref="SkillTestCase"/> each, with the skill, task and split traits.</summary>
public class SkillFactDiscoverer : IXunitTestCaseDiscoverer
{
    /// <inheritdoc/>
    public ValueTask<IReadOnlyCollection<IXunitTestCase>> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, IXunitTestMethod testMethod, IFactAttribute factAttribute)
    {
        ArgumentNullException.ThrowIfNull(testMethod);
        ArgumentNullException.ThrowIfNull(factAttribute);
        var details = TestIntrospectionHelper.GetTestCaseDetails(discoveryOptions, testMethod, factAttribute, null, null, null, null);
        var info = SkillDiscovery.Describe(testMethod, factAttribute, out var error);
        if (info is null)
        {
            return new([SkillDiscovery.Error(details.ResolvedTestMethod, factAttribute, details.TestCaseDisplayName, details.UniqueID, details.SourceFilePath, details.SourceLineNumber, error!)]);
        }
        if (testMethod.Parameters.Count > 0)
        {
            return new([SkillDiscovery.Error(details.ResolvedTestMethod, factAttribute, details.TestCaseDisplayName, details.UniqueID, details.SourceFilePath, details.SourceLineNumber,
                $"[SkillFact] methods cannot have parameters; use [SkillTheory] with data for {testMethod.TestClass.TestClassName}.{testMethod.MethodName}.")]);
        }
        var taskId = info.MethodTaskId;
        var split = SkillDiscovery.SplitOf(info, taskId);
        var traits = SkillDiscovery.WithSkillTraits(TestIntrospectionHelper.GetTraits(testMethod, null), info.Skill, taskId, split);
        IXunitTestCase testCase = new SkillTestCase(
            details.ResolvedTestMethod, details.TestCaseDisplayName, details.UniqueID, details.Explicit, details.SkipExceptions, details.SkipReason,
            details.SkipType, details.SkipUnless, details.SkipWhen, traits, [], details.SourceFilePath, details.SourceLineNumber, details.Timeout,
            info.Skill, taskId, split, rowIndex: -1, rowId: null);
        return new([testCase]);
    }
}
