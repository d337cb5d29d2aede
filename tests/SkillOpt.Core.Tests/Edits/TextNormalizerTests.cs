using SkillOpt.Core.Edits;

namespace SkillOpt.Core.Tests.Edits;

public sealed class TextNormalizerTests
{
    [Theory]
    [InlineData("- **Always** cite the *cell range*.", "always cite the cell range")]
    [InlineData("  1. Don't   GUESS!\r\n  2) check units", "dont guess check units")]
    [InlineData("## Rules & tips", "rules tips")]
    [InlineData("> - quoted bullet", "quoted bullet")]
    [InlineData("---", "")]
    [InlineData("", "")]
    [InlineData(null, "")]
    [InlineData("Größe NAÏVE", "größe naïve")]
    public void Normalize_LowercasesStripsMarkdownAndCollapsesWhitespace(string? input, string expected)
    {
        Assert.Equal(expected, TextNormalizer.Normalize(input));
    }

    [Fact]
    public void Similarity_IsJaccardOverWordSets()
    {
        Assert.Equal(1.0, TextNormalizer.Similarity("Be brief.", "- be   BRIEF"));
        Assert.Equal(0.0, TextNormalizer.Similarity("alpha beta", "gamma delta"));
        Assert.Equal(0.5, TextNormalizer.Similarity("a b c", "b c d"), 10);   // {b,c} / {a,b,c,d}
        Assert.Equal(1.0, TextNormalizer.Similarity("", "!!"));
        Assert.Equal(0.0, TextNormalizer.Similarity("", "word"));
    }
}
