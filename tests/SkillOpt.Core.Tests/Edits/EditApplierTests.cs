// Longer than 400 lines: one test class per rule would scatter the shared skill fixtures; cases follow the rules of EditApplier in order.
using SkillOpt.Core.Edits;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Tests.Edits;

public sealed class EditApplierTests
{
    private const string Skill =
        "# Spreadsheet skill\n" +
        "\n" +
        "Read the whole sheet before answering.\n" +
        "\n" +
        "## Rules\n" +
        "\n" +
        "- Always cite the cell range you used.\n" +
        "- Never guess a number; compute it from the sheet.\n" +
        "\n" +
        "<!-- skillopt:protected -->\n" +
        "Answer in the format the task asks for.\n" +
        "<!-- /skillopt:protected -->\n" +
        "\n" +
        "## Output\n" +
        "\n" +
        "Give the final answer on the last line.\n";

    private static readonly EditApplier Default = new();

    private static EditApplyResult Apply(string text, params SkillEdit[] edits) => Default.Apply(SkillDocument.Parse(text), edits);

    private static EditApplyResult Apply(EditApplierOptions options, string text, params SkillEdit[] edits) =>
        new EditApplier(options).Apply(SkillDocument.Parse(text), edits);

    private static SkillEdit Insert(string target, string content) => new(EditOperation.InsertAfter, target, content);

    private static SkillEdit Replace(string target, string content) => new(EditOperation.Replace, target, content);

    private static SkillEdit Delete(string target) => new(EditOperation.Delete, target, null);

    private static SkillEdit Append(string content) => new(EditOperation.Append, null, content);

    private static RejectedEdit SingleRejection(EditApplyResult result, EditRejectionReason reason)
    {
        Assert.Empty(result.Applied);
        var rejected = Assert.Single(result.Rejected);
        Assert.Equal(reason, rejected.Reason);
        Assert.False(result.Changed);
        Assert.Equal(result.Original.Text, result.Result.Text);
        return rejected;
    }

    [Fact]
    public void InsertAfter_PutsContentOnANewLineAfterTheAnchorsLine()
    {
        var result = Apply(Skill, Insert("cite the cell range", "- State the sheet name too."));

        Assert.Contains("- Always cite the cell range you used.\n- State the sheet name too.\n- Never guess", result.Result.Text, StringComparison.Ordinal);
        var applied = Assert.Single(result.Applied);
        Assert.Equal("exact match", applied.Note);
        Assert.Equal(0, applied.Index);
        Assert.True(result.Changed);
        Assert.Contains(result.Result.Blocks, b => b.Kind == SkillBlockKind.ListItem && b.Text == "- State the sheet name too.");
    }

    [Fact]
    public void Append_AfterAListItem_UsesOneLineBreak_ElseABlankLine()
    {
        var list = Apply("# T\n\n- one\n- two\n", Append("- three"));
        Assert.Equal("# T\n\n- one\n- two\n- three\n", list.Result.Text);
        Assert.Equal("appended", Assert.Single(list.Applied).Note);

        var paragraphAfterList = Apply("# T\n\n- one\n", Append("A closing paragraph."));
        Assert.Equal("# T\n\n- one\n\nA closing paragraph.\n", paragraphAfterList.Result.Text);

        var afterParagraph = Apply("Intro.\n\n\n", Append("- first rule"));
        Assert.Equal("Intro.\n\n- first rule\n", afterParagraph.Result.Text);

        var noFinalNewline = Apply("Intro.", Append("More."));
        Assert.Equal("Intro.\n\nMore.", noFinalNewline.Result.Text);
    }

    [Fact]
    public void Append_GoesBeforeTheProtectedRegionsThatEndTheSkill()
    {
        const string text = "- rule\n\n<!-- skillopt:slow-update -->\nguidance\n<!-- /skillopt:slow-update -->\n";
        var result = Apply(text, Append("- another rule"));

        Assert.Equal("- rule\n- another rule\n\n<!-- skillopt:slow-update -->\nguidance\n<!-- /skillopt:slow-update -->\n", result.Result.Text);
        Assert.Equal("guidance", result.Result.SlowUpdateGuidance);
        Assert.Equal("applied_append_before_protected_region", Assert.Single(result.Applied).Status);

        // The reference's markers, two trailing regions, CRLF and a paragraph: before the first of them, a blank line each side.
        const string reference = "Rule.\r\n\r\n\r\n<!-- SLOW_UPDATE_START -->\r\nG\r\n<!-- SLOW_UPDATE_END -->\r\n\r\n<!-- APPENDIX_START -->\r\nA\r\n<!-- APPENDIX_END -->";
        var both = Apply(reference, Append("New paragraph."));
        Assert.Equal("Rule.\r\n\r\nNew paragraph.\r\n\r\n<!-- SLOW_UPDATE_START -->\r\nG\r\n<!-- SLOW_UPDATE_END -->\r\n\r\n<!-- APPENDIX_START -->\r\nA\r\n<!-- APPENDIX_END -->", both.Result.Text);

        // Only regions: the content comes first.
        var onlyRegion = Apply("<!-- skillopt:protected -->\nx\n<!-- /skillopt:protected -->\n", Append("Intro."));
        Assert.Equal("Intro.\n\n<!-- skillopt:protected -->\nx\n<!-- /skillopt:protected -->\n", onlyRegion.Result.Text);
    }

    [Fact]
    public void Append_AfterTheLastBlock_WhenNoRegionEndsTheSkill()
    {
        var result = Apply(Skill, Append("- Check the totals."));

        Assert.EndsWith("Give the final answer on the last line.\n\n- Check the totals.\n", result.Result.Text, StringComparison.Ordinal);
        Assert.Equal("applied_append", Assert.Single(result.Applied).Status);
    }

    [Fact]
    public void InsertAfter_AHeadingDirectlyFollowedByText_DoesNotMergeTheTextIntoTheInsertedItem()
    {
        // Without a blank line, "Always check units." would be a lazy continuation of the new list item (CommonMark).
        var result = Apply("## Rules\nAlways check units.\n", Insert("## Rules", "- Show the formula."));

        Assert.Equal("## Rules\n- Show the formula.\n\nAlways check units.\n", result.Result.Text);
        Assert.Equal(
            [(SkillBlockKind.Heading, "## Rules"), (SkillBlockKind.ListItem, "- Show the formula."), (SkillBlockKind.Paragraph, "Always check units.")],
            result.Result.Blocks.Select(b => (b.Kind, b.Text)));
    }

    [Fact]
    public void InsertAfter_KeepsTheBlockStructureAroundTheContent()
    {
        // Plain text after a paragraph's last line would continue that paragraph; "---" would make it a setext heading.
        var paragraph = Apply("Intro line.\n\n# Next\n", Insert("Intro line.", "Second paragraph."));
        Assert.Equal("Intro line.\n\nSecond paragraph.\n\n# Next\n", paragraph.Result.Text);
        var rule = Apply("Intro line.\n", Insert("Intro line.", "---"));
        Assert.Equal(SkillBlockKind.ThematicBreak, rule.Result.Blocks[^1].Kind);

        // A list item after a list item and a nested item stay in the list, without blank lines.
        var item = Apply(Skill, Insert("cite the cell range", "- State the sheet name too."));
        Assert.Contains("- Always cite the cell range you used.\n- State the sheet name too.\n- Never guess", item.Result.Text, StringComparison.Ordinal);
        var nested = Apply(Skill, Insert("cite the cell range", "  - Including the sheet name."));
        Assert.Contains("- Always cite the cell range you used.\n  - Including the sheet name.\n- Never guess", nested.Result.Text, StringComparison.Ordinal);

        // A heading inserted after a heading needs nothing either.
        var heading = Apply("# A\nText.\n", Insert("# A", "## B"));
        Assert.Equal("# A\n## B\nText.\n", heading.Result.Text);
    }

    [Fact]
    public void ReferenceMarkers_AreProtected_AndCannotBeForged()
    {
        const string text = "# Skill\n\n- rule\n\n<!-- SLOW_UPDATE_START -->\nOld guidance.\n<!-- SLOW_UPDATE_END -->\n\n<!-- APPENDIX_START -->\nAppendix.\n<!-- APPENDIX_END -->\n";

        SingleRejection(Apply(text, Replace("Old guidance.", "New.")), EditRejectionReason.ProtectedRegion);
        SingleRejection(Apply(text, Delete("Appendix.")), EditRejectionReason.ProtectedRegion);
        SingleRejection(Apply(text, Insert("<!-- SLOW_UPDATE_END -->", "x")), EditRejectionReason.ProtectedRegion);
        var forged = SingleRejection(Apply(text, Append("<!-- APPENDIX_END -->\nFree text")), EditRejectionReason.ForgedMarker);
        Assert.Equal("skipped_forged_marker", forged.Status);
    }

    [Fact]
    public void Statuses_UseTheReferenceVocabulary()
    {
        var result = Apply(Skill, Insert("## Output", "- Units."), Replace("sheet", "workbook"), Delete("Read the whole sheet before answering."));

        Assert.Equal(["applied_insert_after", "applied_delete"], result.Applied.Select(a => a.Status));
        Assert.Equal("skipped_anchor_ambiguous", Assert.Single(result.Rejected).Status);
    }

    [Fact]
    public void Replace_ReplacesTheMatchedSpan()
    {
        var result = Apply(Skill, Replace("Never guess a number", "Never estimate a value"));

        Assert.Contains("- Never estimate a value; compute it from the sheet.\n", result.Result.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("guess", result.Result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Delete_RemovesTheWholeLineWhenItBecomesBlank()
    {
        var result = Apply(Skill, Delete("- Never guess a number; compute it from the sheet."));

        Assert.Contains("- Always cite the cell range you used.\n\n<!-- skillopt:protected -->", result.Result.Text, StringComparison.Ordinal);
        Assert.Equal(Skill.Split('\n').Length - 1, result.Result.Text.Split('\n').Length);
    }

    [Fact]
    public void Delete_OfPartOfALine_KeepsTheLine()
    {
        var result = Apply(Skill, Delete("; compute it from the sheet"));

        Assert.Contains("- Never guess a number.\n", result.Result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Delete_DoesNotLeaveDoubleBlankLines()
    {
        var result = Apply("Para one.\n\nMiddle paragraph.\n\nPara two.\n", Delete("Middle paragraph."));

        Assert.Equal("Para one.\n\nPara two.\n", result.Result.Text);
    }

    [Fact]
    public void Edits_ApplyInOrderToTheRunningText()
    {
        var result = Apply(
            Skill,
            Insert("## Output", "Mention the units of every number."),
            Replace("Mention the units of every number.", "Mention the unit of every number."));

        Assert.Equal(2, result.Applied.Count);
        Assert.Contains("## Output\nMention the unit of every number.\n", result.Result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Anchor_MatchesIgnoringWhitespaceWhenNoExactMatch()
    {
        var result = Apply(Skill, Replace("Read  the whole\nsheet", "Scan the whole sheet"));

        Assert.Equal("whitespace-insensitive match", Assert.Single(result.Applied).Note);
        Assert.Contains("Scan the whole sheet before answering.", result.Result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Anchor_Ambiguous_IsRejectedWithTheLines()
    {
        var result = Apply(Skill, Replace("sheet", "workbook"));

        var rejected = SingleRejection(result, EditRejectionReason.AnchorAmbiguous);
        Assert.Contains("anchor matches 3 places (lines 1, 3, 8)", rejected.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Anchor_AmbiguousOnlyIgnoringWhitespace_IsAlsoRejected()
    {
        var result = Apply("a  b\n\na\tb\n", Delete("a b"));

        var rejected = SingleRejection(result, EditRejectionReason.AnchorAmbiguous);
        Assert.Contains("lines 1, 3", rejected.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(EditOperation.InsertAfter)]
    [InlineData(EditOperation.Replace)]
    [InlineData(EditOperation.Delete)]
    public void Anchor_Missing_IsRejected_NeverAppended(object operation)
    {
        var op = (EditOperation)operation; // object: the Core types are internal, a public test method cannot take them
        var result = Apply(Skill, new SkillEdit(op, "This sentence is not in the skill.", "- New rule."));

        var rejected = SingleRejection(result, EditRejectionReason.AnchorNotFound);
        Assert.Contains("This sentence is not in the skill.", rejected.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("New rule", result.Result.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(EditOperation.InsertAfter)]
    [InlineData(EditOperation.Replace)]
    [InlineData(EditOperation.Delete)]
    public void ProtectedRegion_RefusesAnchorsInside(object operation)
    {
        var op = (EditOperation)operation; // object: the Core types are internal, a public test method cannot take them
        var result = Apply(Skill, new SkillEdit(op, "Answer in the format the task asks for.", "- Use JSON."));

        var rejected = SingleRejection(result, EditRejectionReason.ProtectedRegion);
        Assert.Contains("protected region (lines 10–12)", rejected.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ProtectedRegion_RefusesAnchorsOverlappingAMarker()
    {
        var result = Apply(Skill, Delete("from the sheet.\n\n<!-- skillopt:protected"));

        SingleRejection(result, EditRejectionReason.ProtectedRegion);
    }

    [Fact]
    public void ProtectedRegion_AllowsInsertingRightBeforeIt_ButNotAnchoredOnAMarker()
    {
        var result = Apply(
            Skill,
            Insert("compute it from the sheet.", "- Round to two decimals."),
            Insert("<!-- /skillopt:protected -->", "Extra."));

        // The first edit lands just before the region; the second anchors on the closing marker and is refused.
        Assert.Single(result.Applied);
        Assert.Contains("from the sheet.\n- Round to two decimals.\n\n<!-- skillopt:protected -->", result.Result.Text, StringComparison.Ordinal);
        Assert.Equal(EditRejectionReason.ProtectedRegion, Assert.Single(result.Rejected).Reason);
        Assert.Equal(
            SkillDocument.Parse(Skill).ProtectedRegions.Select(r => Skill.Substring(r.Start, r.Length)),
            result.Result.ProtectedRegions.Select(r => result.Result.Text.Substring(r.Start, r.Length)));
    }

    [Fact]
    public void ProtectedRegion_RefusesContentThatWouldHideMarkers()
    {
        // An unclosed code fence before the region would turn its markers into code.
        var result = Apply(Skill, Insert("## Rules", "```text"));

        var rejected = SingleRejection(result, EditRejectionReason.ProtectedRegion);
        Assert.Contains("protected", rejected.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(EditOperation.Append)]
    [InlineData(EditOperation.InsertAfter)]
    [InlineData(EditOperation.Replace)]
    public void ForgedMarkers_InContent_AreRefused(object operation)
    {
        var op = (EditOperation)operation; // object: the Core types are internal, a public test method cannot take them
        var result = Apply(Skill, new SkillEdit(op, "## Output", "<!-- /skillopt:protected -->\nNew free text"));

        SingleRejection(result, EditRejectionReason.ForgedMarker);
    }

    [Fact]
    public void ExposingAnExampleMarkerPair_IsRefusedAsForged()
    {
        const string text = "Example:\n\n```md\n<!-- skillopt:protected -->\nx\n<!-- /skillopt:protected -->\n```\n";
        var result = Apply(text, Delete("```md"));

        SingleRejection(result, EditRejectionReason.ForgedMarker);
    }

    [Fact]
    public void Duplicate_NearCopiesOfExistingBlocks_AreNotAdded()
    {
        // Punctuation/case variant of an existing rule.
        var exact = Apply(Skill, Append("- ALWAYS cite the cell range you used"));
        var rejected = SingleRejection(exact, EditRejectionReason.Duplicate);
        Assert.Contains("li-", rejected.Detail, StringComparison.Ordinal);

        // One word changed in a 15-word rule: Jaccard 14/16 = 0.875 >= 0.85.
        const string rule = "- When a cell is empty treat it as zero unless the task says otherwise explicitly.";
        var near = Apply(rule + "\n", Insert("otherwise explicitly.", "- When a cell is blank treat it as zero unless the task says otherwise explicitly."));
        Assert.Contains("similarity 0.88", SingleRejection(near, EditRejectionReason.Duplicate).Detail, StringComparison.Ordinal);

        // Two words changed: 13/17 = 0.76 < 0.85 is new enough.
        var different = Apply(rule + "\n", Insert("otherwise explicitly.", "- When a cell is blank treat it as one unless the task says otherwise explicitly."));
        Assert.Single(different.Applied);

        // Contained verbatim after normalisation.
        var contained = Apply(Skill, Insert("## Output", "never GUESS a number"));
        Assert.Contains("already contained", SingleRejection(contained, EditRejectionReason.Duplicate).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_DoesNotFlagGenuinelyNewContent()
    {
        var result = Apply(Skill, Append("- Check that totals add up before answering."));

        Assert.Single(result.Applied);
    }

    [Fact]
    public void Duplicate_ForReplace_IgnoresTheReplacedSpan()
    {
        var result = Apply(Skill, Replace("- Always cite the cell range you used.", "- Always cite the exact cell range you used."));

        Assert.Single(result.Applied);
        Assert.Contains("- Always cite the exact cell range you used.\n", result.Result.Text, StringComparison.Ordinal);

        var intoCopy = Apply(Skill, Replace("- Always cite the cell range you used.", "- Never guess a number, compute it from the sheet"));
        SingleRejection(intoCopy, EditRejectionReason.Duplicate);
    }

    [Fact]
    public void Duplicate_CheckCanBeDisabled()
    {
        var options = new EditApplierOptions { DuplicateSimilarity = 1.01 };

        var result = Apply(options, Skill, Append("- Always cite the cell range you used."));

        Assert.Single(result.Applied);
    }

    [Fact]
    public void Duplicate_WithinOneEditSet_IsCaught()
    {
        var result = Apply(Skill, Append("- Check totals twice."), Append("- check totals twice"));

        Assert.Single(result.Applied);
        Assert.Equal(1, Assert.Single(result.Rejected).Index);
    }

    [Fact]
    public void TokenBudget_RejectsTheWholeSet_WhenTheResultGrowsOverIt()
    {
        var doc = SkillDocument.Parse(Skill);
        var before = ApproximateTokenCounter.Instance.CountTokens(Skill);
        var options = new EditApplierOptions { TokenBudget = before + 10 };
        var edits = new[]
        {
            Append("- First new rule, reasonably long."),
            Delete("Not in the skill at all."),
            Insert("## Output", "Second new rule, also fairly long."),
        };

        var result = new EditApplier(options).Apply(doc, edits);

        Assert.Empty(result.Applied);
        Assert.Equal(new[] { 0, 1, 2 }, result.Rejected.Select(r => r.Index));
        Assert.Equal(
            new[] { EditRejectionReason.OverTokenBudget, EditRejectionReason.AnchorNotFound, EditRejectionReason.OverTokenBudget },
            result.Rejected.Select(r => r.Reason));
        Assert.Same(doc, result.Result);
        Assert.False(result.Changed);
        Assert.Equal(before, result.TokensBefore);
        Assert.Equal(before, result.TokensAfter);
        Assert.Contains($"from {before} to ", result.Rejected[0].Detail, StringComparison.Ordinal);
        Assert.Contains($"budget of {before + 10} tokens", result.Rejected[0].Detail, StringComparison.Ordinal);

        // Each edit alone fits.
        Assert.Single(new EditApplier(options).Apply(doc, [edits[0]]).Applied);
    }

    [Fact]
    public void TokenBudget_AllowsShrinkingAnOverBudgetSkill_AndZeroIsUnlimited()
    {
        var options = new EditApplierOptions { TokenBudget = 5 };
        var shrink = Apply(options, Skill, Delete("Read the whole sheet before answering."));
        Assert.Single(shrink.Applied);
        Assert.True(shrink.TokensAfter < shrink.TokensBefore);

        var unlimited = Apply(new EditApplierOptions { TokenBudget = 0 }, Skill, Append(new string('x', 20_000)));
        Assert.Single(unlimited.Applied);
        Assert.True(unlimited.TokensAfter > 5_000);
    }

    [Fact]
    public void Classic_FirstOccurrenceWins_AndMissingInsertAnchorAppends()
    {
        var options = new EditApplierOptions { ClassicMatching = true };

        var ambiguous = Apply(options, Skill, Replace("sheet", "workbook"));
        Assert.Equal("applied_replace", Assert.Single(ambiguous.Applied).Status);
        Assert.StartsWith("# Spreadworkbook skill\n", ambiguous.Result.Text, StringComparison.Ordinal);
        Assert.Contains("Read the whole sheet before answering.", ambiguous.Result.Text, StringComparison.Ordinal);

        var missing = Apply(options, Skill, Insert("No such anchor", "Fallback text."));
        Assert.Equal("applied_insert_after_fallback_append", Assert.Single(missing.Applied).Status);
        Assert.EndsWith("last line.\n\nFallback text.\n", missing.Result.Text, StringComparison.Ordinal);

        var duplicate = Apply(options, Skill, Append("- Always cite the cell range you used."));
        Assert.Single(duplicate.Applied);

        var stillProtected = Apply(options, Skill, Delete("Answer in the format"));
        SingleRejection(stillProtected, EditRejectionReason.ProtectedRegion);
    }

    [Fact]
    public void Classic_MissingReplaceAnchor_IsStillRejected()
    {
        var result = Apply(new EditApplierOptions { ClassicMatching = true }, Skill, Replace("No such anchor", "x"));

        SingleRejection(result, EditRejectionReason.AnchorNotFound);
    }

    [Theory]
    [InlineData(EditOperation.InsertAfter, null, "c", EditRejectionReason.MissingTarget)]
    [InlineData(EditOperation.Replace, "  ", "c", EditRejectionReason.MissingTarget)]
    [InlineData(EditOperation.Delete, "", null, EditRejectionReason.MissingTarget)]
    [InlineData(EditOperation.Append, null, null, EditRejectionReason.MissingContent)]
    [InlineData(EditOperation.InsertAfter, "## Rules", "", EditRejectionReason.MissingContent)]
    [InlineData(EditOperation.Replace, "## Rules", " \n ", EditRejectionReason.MissingContent)]
    public void RequiredFields_AreChecked(object operation, string? target, string? content, object rejection)
    {
        var (op, reason) = ((EditOperation)operation, (EditRejectionReason)rejection); // object: the Core types are internal, a public test method cannot take them
        SingleRejection(Apply(Skill, new SkillEdit(op, target, content)), reason);
    }

    [Fact]
    public void NoChange_IsReported()
    {
        var result = Apply(Skill, Replace("## Output", "## Output"));

        SingleRejection(result, EditRejectionReason.NoChange);
    }

    [Fact]
    public void CrlfDocuments_GetCrlfInsertions()
    {
        var crlf = Skill.Replace("\n", "\r\n", StringComparison.Ordinal);

        var result = Apply(crlf, Insert("## Output", "Line one.\nLine two."), Append("- tail"));

        Assert.Equal(2, result.Applied.Count);
        Assert.Contains("## Output\r\nLine one.\r\nLine two.\r\n", result.Result.Text, StringComparison.Ordinal);
        Assert.EndsWith("last line.\r\n\r\n- tail\r\n", result.Result.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", result.Result.Text.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Options_ValidateTheirValues()
    {
        var options = new EditApplierOptions();

        Assert.Equal(2000, options.TokenBudget);
        Assert.Equal(0.85, options.DuplicateSimilarity);
        Assert.False(options.ClassicMatching);
        Assert.Same(ApproximateTokenCounter.Instance, options.TokenCounter);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.TokenBudget = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.DuplicateSimilarity = double.NaN);
        Assert.Throws<ArgumentNullException>(() => options.TokenCounter = null!);
    }

    [Fact]
    public void Apply_UsesTheConfiguredTokenCounter()
    {
        var options = new EditApplierOptions { TokenCounter = new WordCounter(), TokenBudget = 0 };

        var result = Apply(options, "one two three\n", Append("four"));

        Assert.Equal(3, result.TokensBefore);
        Assert.Equal(4, result.TokensAfter);
    }

    private sealed class WordCounter : ITokenCounter
    {
        public int CountTokens(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
    }
}
