using System.Globalization;
using SkillOpt.Testing.Sdk;

namespace SkillOpt.Testing;

/// <summary>
/// Named by convention: xUnit v3 reports an exception whose type implements an interface named <c>IAssertionException</c>
/// as an assertion failure (<c>FailureCause.Assertion</c>), which a skill task scores as Failed rather than Errored.
/// </summary>
internal interface IAssertionException;

/// <summary>An assertion about the agent's work failed: the task is Failed (score 0 unless a partial score was reported).</summary>
/// <param name="message">What was expected and what the agent did.</param>
public sealed class SkillAssertException(string message) : Exception(message), IAssertionException;

/// <summary>
/// Assertions for verifiers. A failed assertion means the agent's work was wrong (the task is Failed); any other exception
/// means the infrastructure failed (the task is Errored). xUnit's own <c>Assert</c> works the same way. The expected
/// values are recorded as verifier literals so that the trainer can keep gold answers away from the optimizer.
/// </summary>
public static class SkillAssert
{
    /// <summary>Asserts that the last number in <paramref name="actual"/> equals <paramref name="expected"/> within <paramref name="tolerance"/>.</summary>
    /// <param name="expected">The expected number.</param>
    /// <param name="actual">The agent's answer (e.g. <see cref="SkillReply.FinalAnswer"/>); thousands separators are allowed.</param>
    /// <param name="tolerance">Largest allowed absolute difference (default 1e-9).</param>
    /// <exception cref="SkillAssertException">No number, or a different one.</exception>
    public static void NumberEquals(double expected, string? actual, double tolerance = 1e-9)
    {
        Literal(expected.ToString(CultureInfo.InvariantCulture));
        var got = SkillReply.LastNumber(actual);
        if (got is null)
        {
            throw new SkillAssertException($"Expected the number {expected.ToString(CultureInfo.InvariantCulture)}, but the answer holds no number: {Quote(actual)}");
        }
        if (Math.Abs(got.Value - expected) > tolerance)
        {
            throw new SkillAssertException($"Expected the number {expected.ToString(CultureInfo.InvariantCulture)}, but the answer gives {got.Value.ToString(CultureInfo.InvariantCulture)}: {Quote(actual)}");
        }
    }

    /// <summary>Asserts that <paramref name="actual"/> equals <paramref name="expected"/> (ordinal; whitespace at the ends ignored).</summary>
    /// <param name="expected">Expected text.</param>
    /// <param name="actual">The agent's answer.</param>
    /// <param name="ignoreCase">Compare ignoring case.</param>
    /// <exception cref="SkillAssertException">The texts differ.</exception>
    public static void AnswerEquals(string expected, string? actual, bool ignoreCase = false)
    {
        ArgumentNullException.ThrowIfNull(expected);
        Literal(expected);
        if (!string.Equals(expected.Trim(), actual?.Trim(), ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
        {
            throw new SkillAssertException($"Expected the answer {Quote(expected)}, but got {Quote(actual)}");
        }
    }

    /// <summary>Asserts that <paramref name="actual"/> contains <paramref name="expected"/>.</summary>
    /// <param name="expected">Text that must appear.</param>
    /// <param name="actual">The agent's answer.</param>
    /// <param name="ignoreCase">Compare ignoring case.</param>
    /// <exception cref="SkillAssertException">The text does not appear.</exception>
    public static void Contains(string expected, string? actual, bool ignoreCase = false)
    {
        ArgumentNullException.ThrowIfNull(expected);
        Literal(expected);
        if (actual is null || !actual.Contains(expected, ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
        {
            throw new SkillAssertException($"Expected the answer to contain {Quote(expected)}, but got {Quote(actual)}");
        }
    }

    /// <summary>Asserts that <paramref name="condition"/> holds.</summary>
    /// <param name="condition">The condition.</param>
    /// <param name="message">What the agent got wrong when it does not hold.</param>
    /// <exception cref="SkillAssertException">The condition is false.</exception>
    public static void True(bool condition, string message)
    {
        if (!condition)
        {
            throw new SkillAssertException(message);
        }
    }

    /// <summary>Fails the task with <paramref name="message"/>.</summary>
    /// <param name="message">What the agent got wrong.</param>
    /// <exception cref="SkillAssertException">Always.</exception>
    public static void Fail(string message) => throw new SkillAssertException(message);

    private static void Literal(string value) => SkillTaskScope.Current?.AddVerifierLiteral(value);

    private static string Quote(string? s) => s is null ? "(nothing)" : s.Length <= 300 ? $"\"{s}\"" : $"\"{s[..300]}…\"";
}

/// <summary>Partial scores for graded tasks.</summary>
public static class SkillScore
{
    /// <summary>
    /// Reports the task's score in [0, 1]. It replaces the default of the outcome: a passing test scores this instead of
    /// 1, and a test that then fails an assertion keeps it instead of 0. Errored and skipped tasks are never scored.
    /// </summary>
    /// <param name="score">Score in [0, 1].</param>
    /// <param name="reason">Optional explanation, recorded as the result's reason when the test passes.</param>
    /// <exception cref="ArgumentOutOfRangeException">The score is outside [0, 1] or not a number.</exception>
    /// <exception cref="InvalidOperationException">Called outside a skill test.</exception>
    public static void Report(double score, string? reason = null)
    {
        if (double.IsNaN(score) || score is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(score), score, "A score must be between 0 and 1.");
        }
        var scope = SkillTaskScope.Current ?? throw new InvalidOperationException("SkillScore.Report is only available inside a [SkillFact] or [SkillTheory] test.");
        scope.ReportScore(score, reason);
    }
}
