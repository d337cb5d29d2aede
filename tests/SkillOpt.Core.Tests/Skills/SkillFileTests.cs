using System.Text;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Skills;
using SkillOpt.Core.Tests.Reference;

namespace SkillOpt.Core.Tests.Skills;

public sealed class SkillFileTests
{
    private const string Path = "skills/math/SKILL.md";

    private static SkillFileException Refused(string text) => Refused(Encoding.UTF8.GetBytes(text));

    private static SkillFileException Refused(byte[] bytes) => Assert.Throws<SkillFileException>(() => SkillFile.Parse(bytes, Path));

    [Theory]
    [InlineData("# T\n\n<!-- skillopt:protected -->\nkeep\n", 3, 1, "region is never closed")]                                   // unterminated
    [InlineData("# T\n\nkeep\n   <!-- /skillopt:protected -->\n", 4, 4, "closes a region that was never opened")]               // unmatched
    [InlineData("<!-- skillopt:protected -->\n<!-- APPENDIX_START -->\n<!-- APPENDIX_END -->\n<!-- /skillopt:protected -->\n", 2, 1, "regions cannot nest")]
    [InlineData("<!-- SLOW_UPDATE_START -->\nx\n<!-- /skillopt:slow-update -->\n", 3, 1, "expected '<!-- SLOW_UPDATE_END -->'")] // mismatched
    [InlineData("<!-- SLOW_UPDATE_START -->\n<!-- SLOW_UPDATE_END -->\n\n<!-- SLOW_UPDATE_START -->\n<!-- SLOW_UPDATE_END -->\n", 4, 1, "second slow-update block")]
    [InlineData("x\r\n\r\n<!-- skillopt:slow-update -->\r\nkeep\r\n", 3, 1, "region is never closed")]                           // CRLF
    public void MalformedMarkers_AreSkopt1101_LocatedInTheSkillFile(string text, int line, int column, string detail)
    {
        var ex = Refused(text);

        Assert.Equal(SkillFile.MalformedMarkersCode, ex.Code);
        Assert.Equal("SKOPT1101", ex.Code);
        Assert.Equal((Path, line, column), (ex.File, ex.Line, ex.Column));
        Assert.Contains(detail, ex.Detail, StringComparison.Ordinal);
        Assert.StartsWith($"{Path}({line},{column}): error SKOPT1101: ", ex.Message, StringComparison.Ordinal);
        Assert.IsType<SkillFormatException>(ex.InnerException);
    }

    [Fact]
    public void NulBytes_AreBinaryContent_Skopt1103()
    {
        var ex = Refused("# T\n\nab\0c\n");

        Assert.Equal(("SKOPT1103", 3, 3), (ex.Code, ex.Line, ex.Column));
        Assert.Contains("a NUL byte", ex.Detail, StringComparison.Ordinal);
        Assert.StartsWith($"{Path}(3,3): error SKOPT1103: the skill file holds binary content", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BinaryFiles_AndControlCharacters_AreRefused()
    {
        // A PNG header: 0x89 'P' 'N' 'G' CR LF 0x1A LF — the SUB character comes before any invalid UTF-8 is reported.
        var png = Refused([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00]);
        Assert.Equal(("SKOPT1103", 2, 1), (png.Code, png.Line, png.Column));
        Assert.Contains("U+001A", png.Detail, StringComparison.Ordinal);

        var escape = Refused("Use \u001b[1mbold\u001b[0m.\n");
        Assert.Equal(("SKOPT1103", 1, 5), (escape.Code, escape.Line, escape.Column));
    }

    [Fact]
    public void InvalidUtf8_IsSkopt1102_AtTheFirstBadByte()
    {
        // "café" in Latin-1 on line 2, after a multi-byte character on that line (columns count UTF-16 units).
        var bytes = Encoding.UTF8.GetBytes("# T\n→ caf").Concat(new byte[] { 0xE9, (byte)'\n' }).ToArray();

        var ex = Refused(bytes);

        Assert.Equal(("SKOPT1102", 2, 6), (ex.Code, ex.Line, ex.Column));
        Assert.Contains("not valid UTF-8 (byte 0xE9 at offset 11)", ex.Detail, StringComparison.Ordinal);

        var truncated = Refused([(byte)'a', 0xE2, 0x82]);
        Assert.Equal(("SKOPT1102", 1, 2), (truncated.Code, truncated.Line, truncated.Column));
    }

    [Fact]
    public void Utf16Files_AreRefused_AndAUtf8ByteOrderMarkIsSkipped()
    {
        var utf16 = Refused([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("# T\n")]);
        Assert.Equal("SKOPT1102", utf16.Code);
        Assert.Contains("UTF-16", utf16.Detail, StringComparison.Ordinal);
        Assert.Contains("UTF-32", Refused([0xFF, 0xFE, 0x00, 0x00, 0x23, 0x00, 0x00, 0x00]).Detail, StringComparison.Ordinal);

        var doc = SkillFile.Parse([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("# T\r\n\r\n- é\f\tx\r\n")], Path);
        Assert.Equal("# T\r\n\r\n- é\f\tx\r\n", doc.Text);
    }

    [Fact]
    public void Read_ReadsTheFile_AndTheReferencesTrainedSkillsAreAccepted()
    {
        var file = System.IO.Path.Combine(ReferenceFixtures.Folder, "skills", "spreadsheetbench.md");

        var doc = SkillFile.Read(file);

        Assert.Equal(ReferenceFixtures.TrainedSkills["spreadsheetbench"], doc.Text);
        foreach (var (name, text) in ReferenceFixtures.TrainedSkills)
        {
            var skill = SkillFile.Parse(Encoding.UTF8.GetBytes(text), name);
            SkillFile.EnsureWithinTokenLimit(skill, name, new SkillEditOptions().MaxInitialTokens, "m", null);
        }
    }

    [Fact]
    public void ASkillOverTheTokenLimit_IsSkopt1104_WithItsCostPerTargetCall()
    {
        var skill = SkillDocument.Parse(new string('x', 400_000)); // 100,000 tokens at 4 characters a token
        var price = new ModelPrice { InputPerMillion = 2.5, OutputPerMillion = 10 };

        var ex = Assert.Throws<SkillFileException>(() => SkillFile.EnsureWithinTokenLimit(skill, Path, 16_000, "gpt-5-mini", price));

        Assert.Equal(("SKOPT1104", 0, 0), (ex.Code, ex.Line, ex.Column));
        Assert.StartsWith($"{Path}: error SKOPT1104: the skill is 100,000 tokens (400,000 characters at 4 a token), over skill.max_initial_tokens = 16,000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("about $0.25 of input per target call at 'gpt-5-mini''s price of $2.5 per million input tokens", ex.Detail, StringComparison.Ordinal);

        var unpriced = Assert.Throws<SkillFileException>(() => SkillFile.EnsureWithinTokenLimit(skill, Path, 16_000, "local-model", null));
        Assert.Contains("no cost estimate: the configuration has no 'pricing' entry for 'local-model'", unpriced.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("$", unpriced.Detail, StringComparison.Ordinal);

        SkillFile.EnsureWithinTokenLimit(skill, Path, 0, "m", price);          // 0 = no limit
        SkillFile.EnsureWithinTokenLimit(skill, Path, 100_000, "m", price);    // exactly at the limit
    }

    [Fact]
    public void TokenBudgetWarning_OnlyOverAPositiveBudget()
    {
        var skill = SkillDocument.Parse(new string('x', 12_000)); // 3,000 tokens

        Assert.Contains("the initial skill is 3,000 tokens, over skill.token_budget = 2,000", SkillFile.TokenBudgetWarning(skill, 2000), StringComparison.Ordinal);
        Assert.Null(SkillFile.TokenBudgetWarning(skill, 3000));
        Assert.Null(SkillFile.TokenBudgetWarning(skill, 0));
    }

    [Fact]
    public void MaxInitialTokens_IsConfigurable_AndCheckedAtLoad()
    {
        Assert.Equal(16_000, SkillOptConfigLoader.Parse("seed: 1\n", "skillopt.yaml").Skill.MaxInitialTokens);
        Assert.Equal(0, SkillOptConfigLoader.Parse("skill:\n  max_initial_tokens: 0\n", "skillopt.yaml").Skill.MaxInitialTokens);

        var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse("skill:\n  max_initial_tokens: -5\n", "skillopt.yaml"));
        Assert.Equal(("SKOPT1002", "skill.max_initial_tokens"), (ex.Code, ex.Key));
    }
}
