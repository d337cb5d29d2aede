using System.Runtime.CompilerServices;
using SkillOpt.Testing.Sdk;
using Xunit;
using Xunit.v3;

namespace SkillOpt.Testing;

/// <summary>What <see cref="SkillFactAttribute"/> and <see cref="SkillTheoryAttribute"/> have in common.</summary>
public interface ISkillVerifierAttribute
{
    /// <summary>Name of the skill this verifier scores (declared with <see cref="SkillDefinitionAttribute"/>).</summary>
    string Skill { get; }

    /// <summary>Pins the task to a split (<c>train</c>, <c>val</c> or <c>test</c>) instead of the hash-based assignment.</summary>
    string? Split { get; }

    /// <summary>Replaces <c>{Class}.{Method}</c> in the task id, so that renaming the method keeps the id.</summary>
    string? Id { get; }
}

/// <summary>
/// Marks a test method as a skill verifier: one task whose outcome (pass, assertion failure, error, skip) scores the
/// skill. Under the trainer the target model runs with the candidate skill; under <c>dotnet test</c> with the committed one.
/// </summary>
/// <example><code>
/// [SkillFact(Skill = "math")]
/// public async Task AddsFractions()
/// {
///     var reply = await SkillAgent.Current.RunAsync("What is 1/2 + 1/3?");
///     SkillAssert.Contains("5/6", reply.Text);
/// }
/// </code></example>
/// <param name="sourceFilePath">Filled in by the compiler.</param>
/// <param name="sourceLineNumber">Filled in by the compiler.</param>
[XunitTestCaseDiscoverer(typeof(SkillFactDiscoverer))]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public class SkillFactAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
    : FactAttribute(sourceFilePath, sourceLineNumber), ISkillVerifierAttribute
{
    /// <inheritdoc/>
    public string Skill { get; set; } = "";

    /// <inheritdoc/>
    public string? Split { get; set; }

    /// <inheritdoc/>
    public string? Id { get; set; }
}

/// <summary>
/// Marks a data-driven test method as a skill verifier: every data row is its own task (own test case, own stable task
/// id and own split), discoverable and filterable one by one, whether or not the data is serialisable.
/// </summary>
/// <example><code>
/// [SkillTheory(Skill = "math")]
/// [MemberData(nameof(Problems))]
/// public async Task Solves(MathProblem p)
/// {
///     var reply = await SkillAgent.Current.RunAsync(p.Question);
///     SkillAssert.NumberEquals(p.Answer, reply.FinalAnswer());
/// }
/// </code></example>
/// <param name="sourceFilePath">Filled in by the compiler.</param>
/// <param name="sourceLineNumber">Filled in by the compiler.</param>
[XunitTestCaseDiscoverer(typeof(SkillTheoryDiscoverer))]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public class SkillTheoryAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
    : TheoryAttribute(sourceFilePath, sourceLineNumber), ISkillVerifierAttribute
{
    /// <inheritdoc/>
    public string Skill { get; set; } = "";

    /// <inheritdoc/>
    public string? Split { get; set; }

    /// <inheritdoc/>
    public string? Id { get; set; }
}
