using SkillOpt.Testing.Gate;
using Xunit;
using Xunit.Sdk;

namespace SkillOpt.Testing;

/// <summary>
/// The skill regression gate as xUnit tests: derive one class per skill in the verifier project, and <c>dotnet test</c>
/// checks that (a) the committed skill is the approved one, (b) no trained skill is waiting for approval, (c) the test
/// split replays from the approved recording exactly as the receipt says (zero model calls), and (d), when
/// <c>SKILLOPT_LIVE=1</c>, that a live re-run of the test split is not significantly worse than the receipt.
/// </summary>
/// <example><code>public sealed class MathSkillGate() : SkillGateTests("math");</code></example>
/// <param name="skill">The skill's name, as declared with <see cref="SkillDefinitionAttribute"/>.</param>
public abstract class SkillGateTests(string skill)
{
    /// <summary>The trait every gate test carries (<c>Category=SkillGate</c>), for filtering.</summary>
    public const string Category = "SkillGate";

    /// <summary>The guarded skill's name.</summary>
    public string Skill { get; } = skill;

    /// <summary>Creates the gate (the running test assembly is the verifier assembly).</summary>
    /// <exception cref="ArgumentException">The assembly declares no such skill.</exception>
    private protected virtual SkillGate CreateGate() => new(GetType().Assembly, Skill);

    private SkillGate Start([System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        GateRecords.Ran(GetType().Assembly, Skill, test);
        return CreateGate();
    }

    /// <summary>(a) The committed skill file hashes to its receipt; a hand edit fails with a diff against the approved text.</summary>
    [Fact]
    [Trait("Category", Category)]
    public void Skill_matches_its_receipt() => Apply(Start().CheckApproved());

    /// <summary>(b) No received file (a trained skill, receipt or recording) is waiting for approval.</summary>
    [Fact]
    [Trait("Category", Category)]
    public void No_received_files_are_pending() => Apply(Start().CheckNothingPending());

    /// <summary>(c) The test split, replayed from the approved recording with zero model calls, reproduces the receipt.</summary>
    [Fact]
    [Trait("Category", Category)]
    public async Task Test_split_replays_as_approved() => Apply(await Start().ReplayAsync(TestContext.Current.CancellationToken));

    /// <summary>(d) Opt-in (<c>SKILLOPT_LIVE=1</c>): the test split re-run against the configured model does not drop significantly.</summary>
    [Fact]
    [Trait("Category", Category)]
    public async Task Test_split_holds_up_live() => Apply(await Start().LiveAsync(TestContext.Current.CancellationToken));

    private static void Apply(GateOutcome outcome)
    {
        switch (outcome.Status)
        {
            case GateStatus.Failed:
                throw new SkillGateException(outcome.Message);
            case GateStatus.Skipped:
                Assert.Skip(outcome.Message);
                break;
            case GateStatus.Warning:
                TestContext.Current.AddWarning(outcome.Message);
                TestContext.Current.TestOutputHelper?.WriteLine(outcome.Message);
                break;
            default:
                TestContext.Current.TestOutputHelper?.WriteLine(outcome.Message);
                break;
        }
    }
}

/// <summary>A gate check failed; the message says why and what to run (an assertion failure, not an error).</summary>
/// <param name="message">The gate's message.</param>
public sealed class SkillGateException(string message) : Exception(message), IAssertionException;
