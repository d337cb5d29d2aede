using System.Text.Json;
using Microsoft.Extensions.AI;
using SkillOpt.Providers.Scripted;
using SkillOpt.Testing.Tests.Infrastructure;

namespace SkillOpt.Testing.Tests;

public class ScriptedChatClientTests
{
    private static ScriptedChatClient Client(string yaml) => new(ScriptedRuleSet.Parse(yaml, "rules.yaml"));

    private static Task<ChatResponse> Ask(IChatClient client, string system, string user, ChatOptions? options = null) =>
        client.GetResponseAsync([new ChatMessage(ChatRole.System, system), new ChatMessage(ChatRole.User, user)], options, TestContext.Current.CancellationToken);

    private const string KeywordRules = """
        default: "no idea"
        keyword_target:
          - task: 'How many metres are in (\d+) km\?'
            needs: "[units]"
            answer: "Final answer: ${1}000"
            wrong: "Final answer: $1"
          - task: 'sky'
            needs: ["[physics]", "[brief]"]
            answer: "Rayleigh scattering."
        """;

    [Fact]
    public async Task Keyword_target_answers_correctly_only_when_the_skill_holds_the_keyword()
    {
        var client = Client(KeywordRules);
        Assert.Equal("Final answer: 3000", (await Ask(client, "Skill\n- [units] convert first", "How many metres are in 3 km?")).Text);
        Assert.Equal("Final answer: 3", (await Ask(client, "Skill without it", "How many metres are in 3 km?")).Text);
        Assert.Equal("no idea", (await Ask(client, "[physics]", "Why is the sky blue?")).Text);
        Assert.Equal("Rayleigh scattering.", (await Ask(client, "[physics] [brief]", "Why is the sky blue?")).Text);
        Assert.Equal("no idea", (await Ask(client, "[units]", "unrelated")).Text);
        Assert.Equal(5, client.Calls);
    }

    [Fact]
    public async Task Rules_match_in_order_on_schema_and_text_and_reply_json_keeps_types()
    {
        var client = Client("""
            rules:
              - when: { schema: skillopt_ranking }
                reply_json: { selected: [1, 2], reason: "first", ratio: 0.5, ok: true, quoted: "3" }
              - when: { user_contains: "FAILED", user_lacks: "[units]" }
                reply: "propose"
              - when: { system_lacks: "secret" }
                reply: "fallback"
            """);
        var ranking = await Ask(client, "x", "rank", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse("{}").RootElement, "skillopt_ranking") });
        var json = JsonDocument.Parse(ranking.Text).RootElement;
        Assert.Equal(2, json.GetProperty("selected")[1].GetInt32());
        Assert.Equal(0.5, json.GetProperty("ratio").GetDouble());
        Assert.True(json.GetProperty("ok").GetBoolean());
        Assert.Equal("3", json.GetProperty("quoted").GetString());
        Assert.Equal("propose", (await Ask(client, "x", "The target FAILED")).Text);
        Assert.Equal("fallback", (await Ask(client, "x", "The target FAILED even with [units]")).Text);
        Assert.Equal("I don't know.", (await Ask(client, "a secret", "The target FAILED even with [units]")).Text);
    }

    [Fact]
    public async Task Tool_calls_and_tool_results()
    {
        var client = Client("""
            rules:
              - when: { user_matches: 'add (\d+) and (\d+)', last_role: user }
                tool_calls:
                  - name: add
                    arguments: { a: "$1", b: "$2", fixed: 7 }
              - when: { last_role: tool, tool_result_matches: '^(\d+)$' }
                reply: "sum is $1"
            """);
        var first = await Ask(client, "s", "add 2 and 3");
        var call = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("add", call.Name);
        Assert.Equal("2", call.Arguments!["a"]?.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var second = await client.GetResponseAsync([
            new ChatMessage(ChatRole.System, "s"), new ChatMessage(ChatRole.User, "add 2 and 3"), first.Messages[0],
            new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "5")])], null, TestContext.Current.CancellationToken);
        Assert.Equal("sum is 5", second.Text);
        Assert.True(second.Usage!.InputTokenCount > 0);
    }

    [Fact]
    public async Task Latency_is_simulated_and_cancellable()
    {
        var client = Client("latency_ms: 150\nrules:\n  - reply: ok\n");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("ok", (await Ask(client, "s", "u")).Text);
        Assert.True(sw.ElapsedMilliseconds >= 140, $"{sw.ElapsedMilliseconds} ms");
        using var cts = new CancellationTokenSource(20);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "u")], null, cts.Token));
    }

    [Theory]
    [InlineData("rules:\n  - when: { user_matchez: x }\n    reply: a\n", 2, "unknown key 'rules[].when.user_matchez'")]
    [InlineData("rules:\n  - when: { user_matches: '(' }\n    reply: a\n", 2, "not a valid regular expression")]
    [InlineData("rules:\n  - name: empty\n", 2, "needs a 'reply'")]
    [InlineData("keyword_target:\n  - task: x\n    answer: y\n", 2, "needs 'needs'")]
    [InlineData("rules: [\n", 2, "malformed YAML")]
    [InlineData("colour: red\n", 1, "unknown key 'colour'")]
    public void Invalid_rules_name_the_file_and_line(string yaml, int line, string expected)
    {
        var ex = Assert.Throws<ScriptedRulesException>(() => ScriptedRuleSet.Parse(yaml, "rules.yaml"));
        Assert.Equal(line, ex.Line);
        Assert.Contains(expected, ex.Message);
        Assert.StartsWith($"rules.yaml({line},", ex.Message);
        Assert.Contains("error SKOPT2201:", ex.Message);
    }

    [Theory]
    [InlineData("rules: [\n  - reply: a\nmore: 1\n")]
    [InlineData("rules: [\ndefault: x\n")]
    [InlineData("rules:\n  - { reply: a\n  - reply: b\n")]
    public void An_unclosed_flow_collection_followed_by_more_lines_is_malformed_yaml_at_a_line(string yaml)
    {
        // YamlDotNet throws InvalidOperationException for some of these instead of a YamlException
        var ex = Assert.Throws<ScriptedRulesException>(() => ScriptedRuleSet.Parse(yaml, "rules.yaml"));
        Assert.Equal("SKOPT2201", ex.Code);
        Assert.StartsWith("rules.yaml(", ex.Message, StringComparison.Ordinal);
        Assert.Contains("malformed YAML", ex.Message, StringComparison.Ordinal);
        Assert.InRange(ex.Line, 1, yaml.Split('\n').Length);
        Assert.True(ex.Column >= 1, ex.Message);
        Assert.DoesNotContain("Exception", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Collections_nested_deeper_than_the_limit_are_refused_before_loading()
    {
        // YamlDotNet loads recursively: 50,000 levels overflow the stack and end the process
        var flow = Assert.Throws<ScriptedRulesException>(() => ScriptedRuleSet.Parse("default: x\nrules: " + new string('[', 50_000) + new string(']', 50_000) + "\n", "rules.yaml"));
        Assert.Equal(("SKOPT2201", 2), (flow.Code, flow.Line));
        Assert.Contains("nested more than 64 levels deep", flow.Message, StringComparison.Ordinal);
        var block = Assert.Throws<ScriptedRulesException>(() => ScriptedRuleSet.Parse("rules:\n" + string.Concat(Enumerable.Repeat("- ", 50_000)) + "x\n", "rules.yaml"));
        Assert.Equal(("SKOPT2201", 2), (block.Code, block.Line));
        var json = Assert.Throws<ScriptedRulesException>(() => ScriptedRuleSet.Parse("rules:\n  - reply_json: " + string.Concat(Enumerable.Repeat("{\"a\": ", 65)) + "1" + new string('}', 65) + "\n", "rules.yaml"));
        Assert.Equal(("SKOPT2201", 2), (json.Code, json.Line));
        // 64 levels, the top-level mapping included, still load
        var deepest = ScriptedRuleSet.Parse("rules:\n  - reply_json: " + string.Concat(Enumerable.Repeat("{\"a\": ", 61)) + "1" + new string('}', 61) + "\n", "rules.yaml");
        Assert.StartsWith("{\"a\":{\"a\":", deepest.Rules[0].Reply, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("# only a comment\n", 0)]
    [InlineData("default: \"no\"\n", 0)]
    public void An_empty_rules_file_is_a_model_that_answers_the_default(string yaml, int rules)
    {
        var set = ScriptedRuleSet.Parse(yaml, "rules.yaml");
        Assert.Equal(rules, set.Rules.Count);
    }

    [Theory]
    [InlineData("~\n", 1, "must be a mapping")]
    [InlineData("just text\n", 1, "must be a mapping")]
    [InlineData("- reply: a\n", 1, "must be a mapping")]
    [InlineData("rules: 5\n", 1, "'rules' must be a list")]
    [InlineData("rules: { reply: a }\n", 1, "'rules' must be a list")]
    [InlineData("keyword_target: x\n", 1, "'keyword_target' must be a list")]
    [InlineData("default: [a]\n", 1, "'default' must be a text value")]
    [InlineData("rules:\n  - when: 3\n    reply: a\n", 2, "'when' must be a mapping")]
    [InlineData("rules:\n  - tool_calls: 3\n", 2, "'tool_calls' must be a list")]
    [InlineData("default: a\ndefault: b\n", 2, "malformed YAML")]
    [InlineData("latency_ms: abc\n", 1, "'latency_ms' must be a number")]
    [InlineData("latency_ms: -1\n", 1, "'latency_ms' must be a number from 0 to 86,400,000")]
    [InlineData("latency_ms: 1e400\n", 1, "'latency_ms' must be a number from 0 to 86,400,000")]
    [InlineData("latency_ms: 1e300\n", 1, "'latency_ms' must be a number from 0 to 86,400,000")]
    [InlineData("latency_ms: .nan\n", 1, "'latency_ms' must be a number from 0 to 86,400,000")]
    [InlineData("latency_ms: NaN\n", 1, "'latency_ms' must be a number from 0 to 86,400,000")]
    [InlineData("latency_ms: Infinity\n", 1, "'latency_ms' must be a number from 0 to 86,400,000")]
    [InlineData("rules:\n  - reply_json: { [a]: 1 }\n", 2, "a key in 'reply_json' must be a text")]
    [InlineData("rules:\n  - reply_json:\n      ? { a: 1 }\n      : 1\n", 3, "a key in 'reply_json' must be a text")]
    [InlineData("rules:\n  - tool_calls: [ { name: t, arguments: { [x]: 1 } } ]\n", 2, "a key in 'arguments' must be a text")]
    [InlineData("rules:\n  - reply_json: { a: 1, !!str a: 2 }\n", 2, "the key 'a' is written twice in 'reply_json'")]
    [InlineData("default: a\n---\ndefault: b\n", 3, "several YAML documents")]
    public void Malformed_shapes_and_values_are_coded_errors_at_a_line(string yaml, int line, string expected)
    {
        var ex = Assert.Throws<ScriptedRulesException>(() => ScriptedRuleSet.Parse(yaml, "rules.yaml"));
        Assert.Equal(("SKOPT2201", line), (ex.Code, ex.Line));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith($"rules.yaml({line},", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_named_as_the_rules_file_is_a_coded_error()
    {
        using var dir = new TempFolder();
        var ex = Assert.Throws<ScriptedRulesException>(() => ScriptedRuleSet.Load(dir.Path));
        Assert.Equal("SKOPT2201", ex.Code);
        Assert.Contains("names a folder, not a rules file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_rules_file_is_an_error() =>
        Assert.Throws<ScriptedRulesException>(() => ScriptedRuleSet.Load(Path.Combine(Path.GetTempPath(), "no-such-rules-" + Guid.NewGuid() + ".yaml")));
}
