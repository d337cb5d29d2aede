using SkillOpt.Core.Rollouts;
using SkillOpt.Testing.Gate;

namespace SkillOpt.Testing.Tests.Gate;

public class ReceiptTests
{
    private static readonly Dictionary<string, string> Splits = new()
    {
        ["m/b"] = "val", ["m/a"] = "test", ["m/c"] = "train", ["m/d"] = "test", ["m/e"] = "val",
    };

    private static RolloutResult R(string id, TaskOutcome outcome, double score = 0) => new() { TaskId = id, Outcome = outcome, Score = score, DurationSeconds = 1.234, Reason = "varies" };

    private static ScoreReceipt Receipt(bool shuffled = false)
    {
        var val = new[] { R("m/b", TaskOutcome.Passed, 1), R("m/e", TaskOutcome.Failed, 0.25) };
        var test = new[] { R("m/a", TaskOutcome.Errored), R("m/d", TaskOutcome.Passed, 1) };
        var splits = shuffled ? Splits.Reverse().ToDictionary() : Splits;
        return ScoreReceipt.Create("m", "/some/where/SKILL.md", "# Skill\n\n- Do it.\n", new ReceiptTarget("openai", "gpt-test", 0.2f, 256, "low", 7), 0,
            splits, shuffled ? val.Reverse() : val, shuffled ? test.Reverse() : test, 12);
    }

    [Fact]
    public void Identical_inputs_give_byte_identical_receipts_whatever_the_order()
    {
        var a = Receipt().ToJson();
        var b = Receipt(shuffled: true).ToJson();
        Assert.Equal(a, b);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(a), System.Text.Encoding.UTF8.GetBytes(b));
    }

    [Fact]
    public void The_receipt_is_stable_json_with_sorted_keys_lf_and_a_trailing_newline()
    {
        var json = Receipt().ToJson();
        Assert.DoesNotContain("\r", json);
        Assert.EndsWith("}\n", json);
        Assert.False(json.EndsWith("\n\n", StringComparison.Ordinal));
        // no machine path, no timestamp, no per-run value (durations, reasons)
        Assert.DoesNotContain("/some/where", json);
        Assert.DoesNotContain("1.234", json);
        Assert.DoesNotContain("varies", json);
        Assert.Contains("\"skill_file\": \"SKILL.md\"", json);
        Assert.Contains("\"temperature\": 0.2\n", json);
        // keys sorted at every level
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        AssertSorted(doc.RootElement);
        Assert.Equal(["recording", "sample_index", "schema_version", "skill", "skill_file", "skill_sha256", "splits", "target", "test", "validation"],
            doc.RootElement.EnumerateObject().Select(p => p.Name));
        var test = doc.RootElement.GetProperty("test");
        Assert.Equal("errored", test.GetProperty("tasks").GetProperty("m/a").GetProperty("outcome").GetString());
        Assert.False(test.GetProperty("tasks").GetProperty("m/a").TryGetProperty("score", out _));
        Assert.Equal(1, test.GetProperty("totals").GetProperty("errored").GetInt32());
        Assert.Equal(1, test.GetProperty("totals").GetProperty("mean_score").GetDouble());
        Assert.Equal(0.625, doc.RootElement.GetProperty("validation").GetProperty("totals").GetProperty("mean_score").GetDouble());
        Assert.Equal(ScoreReceipt.Sha256("# Skill\n\n- Do it.\n"), doc.RootElement.GetProperty("skill_sha256").GetString());
    }

    [Fact]
    public void A_receipt_round_trips_through_its_file_form()
    {
        var receipt = Receipt();
        var parsed = ScoreReceipt.Parse(receipt.ToJson());
        Assert.Equal(receipt.ToJson(), parsed.ToJson());
        Assert.Equal(new ReceiptTask("failed", 0.25), parsed.Validation["m/e"]);
        Assert.Equal("openai/gpt-test (temperature 0.2, max_output_tokens 256, reasoning_effort low, seed 7)", parsed.Target.ToString());
        Assert.Throws<InvalidDataException>(() => ScoreReceipt.Parse("{\"schema_version\": 9}", "x.json"));
        Assert.Contains("x.json", Assert.Throws<InvalidDataException>(() => ScoreReceipt.Parse("[]", "x.json")).Message);
    }

    [Fact]
    public void The_approval_check_is_written_sorted_and_read_back_and_absent_without_one()
    {
        Assert.DoesNotContain("approval_check", Receipt().ToJson());
        var pairs = Enumerable.Range(0, 8).Select(i => (R($"t{i}", i < 6 ? TaskOutcome.Passed : TaskOutcome.Failed, i < 6 ? 1 : 0), R($"t{i}", TaskOutcome.Failed)));
        var check = SkillOpt.Core.Gates.ApprovalComparison.Compare(pairs, 0.05, 1, "c0ffee");
        var receipt = Receipt() with { ApprovalCheck = check };
        var json = receipt.ToJson();
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        AssertSorted(doc.RootElement);
        var node = doc.RootElement.GetProperty("approval_check");
        Assert.Equal(("better", 6, "c0ffee", 0.015625), (node.GetProperty("verdict").GetString(), node.GetProperty("wins").GetInt32(),
            node.GetProperty("committed_sha256").GetString(), node.GetProperty("p_value").GetDouble()));
        Assert.False(node.TryGetProperty("lower_bound", out _)); // the sign test has no t bound
        var parsed = ScoreReceipt.Parse(json);
        Assert.Equal(check, parsed.ApprovalCheck);
        Assert.Equal(json, parsed.ToJson());
    }

    private static void AssertSorted(System.Text.Json.JsonElement e)
    {
        if (e.ValueKind == System.Text.Json.JsonValueKind.Object)
        {
            var names = e.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(names.Order(StringComparer.Ordinal), names);
            foreach (var p in e.EnumerateObject())
            {
                AssertSorted(p.Value);
            }
        }
    }
}
