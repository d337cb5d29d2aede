namespace SkillOpt.Build.Tests;

public class CanonicalDiagnosticTests
{
    [Fact]
    public void A_file_with_line_and_column()
    {
        var d = CanonicalDiagnostic.Parse("skills/math/skillopt.yaml(3,3): error SKOPT1001: unknown key 'epoch' in 'training' (did you mean 'epochs'?)")!;
        Assert.True(d.IsError);
        Assert.Equal("SKOPT1001", d.Code);
        Assert.Equal("skills/math/skillopt.yaml", d.File);
        Assert.Equal(3, d.LineNumber);
        Assert.Equal(3, d.ColumnNumber);
        Assert.Equal("unknown key 'epoch' in 'training' (did you mean 'epochs'?)", d.Message);
    }

    [Fact]
    public void A_file_without_a_location()
    {
        var d = CanonicalDiagnostic.Parse("/work/bin/Release/net10.0/MathSkills.Verifiers.dll : error SKOPT2004: the verifier declares several skills (math, code); pass --skill")!;
        Assert.Equal("/work/bin/Release/net10.0/MathSkills.Verifiers.dll", d.File);
        Assert.Equal(0, d.LineNumber);
        Assert.Equal(0, d.ColumnNumber);
        Assert.Equal("SKOPT2004", d.Code);
        Assert.Equal("the verifier declares several skills (math, code); pass --skill", d.Message);
    }

    [Fact]
    public void The_tool_as_origin_has_no_file()
    {
        var d = CanonicalDiagnostic.Parse("skillopt : warning SKOPT2101: a verifier process crashed (exit code 134); 2 of its 2 tasks are Errored and the run goes on: boom (see /r/p01/output.log)")!;
        Assert.False(d.IsError);
        Assert.Null(d.File);
        Assert.Equal("skillopt", d.Origin);
        Assert.Equal("SKOPT2101", d.Code);
        Assert.EndsWith("(see /r/p01/output.log)", d.Message);
    }

    [Theory]
    [InlineData(@"C:\work\skills\math\skillopt.yaml(12,7): error SKOPT1002: invalid value", @"C:\work\skills\math\skillopt.yaml", 12, 7, 0, 0)]
    [InlineData("rules.yaml(0,0): error SKOPT2201: the scripted model's rules file does not exist", "rules.yaml", 0, 0, 0, 0)]
    [InlineData("a.cs(5): error CS1002: ; expected", "a.cs", 5, 0, 0, 0)]
    [InlineData("a.cs(5,2-9): warning CS0168: unused", "a.cs", 5, 2, 0, 9)]
    [InlineData("a.cs(5,2,6,4): error CS1002: ; expected", "a.cs", 5, 2, 6, 4)]
    [InlineData("dir with space/a file.yaml(2,1) : error SKOPT1003: malformed YAML", "dir with space/a file.yaml", 2, 1, 0, 0)]
    public void Locations(string line, string file, int l, int c, int el, int ec)
    {
        var d = CanonicalDiagnostic.Parse(line)!;
        Assert.Equal(file, d.File);
        Assert.Equal((l, c, el, ec), (d.LineNumber, d.ColumnNumber, d.EndLineNumber, d.EndColumnNumber));
    }

    [Fact]
    public void A_subcategory_and_any_case()
    {
        var d = CanonicalDiagnostic.Parse("x.cs(1,2): Compiler ERROR CS0001: text")!;
        Assert.True(d.IsError);
        Assert.Equal("CS0001", d.Code);
        Assert.Equal("x.cs", d.File);
    }

    [Fact]
    public void The_text_may_contain_colons_and_diagnostic_like_words()
    {
        var d = CanonicalDiagnostic.Parse("skillopt : error SKOPT2006: too many errors: 5 of 8 rollouts Errored: error SKOPT9999: nested")!;
        Assert.Equal("SKOPT2006", d.Code);
        Assert.Equal("too many errors: 5 of 8 rollouts Errored: error SKOPT9999: nested", d.Message);
    }

    [Theory]
    [InlineData("skillopt: [epoch 1 step 1/4] rollout: 14/24 passed, mean 0.583, 0 errored")]
    [InlineData("skillopt: baseline: validation 0.455 on 22 tasks (0 errored)")]
    [InlineData("Unhandled exception. System.InvalidOperationException: boom")]
    [InlineData("   at SkillOpt.Trainer.Program.Main(String[] args)")]
    [InlineData("error: something without a code")]
    [InlineData("")]
    [InlineData(null)]
    public void Other_lines_are_not_diagnostics(string? line) => Assert.Null(CanonicalDiagnostic.Parse(line));

    [Fact]
    public void Round_trips_through_ToString()
    {
        var d = CanonicalDiagnostic.Parse("f.yaml(3,4): warning SKOPT1001: text")!;
        Assert.Equal("f.yaml(3,4) : warning SKOPT1001: text", d.ToString());
        Assert.Equal("f.yaml(3,4) : warning SKOPT1001: text", CanonicalDiagnostic.Parse(d.ToString())!.ToString());
    }
}
