using System.Text.Json;
using SkillOpt.Core.Edits;

namespace SkillOpt.Core.Tests.Edits;

public sealed class SkillEditTests
{
    [Fact]
    public void Key_IsEqualForCaseWhitespaceAndPunctuationVariants()
    {
        var a = new SkillEdit(EditOperation.InsertAfter, "## Rules", "- Always cite the cell range.", "because");
        var b = new SkillEdit(EditOperation.InsertAfter, "##   rules ", "*   ALWAYS cite   the **cell range**\n", "different rationale");

        Assert.Equal(a.Key, b.Key);
        Assert.Matches("^[0-9a-f]{16}$", a.Key);
    }

    [Fact]
    public void Key_DiffersByOperationTargetAndContent()
    {
        var baseEdit = new SkillEdit(EditOperation.Replace, "Be brief.", "Be concise.");

        Assert.NotEqual(baseEdit.Key, (baseEdit with { Operation = EditOperation.InsertAfter }).Key);
        Assert.NotEqual(baseEdit.Key, (baseEdit with { Target = "Be short." }).Key);
        Assert.NotEqual(baseEdit.Key, (baseEdit with { Content = "Be precise." }).Key);
        Assert.NotEqual(
            new SkillEdit(EditOperation.Replace, "a b", null).Key,
            new SkillEdit(EditOperation.Replace, "a", "b").Key);
    }

    [Theory]
    [InlineData("append", EditOperation.Append)]
    [InlineData("insert_after", EditOperation.InsertAfter)]
    [InlineData("Insert-After", EditOperation.InsertAfter)]
    [InlineData("InsertAfter", EditOperation.InsertAfter)]
    [InlineData(" REPLACE ", EditOperation.Replace)]
    [InlineData("delete", EditOperation.Delete)]
    public void TryParseOperation_AcceptsWireNamesAndVariants(string name, object operation)
    {
        var expected = (EditOperation)operation; // object: the Core types are internal, a public test method cannot take them
        Assert.True(SkillEdit.TryParseOperation(name, out var op));
        Assert.Equal(expected, op);
    }

    [Theory]
    [InlineData("")]
    [InlineData("insert_before")]
    [InlineData("remove")]
    [InlineData(null)]
    public void TryParseOperation_RejectsUnknownNames(string? name)
    {
        Assert.False(SkillEdit.TryParseOperation(name!, out _));
    }

    [Fact]
    public void OperationName_GivesWireNames_AndRoundTrips()
    {
        Assert.Equal("append", SkillEdit.OperationName(EditOperation.Append));
        Assert.Equal("insert_after", SkillEdit.OperationName(EditOperation.InsertAfter));
        Assert.Equal("replace", SkillEdit.OperationName(EditOperation.Replace));
        Assert.Equal("delete", SkillEdit.OperationName(EditOperation.Delete));
        foreach (var op in Enum.GetValues<EditOperation>())
        {
            Assert.True(SkillEdit.TryParseOperation(SkillEdit.OperationName(op), out var parsed));
            Assert.Equal(op, parsed);
        }
    }

    [Fact]
    public void Json_UsesWireNames()
    {
        var json = JsonSerializer.Serialize(new SkillEdit(EditOperation.InsertAfter, "t", "c"));

        Assert.Contains("\"insert_after\"", json, StringComparison.Ordinal);
        Assert.Equal(EditOperation.Delete, JsonSerializer.Deserialize<EditOperation>("\"delete\""));
    }
}
