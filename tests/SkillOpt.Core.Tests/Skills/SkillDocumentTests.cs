using System.Text.RegularExpressions;
using SkillOpt.Core.Skills;
using SkillOpt.Core.Tests.Reference;

namespace SkillOpt.Core.Tests.Skills;

public sealed class SkillDocumentTests
{
    internal const string Rich =
        "# Solving spreadsheet tasks\n" +
        "\n" +
        "Read the whole sheet before answering.  \n" +
        "Second line of the paragraph.\n" +
        "\n" +
        "## Rules\n" +
        "\n" +
        "- Always cite the cell range.\n" +
        "  - Nested detail one.\n" +
        "  - Nested detail two.\n" +
        "- Never guess a number.\n" +
        "\n" +
        "1. First step\n" +
        "2. Second step\n" +
        "\n" +
        "```markdown\n" +
        "<!-- skillopt:protected -->\n" +
        "```\n" +
        "\n" +
        "> Quoted advice\n" +
        "> continues here.\n" +
        "\n" +
        "---\n" +
        "\n" +
        "| col | meaning |\n" +
        "|-----|---------|\n" +
        "| A   | id      |\n" +
        "\n" +
        "<div>raw html</div>\n" +
        "\n" +
        "    indented code\n" +
        "\n" +
        "<!-- skillopt:protected -->\n" +
        "Keep this exactly.\n" +
        "<!-- /skillopt:protected -->\n";

    public static TheoryData<string, string> RoundTripDocuments => new()
    {
        { "rich", Rich },
        { "rich-crlf", Rich.Replace("\n", "\r\n") },
        { "empty", "" },
        { "no final newline", "# T\n\n- a\n- b" },
        { "trailing spaces", "Line with two trailing spaces  \nnext line \t\n\n- item   \n" },
        { "trailing blank lines", "text\n\n\n\n" },
        { "nested lists", "- a\n  - b\n    - c\n- d\n\n  continuation of d\n\n* other list\n" },
        { "fence containing marker", "Intro\n\n```\n<!-- skillopt:protected -->\n<!-- /skillopt:slow-update -->\n```\n" },
        { "tabs and cr-only", "\tcode\r\rpara\rmore\r" },
        { "setext and link refs", "Title\n=====\n\n[ref]: https://example.com\n\nSee [ref].\n" },
        { "unicode", "# Größe ✓\n\n- naïve café 🚀\n" },
    };

    [Theory]
    [MemberData(nameof(RoundTripDocuments))]
    public void Render_IsByteExact_AndBlocksAreExactSourceSubstrings(string name, string text)
    {
        var doc = SkillDocument.Parse(text);

        Assert.Equal(text, doc.Render());
        Assert.Same(text, doc.Text);
        var previousEnd = 0;
        foreach (var block in doc.Blocks)
        {
            Assert.True(block.Start >= previousEnd, $"{name}: block {block.Id} overlaps the previous block");
            Assert.Equal(text.Substring(block.Start, block.Length), block.Text);
            Assert.False(block.Text.EndsWith('\n') || block.Text.EndsWith('\r'), $"{name}: block {block.Id} ends with a line break");
            Assert.Equal(doc.GetLineNumber(block.Start), block.Line);
            previousEnd = block.End;
        }

        Assert.Equal(doc.Hash, SkillDocument.Parse(doc.Render()).Hash);
    }

    [Fact]
    public void Parse_FindsEveryBlockKind_WithOneBlockPerTopLevelListItem()
    {
        var doc = SkillDocument.Parse(Rich);

        var kinds = doc.Blocks.Select(b => b.Kind).ToArray();
        Assert.Equal(
            new[]
            {
                SkillBlockKind.Heading, SkillBlockKind.Paragraph, SkillBlockKind.Heading,
                SkillBlockKind.ListItem, SkillBlockKind.ListItem, SkillBlockKind.ListItem, SkillBlockKind.ListItem,
                SkillBlockKind.Code, SkillBlockKind.Quote, SkillBlockKind.ThematicBreak, SkillBlockKind.Table,
                SkillBlockKind.Html, SkillBlockKind.Code, SkillBlockKind.Html, SkillBlockKind.Paragraph, SkillBlockKind.Html,
            },
            kinds);

        var firstItem = doc.Blocks[3];
        Assert.Equal("- Always cite the cell range.\n  - Nested detail one.\n  - Nested detail two.", firstItem.Text);
        Assert.Equal(8, firstItem.Line);
        Assert.Equal("Rules", firstItem.Section);
        Assert.Equal("Solving spreadsheet tasks", doc.Blocks[0].Section);
        Assert.Equal("Solving spreadsheet tasks", doc.Blocks[1].Section);
        Assert.Equal("Read the whole sheet before answering.  \nSecond line of the paragraph.", doc.Blocks[1].Text);
        Assert.Equal("```markdown\n<!-- skillopt:protected -->\n```", doc.Blocks[7].Text);
        Assert.Equal("| col | meaning |\n|-----|---------|\n| A   | id      |", doc.Blocks[10].Text);
    }

    [Fact]
    public void Section_IsNullBeforeFirstHeading_AndSetextHeadingsCount()
    {
        var doc = SkillDocument.Parse("Intro text.\n\nGuide\n-----\n\nBody.\n\n### Closing ###\n\nEnd.\n");

        Assert.Null(doc.Blocks[0].Section);
        Assert.Equal("Guide", doc.Blocks[2].Section);
        Assert.Equal("Closing", doc.Blocks[4].Section);
    }

    [Fact]
    public void Crlf_GivesSameIdsLinesAndKindsAsLf()
    {
        var lf = SkillDocument.Parse(Rich);
        var crlf = SkillDocument.Parse(Rich.Replace("\n", "\r\n"));

        Assert.Equal(lf.Blocks.Select(b => (b.Id, b.Kind, b.Line, b.IsProtected)), crlf.Blocks.Select(b => (b.Id, b.Kind, b.Line, b.IsProtected)));
        Assert.Equal("\r\n", crlf.NewLine);
        Assert.Equal("\n", lf.NewLine);
        Assert.Contains("\r\n", crlf.Blocks[3].Text, StringComparison.Ordinal);
        Assert.Equal(lf.ProtectedRegions.Select(r => r.Line), crlf.ProtectedRegions.Select(r => r.Line));
    }

    [Fact]
    public void Ids_HaveKindPrefixAndShortHash_AndDuplicatesGetSuffixes()
    {
        var doc = SkillDocument.Parse("# Rules\n\n- Be brief.\n- Be brief.\n- Be  brief.\n\nBe brief.\n");

        Assert.Matches(new Regex("^h-[0-9a-f]{6}$"), doc.Blocks[0].Id);
        var baseId = doc.Blocks[1].Id;
        Assert.Matches(new Regex("^li-[0-9a-f]{6}$"), baseId);
        Assert.Equal(baseId + "-2", doc.Blocks[2].Id);
        Assert.Equal(baseId + "-3", doc.Blocks[3].Id); // whitespace-normalised text is identical
        Assert.Matches(new Regex("^p-[0-9a-f]{6}$"), doc.Blocks[4].Id);
        Assert.NotEqual(baseId[3..], doc.Blocks[4].Id[2..]); // the kind is part of the hash
        Assert.Equal(doc.Blocks.Count, doc.Blocks.Select(b => b.Id).Distinct().Count());
        Assert.Same(doc.Blocks[2], doc.FindBlock(baseId + "-2"));
    }

    [Fact]
    public void Ids_AreStableAcrossAnUnrelatedEdit_AndChangeWithTheirOwnContent()
    {
        var before = SkillDocument.Parse(Rich);
        var edited = SkillDocument.Parse(Rich.Replace("- Never guess a number.", "- Never guess a number; compute it.\n- Show the formula.", StringComparison.Ordinal));

        var beforeIds = before.Blocks.Where(b => !b.Text.Contains("Never guess", StringComparison.Ordinal)).Select(b => b.Id).ToList();
        var afterIds = edited.Blocks.Select(b => b.Id).ToHashSet();
        Assert.All(beforeIds, id => Assert.Contains(id, afterIds));

        var changedBefore = before.Blocks.Single(b => b.Text.Contains("Never guess", StringComparison.Ordinal)).Id;
        Assert.DoesNotContain(changedBefore, afterIds);
    }

    [Fact]
    public void ProtectedRegions_AreDetected_WithSpansLinesAndProtectedBlocks()
    {
        const string text = "# T\n\n<!-- skillopt:protected -->\nDo not touch.\n<!-- /skillopt:protected -->\n\nFree text.\n\n<!-- skillopt:slow-update -->\nGuidance line 1\nGuidance line 2\n<!-- /skillopt:slow-update -->\n";
        var doc = SkillDocument.Parse(text);

        Assert.Equal(2, doc.ProtectedRegions.Count);
        var p = doc.ProtectedRegions[0];
        Assert.Equal("protected", p.Kind);
        Assert.Equal(3, p.Line);
        Assert.Equal(5, p.EndLine);
        Assert.Equal("<!-- skillopt:protected -->\nDo not touch.\n<!-- /skillopt:protected -->", text.Substring(p.Start, p.Length));
        var s = doc.ProtectedRegions[1];
        Assert.Equal("slow-update", s.Kind);
        Assert.Equal(9, s.Line);
        Assert.Equal("Guidance line 1\nGuidance line 2", doc.SlowUpdateGuidance);

        Assert.True(doc.Blocks.Single(b => b.Text == "Do not touch.").IsProtected);
        Assert.True(doc.Blocks.Single(b => b.Text.StartsWith("Guidance", StringComparison.Ordinal)).IsProtected);
        Assert.False(doc.Blocks.Single(b => b.Text == "Free text.").IsProtected);
        Assert.False(doc.Blocks.Single(b => b.Text == "# T").IsProtected);

        Assert.True(doc.IsProtected(p.Start, 1));               // the opening marker itself
        Assert.True(doc.IsProtected(p.End - 1, 1));             // the closing marker itself
        Assert.True(doc.IsProtected(0, p.Start + 1));           // a span reaching into the region
        Assert.False(doc.IsProtected(0, p.Start));              // a span ending right before it
        Assert.False(doc.IsProtected(p.End, 1));                // the line break after the closing marker
        Assert.True(doc.IsProtected(p.Start + 5, 0));           // insertion point inside
        Assert.False(doc.IsProtected(p.Start, 0));              // insertion point right before the opening line
        Assert.False(doc.IsProtected(p.End, 0));                // insertion point right after the closing line
    }

    [Fact]
    public void MarkersInsideCodeFences_AreNotMarkers()
    {
        var doc = SkillDocument.Parse("```\n<!-- skillopt:protected -->\n```\n\n    <!-- /skillopt:protected -->\n");

        Assert.Empty(doc.ProtectedRegions);
        Assert.All(doc.Blocks, b => Assert.False(b.IsProtected));
        Assert.Null(doc.SlowUpdateGuidance);
    }

    [Theory]
    [InlineData("a\n\n<!-- skillopt:protected -->\nkeep\n", 3)]                                   // never closed
    [InlineData("a\n\nkeep\n<!-- /skillopt:protected -->\n", 4)]                                   // never opened
    [InlineData("<!-- skillopt:protected -->\n<!-- skillopt:protected -->\nx\n<!-- /skillopt:protected -->\n", 2)] // nested
    [InlineData("x\n<!-- skillopt:protected -->\ny\n<!-- /skillopt:slow-update -->\n", 4)]        // wrong kind
    [InlineData("<!-- skillopt:slow-update -->\n<!-- /skillopt:slow-update -->\n\n<!-- skillopt:slow-update -->\n<!-- /skillopt:slow-update -->\n", 4)] // two slow-update blocks
    [InlineData("a\r\n\r\n<!-- skillopt:slow-update -->\r\nkeep\r\n", 3)]                          // CRLF, never closed
    public void MalformedMarkers_ThrowWithLine(string text, int line)
    {
        var ex = Assert.Throws<SkillFormatException>(() => SkillDocument.Parse(text));
        Assert.Equal(line, ex.Line);
        Assert.Contains($"Line {line}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\n\n  <!-- APPENDIX_START -->\nkeep\n", 3, 3, "'<!-- APPENDIX_START -->' region is never closed (expected '<!-- APPENDIX_END -->')")]
    [InlineData("a\n<!-- SLOW_UPDATE_END -->\n", 2, 1, "'<!-- SLOW_UPDATE_END -->' closes a region that was never opened")]
    [InlineData("<!-- APPENDIX_START -->\n<!-- SLOW_UPDATE_START -->\n<!-- SLOW_UPDATE_END -->\n<!-- APPENDIX_END -->\n", 2, 1, "regions cannot nest")]
    [InlineData("<!-- skillopt:slow-update -->\nx\n<!-- SLOW_UPDATE_END -->\n", 3, 1, "expected '<!-- /skillopt:slow-update -->'")]
    [InlineData("<!-- SLOW_UPDATE_START -->\nx\n<!-- APPENDIX_END -->\n", 3, 1, "expected '<!-- SLOW_UPDATE_END -->'")]
    [InlineData("<!-- skillopt:slow-update -->\n<!-- /skillopt:slow-update -->\n\n<!-- SLOW_UPDATE_START -->\n<!-- SLOW_UPDATE_END -->\n", 4, 1, "second slow-update block")]
    public void MalformedReferenceMarkers_ThrowWithLineAndColumn(string text, int line, int column, string message)
    {
        var ex = Assert.Throws<SkillFormatException>(() => SkillDocument.Parse(text));

        Assert.Equal(line, ex.Line);
        Assert.Equal(column, ex.Column);
        Assert.Contains(message, ex.Detail, StringComparison.Ordinal);
        Assert.Equal($"Line {line}: {ex.Detail}", ex.Message);
    }

    [Fact]
    public void ReferenceMarkers_AreRegions_WithTheirKindAndSyntax()
    {
        const string text = "# T\n\nRule.\n<!-- SLOW_UPDATE_START -->\nGuidance.\n<!-- SLOW_UPDATE_END -->\n\n<!-- APPENDIX_START -->\nA\n<!-- APPENDIX_END -->\n\n<!-- skillopt:protected -->\nP\n<!-- /skillopt:protected -->\n";
        var doc = SkillDocument.Parse(text);

        Assert.Equal(
            [("slow-update", RegionMarkerSyntax.Reference, 4, 6), ("appendix", RegionMarkerSyntax.Reference, 8, 10), ("protected", RegionMarkerSyntax.SkillOpt, 12, 14)],
            doc.ProtectedRegions.Select(r => (r.Kind, r.Syntax, r.Line, r.EndLine)));
        Assert.Equal("Guidance.", doc.SlowUpdateGuidance);
        Assert.True(doc.Blocks.Single(b => b.Text == "A").IsProtected);
        Assert.False(doc.Blocks.Single(b => b.Text == "Rule.").IsProtected);
    }

    [Fact]
    public void ReferenceMarkers_InCode_OrNotExact_AreNotMarkers()
    {
        var doc = SkillDocument.Parse("```\n<!-- SLOW_UPDATE_START -->\n```\n\n<!--SLOW_UPDATE_END-->\n\n<!-- slow_update_start -->\n");

        Assert.Empty(doc.ProtectedRegions);
    }

    [Fact]
    public void TheReferencesTrainedSkills_ParseWithTheirSlowUpdateBlockProtected()
    {
        Assert.Equal(6, ReferenceFixtures.TrainedSkills.Count);
        foreach (var (name, text) in ReferenceFixtures.TrainedSkills)
        {
            var doc = SkillDocument.Parse(text);
            var region = Assert.Single(doc.ProtectedRegions);
            Assert.Equal((ProtectedRegion.SlowUpdateKind, RegionMarkerSyntax.Reference), (region.Kind, region.Syntax));
            Assert.True(doc.Blocks.Where(b => b.Start >= region.Start).All(b => b.IsProtected), name);
            Assert.Equal(text, doc.Render());
        }
    }

    [Fact]
    public void WithSlowUpdateGuidance_WritesIntoTheReferencesBlock_NeverASecondOne()
    {
        var doc = SkillDocument.Parse(ReferenceFixtures.TrainedSkills["docvqa"]);
        Assert.Equal("", doc.SlowUpdateGuidance);

        var updated = doc.WithSlowUpdateGuidance("Check the page number.\n<!-- SLOW_UPDATE_END -->\nThen answer.");

        Assert.Equal(
            doc.Text.Replace("<!-- SLOW_UPDATE_START -->\n", "<!-- SLOW_UPDATE_START -->\nCheck the page number.\n\nThen answer.\n", StringComparison.Ordinal),
            updated.Text);
        Assert.Equal("Check the page number.\n\nThen answer.", updated.SlowUpdateGuidance);
        Assert.Single(updated.ProtectedRegions);
        Assert.Equal(RegionMarkerSyntax.Reference, updated.SlowUpdateRegion!.Syntax);
    }

    [Fact]
    public void WithReferenceSlowUpdateGuidance_IsTheReferencesReplace()
    {
        // Expected texts are the reference's replace_slow_update_field / inject_empty_slow_update_field outputs.
        const string withAppendix = "# T\n\nRule.\n\n<!-- SLOW_UPDATE_START -->\nold\n<!-- SLOW_UPDATE_END -->\n\n<!-- APPENDIX_START -->\nA\n<!-- APPENDIX_END -->\n";
        Assert.Equal(
            "# T\n\nRule.\n\n<!-- APPENDIX_START -->\nA\n<!-- APPENDIX_END -->\n\n<!-- SLOW_UPDATE_START -->\nnew advice\n<!-- SLOW_UPDATE_END -->\n",
            SkillDocument.Parse(withAppendix).WithReferenceSlowUpdateGuidance("  new advice\n").Text);

        const string bare = "# T\n\n\n\nRule.   \n";
        Assert.Equal("# T\n\nRule.\n\n<!-- SLOW_UPDATE_START -->\ng\n<!-- SLOW_UPDATE_END -->\n", SkillDocument.Parse(bare).WithReferenceSlowUpdateGuidance("g").Text);
        Assert.Equal("# T\n\n\n\nRule.\n\n<!-- SLOW_UPDATE_START -->\n<!-- SLOW_UPDATE_END -->\n", SkillDocument.Parse(bare).WithReferenceSlowUpdatePlaceholder().Text);

        const string empty = "# T\n\nRule.\n<!-- SLOW_UPDATE_START -->\n<!-- SLOW_UPDATE_END -->";
        var emptyDoc = SkillDocument.Parse(empty);
        Assert.Same(emptyDoc, emptyDoc.WithReferenceSlowUpdatePlaceholder());
        Assert.Equal("# T\n\nRule.\n\n<!-- SLOW_UPDATE_START -->\n\n<!-- SLOW_UPDATE_END -->\n", emptyDoc.WithReferenceSlowUpdateGuidance("").Text);

        // A block with our markers is written in place (the reference would not see it and would add a second one).
        var ours = SkillDocument.Parse("x\n\n<!-- skillopt:slow-update -->\nold\n<!-- /skillopt:slow-update -->\n");
        Assert.Equal("x\n\n<!-- skillopt:slow-update -->\nnew\n<!-- /skillopt:slow-update -->\n", ours.WithReferenceSlowUpdateGuidance("new").Text);
        Assert.Same(ours, ours.WithReferenceSlowUpdatePlaceholder());
    }

    [Fact]
    public void Hash_IsLowercaseSha256OfUtf8_AndShortHashIsItsPrefix()
    {
        var doc = SkillDocument.Parse("abc");

        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", doc.Hash);
        Assert.Equal("ba7816bf8f01", doc.ShortHash);
        Assert.NotEqual(doc.Hash, SkillDocument.Parse("abc\n").Hash);
    }

    [Fact]
    public void WithSlowUpdateGuidance_AppendsBlockAfterBlankLine_WhenAbsent()
    {
        var doc = SkillDocument.Parse("# T\n\n- rule\n\n");

        var updated = doc.WithSlowUpdateGuidance("Prefer formulas.\r\nCheck units.\n");

        Assert.Equal("# T\n\n- rule\n\n<!-- skillopt:slow-update -->\nPrefer formulas.\nCheck units.\n<!-- /skillopt:slow-update -->\n", updated.Text);
        Assert.Equal("Prefer formulas.\nCheck units.", updated.SlowUpdateGuidance);
        Assert.Single(updated.ProtectedRegions);
        Assert.Null(doc.SlowUpdateGuidance);
    }

    [Fact]
    public void WithSlowUpdateGuidance_ReplacesOnlyTheInnerText_WhenPresent()
    {
        const string text = "Intro\r\n\r\n<!-- skillopt:slow-update -->\r\nold advice\r\nmore old\r\n<!-- /skillopt:slow-update -->\r\n\r\n- tail item\r\n";
        var doc = SkillDocument.Parse(text);

        var updated = doc.WithSlowUpdateGuidance("new advice\nsecond");

        Assert.Equal("Intro\r\n\r\n<!-- skillopt:slow-update -->\r\nnew advice\r\nsecond\r\n<!-- /skillopt:slow-update -->\r\n\r\n- tail item\r\n", updated.Text);
        Assert.Equal("new advice\r\nsecond", updated.SlowUpdateGuidance);

        var emptied = updated.WithSlowUpdateGuidance("");
        Assert.Equal("", emptied.SlowUpdateGuidance);
        Assert.Equal("Intro\r\n\r\n<!-- skillopt:slow-update -->\r\n<!-- /skillopt:slow-update -->\r\n\r\n- tail item\r\n", emptied.Text);
    }

    [Fact]
    public void WithSlowUpdateGuidance_RefusesForgedMarkers()
    {
        var doc = SkillDocument.Parse("x\n");

        Assert.Throws<ArgumentException>(() => doc.WithSlowUpdateGuidance("ok\n<!-- /skillopt:slow-update -->\nescape"));
        Assert.Throws<ArgumentNullException>(() => doc.WithSlowUpdateGuidance(null!));
    }

    [Fact]
    public void WithSlowUpdateGuidance_OnDocumentWithoutFinalNewline_AddsNone()
    {
        var updated = SkillDocument.Parse("text").WithSlowUpdateGuidance("g");

        Assert.Equal("text\n\n<!-- skillopt:slow-update -->\ng\n<!-- /skillopt:slow-update -->", updated.Text);
    }

    [Fact]
    public void Parse_RejectsNull()
    {
        Assert.Throws<ArgumentNullException>(() => SkillDocument.Parse(null!));
    }
}
