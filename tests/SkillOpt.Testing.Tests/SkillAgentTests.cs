using System.ComponentModel;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;

namespace SkillOpt.Testing.Tests;

/// <summary>A client that answers with a function of the conversation and records every request.</summary>
internal sealed class LambdaChatClient(Func<IReadOnlyList<ChatMessage>, ChatOptions?, ChatMessage> answer) : IChatClient
{
    public List<(List<ChatMessage> Messages, ChatOptions? Options)> Requests { get; } = [];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        Requests.Add((list, options));
        return Task.FromResult(new ChatResponse(answer(list, options)) { Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 3 } });
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

public class SkillAgentTests
{
    private const string Skill = "# Skill\n\n- Use the calculator.\n";

    [Description("Adds two integers.")]
    private static int Add(int a, int b) => a + b;

    [Fact]
    public async Task The_system_message_is_exactly_the_skill_and_the_seed_is_passed()
    {
        var client = new LambdaChatClient((_, _) => new ChatMessage(ChatRole.Assistant, "Final answer: 4"));
        var agent = new SkillAgent(client, Skill, new SkillAgentOptions { Seed = 7, Stage = ChatStage.Rollout });
        var reply = await agent.RunAsync("2+2?", TestContext.Current.CancellationToken);

        var (messages, options) = Assert.Single(client.Requests);
        Assert.Equal(ChatRole.System, messages[0].Role);
        Assert.Equal(Skill, messages[0].Text);
        Assert.Single(messages, m => m.Role == ChatRole.System);
        Assert.Equal("2+2?", messages[1].Text);
        Assert.Equal(7, options!.Seed);
        Assert.Equal(ChatStage.Rollout, ChatStage.Get(options));
        Assert.Equal("4", reply.FinalAnswer());
        Assert.Equal(4, reply.Number());
        Assert.Equal(1, reply.Turns);
        Assert.Equal(new SkillOpt.Core.Rollouts.TokenUsage(10, 3, 0, 1), reply.Usage);
        Assert.DoesNotContain(agent.Transcript, m => m.Role == "system");
    }

    [Fact]
    public async Task Tool_calls_are_invoked_and_their_results_fed_back()
    {
        var client = new LambdaChatClient((messages, options) =>
        {
            if (messages[^1].Role == ChatRole.Tool)
            {
                var result = messages[^1].Contents.OfType<FunctionResultContent>().Single().Result;
                return new ChatMessage(ChatRole.Assistant, $"Final answer: {result}");
            }
            Assert.Contains(options!.Tools!, t => t.Name == "add");
            return new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", "add", new Dictionary<string, object?> { ["a"] = 20, ["b"] = 22 })]);
        });
        var agent = new SkillAgent(client, Skill);
        var reply = await agent.RunAsync("Add 20 and 22.", [AIFunctionFactory.Create(Add, "add")], TestContext.Current.CancellationToken);

        Assert.Equal(42, reply.Number());
        Assert.Equal(2, reply.Turns);
        Assert.Equal(["user", "assistant", "tool", "assistant"], agent.Transcript.Select(m => m.Role));
        var call = Assert.Single(agent.Transcript[1].ToolCalls!);
        Assert.Equal("add", call.Name);
        Assert.Contains("20", call.Arguments);
        Assert.Equal("42", agent.Transcript[2].Text);
        Assert.Equal("c1", agent.Transcript[2].ToolCallId);
        Assert.Equal(2, agent.Usage.Calls);
    }

    [Fact]
    public async Task Unknown_tools_and_failing_tools_are_reported_to_the_model()
    {
        var client = new LambdaChatClient((messages, _) => messages[^1].Role == ChatRole.Tool
            ? new ChatMessage(ChatRole.Assistant, "done")
            : new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", "nope", null), new FunctionCallContent("c2", "boom", null)]));
        var agent = new SkillAgent(client, Skill);
        await agent.RunAsync("go", [AIFunctionFactory.Create(new Func<string>(() => throw new InvalidOperationException("disk full")), "boom")], TestContext.Current.CancellationToken);
        var results = agent.Transcript.Where(m => m.Role == "tool").Select(m => m.Text).ToList();
        Assert.Contains("no tool named 'nope'", results[0]);
        Assert.Contains("disk full", results[1]);
    }

    [Fact]
    public async Task The_turn_limit_fails_the_task_as_an_assertion()
    {
        var client = new LambdaChatClient((_, _) => new ChatMessage(ChatRole.Assistant, [new FunctionCallContent(Guid.NewGuid().ToString(), "add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 1 })]));
        var agent = new SkillAgent(client, Skill, new SkillAgentOptions { MaxTurns = 3 });
        var ex = await Assert.ThrowsAsync<SkillAgentTurnLimitException>(() => agent.RunAsync("loop", [AIFunctionFactory.Create(Add, "add")], TestContext.Current.CancellationToken));
        Assert.Equal(3, client.Requests.Count);
        // xUnit v3 reports exceptions that implement an interface named IAssertionException as assertion failures (FailureCause.Assertion).
        Assert.Contains(ex.GetType().GetInterfaces(), i => i.Name == "IAssertionException");
        Assert.Contains(new SkillAssertException("x").GetType().GetInterfaces(), i => i.Name == "IAssertionException");
        Assert.Equal(7, agent.Transcript.Count); // user + 3 × (assistant + tool)
    }

    [Fact]
    public void Current_outside_a_skill_test_explains_itself()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => SkillAgent.Current);
        Assert.Contains("[SkillFact]", ex.Message);
        Assert.Throws<InvalidOperationException>(() => SkillScore.Report(0.5));
    }

    [Theory]
    [InlineData("The sum is 12.\nFinal answer: 12", "12", 12.0)]
    [InlineData("**Answer:** 1,234.5", "1,234.5", 1234.5)]
    [InlineData("so $\\boxed{42}$", "42", 42.0)]
    [InlineData("Answer: x\nthen\nFinal Answer: -3.", "-3", -3.0)]
    [InlineData("It is 7 apples", "It is 7 apples", 7.0)]
    [InlineData("", "", null)]
    public void Final_answers_and_numbers_are_extracted(string text, string answer, double? number)
    {
        Assert.Equal(answer, SkillReply.ExtractFinalAnswer(text));
        Assert.Equal(number, SkillReply.LastNumber(SkillReply.ExtractFinalAnswer(text)));
    }

    [Fact]
    public void SkillAssert_failures_say_what_was_expected()
    {
        SkillAssert.NumberEquals(5555, "5,555");
        var ex = Assert.Throws<SkillAssertException>(() => SkillAssert.NumberEquals(12, "Final answer: 13"));
        Assert.Contains("12", ex.Message);
        Assert.Contains("13", ex.Message);
        Assert.Throws<SkillAssertException>(() => SkillAssert.NumberEquals(1, "none"));
        Assert.Throws<SkillAssertException>(() => SkillAssert.Contains("5/6", "2/5"));
        SkillAssert.AnswerEquals("Paris", " paris ", ignoreCase: true);
    }
}
