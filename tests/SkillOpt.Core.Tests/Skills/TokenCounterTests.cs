using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Tests.Skills;

public sealed class TokenCounterTests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("a", 1)]
    [InlineData("abcd", 1)]
    [InlineData("abcde", 2)]
    [InlineData("abcdefgh", 2)]
    public void ApproximateCounter_IsCeilingOfCharsOverFour(string text, int expected)
    {
        Assert.Equal(expected, ApproximateTokenCounter.Instance.CountTokens(text));
    }

    [Fact]
    public void ApproximateCounter_RejectsNull()
    {
        Assert.Throws<ArgumentNullException>(() => ApproximateTokenCounter.Instance.CountTokens(null!));
    }
}
