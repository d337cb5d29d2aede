using SkillOpt.Core.Configuration;
using SkillOpt.Testing.Verifiers;

namespace SkillOpt.Testing.Tests;

/// <summary>Stable task ids and splits: fixed algorithms whose expected values were computed independently (Python's hashlib).</summary>
public class SplitAndIdTests
{
    // id → (split under 0.6/0.2/0.2, split under 0.5/0.3/0.2); u = first 8 bytes of SHA-256("skillopt-split:" + id), top 53 bits / 2^53.
    public static TheoryData<string, string, string, double> KnownSplits => new()
    {
        { "math/GradeSchool.Solves/q-0001", "train", "train", 0.3241493758387053 },
        { "math/GradeSchool.Solves/q-0002", "test", "test", 0.8433522106616137 },
        { "math/GradeSchool.Solves/q-0003", "train", "val", 0.5780935652530313 },
        { "math/GradeSchool.Solves/q-0004", "test", "test", 0.8549400265790645 },
        { "math/GradeSchool.Solves/q-0005", "train", "train", 0.36236008359751304 },
        { "math/GradeSchool.Solves/q-0006", "val", "val", 0.7354964919506094 },
        { "math/GradeSchool.Solves/q-0007", "train", "train", 0.18146605123992499 },
        { "math/GradeSchool.Solves/q-0008", "val", "val", 0.6796602618760159 },
        { "math/Fractions.Adds", "val", "val", 0.7869612625595561 },
    };

    [Theory]
    [MemberData(nameof(KnownSplits))]
    public void Splits_are_a_fixed_function_of_the_id_and_the_ratios(string id, string defaultSplit, string otherSplit, double u)
    {
        Assert.Equal(u, SkillSplits.UnitValue(id));
        Assert.Equal(defaultSplit, SkillSplits.Assign(id, new SplitOptions()));
        Assert.Equal(otherSplit, SkillSplits.Assign(id, new SplitOptions { Train = 0.5, Val = 0.3, Test = 0.2 }));
    }

    [Fact]
    public void A_split_does_not_depend_on_the_other_tasks()
    {
        var ids = Enumerable.Range(0, 500).Select(i => $"s/T.M/r{i}").ToList();
        var alone = ids.Select(id => SkillSplits.Assign(id, new SplitOptions())).ToList();
        var shuffled = ids.AsEnumerable().Reverse().Select(id => (id, SkillSplits.Assign(id, new SplitOptions()))).ToDictionary(x => x.id, x => x.Item2);
        Assert.Equal(alone, ids.Select(id => shuffled[id]));
        // and the ratios are honoured on a large set
        Assert.InRange(alone.Count(s => s == "train") / 500.0, 0.53, 0.67);
        Assert.InRange(alone.Count(s => s == "val") / 500.0, 0.14, 0.26);
    }

    [Theory]
    [InlineData("val", "val")]
    [InlineData("Validation", "val")]
    [InlineData(" TRAIN ", "train")]
    [InlineData("test", "test")]
    [InlineData(null, null)]
    [InlineData("", null)]
    public void Split_pins_are_normalised(string? pin, string? expected) => Assert.Equal(expected, SkillSplits.Normalize(pin));

    [Fact]
    public void An_unknown_split_pin_is_refused() => Assert.Throws<ArgumentException>(() => SkillSplits.Normalize("holdout"));

    [Fact]
    public void Task_ids_of_facts_and_rows()
    {
        Assert.Equal("math/Fractions.Adds", SkillTaskId.ForMethod("math", "Fractions", "Adds"));
        Assert.Equal("math/fractions/add", SkillTaskId.ForMethod("math", "Fractions", "Adds", "fractions/add"));
        Assert.Equal("math/Fractions.Adds/q-7", SkillTaskId.ForRow("math/Fractions.Adds", "q-7"));
        Assert.Equal("math/x_y/z", SkillTaskId.ForMethod("math", "C", "M", "/x y//z/"));
        Assert.Throws<ArgumentException>(() => SkillTaskId.ForMethod("my skill", "C", "M"));
    }

    private sealed record Problem(string Id, string Question);

    private sealed record Numbered(int Id);

    private sealed class Named(string taskId) : ISkillTask
    {
        public string TaskId { get; } = taskId;
        public string Id => "not this one";
    }

    [Fact]
    public void Row_ids_prefer_the_rows_own_id()
    {
        Assert.Equal("q-0042", SkillTaskId.RowId([new Problem("q-0042", "2+2?")]));
        Assert.Equal("17", SkillTaskId.RowId([new Numbered(17)]));
        Assert.Equal("gsm8k/12", SkillTaskId.RowId([new Named("gsm8k/12")]));
        Assert.Equal("a_b", SkillTaskId.RowId([new Problem("a b", "?")]));
    }

    [Fact]
    public void Row_ids_without_an_own_id_hash_the_arguments_as_json()
    {
        // "h" + first 12 hex digits of SHA-256 of the JSON array of the arguments: [250], [90], ["a",2.5,true]
        Assert.Equal("h997829838baf", SkillTaskId.RowId([250]));
        Assert.Equal("ha84008063efe", SkillTaskId.RowId([90]));
        Assert.Equal("h92e1472b3540", SkillTaskId.RowId(["a", 2.5, true]));
    }

    [Fact]
    public void Result_file_names_are_safe_and_unique()
    {
        Assert.Equal("arith_graded_explains-sky.57565c0f22.json", SkillTaskId.ResultFileName("arith/graded/explains-sky"));
        Assert.NotEqual(SkillTaskId.ResultFileName("a/b c"), SkillTaskId.ResultFileName("a/b_c"));
        Assert.True(SkillTaskId.ResultFileName(new string('x', 500)).Length < 100);
    }
}
