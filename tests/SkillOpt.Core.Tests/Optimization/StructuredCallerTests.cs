using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Optimization;

namespace SkillOpt.Core.Tests.Optimization;

public class StructuredCallerTests
{
    private sealed class QueueClient(params string[] replies) : IChatClient
    {
        private readonly Queue<string> _replies = new(replies);
        public List<(List<ChatMessage> Messages, ChatOptions? Options)> Requests { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Requests.Add((messages.ToList(), options));
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, _replies.Dequeue())) { Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5 } });
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public object? GetService(Type serviceType, object? serviceKey = null) => null;
        public void Dispose() { }
    }

    private const string Valid = """{"analysis":"a","edits":[{"op":"append","target":null,"content":"- Check units.","rationale":"r"}]}""";

    private static (StructuredCaller Caller, StageUsageTracker Usage, ReplyFailureCounter Failures) Make(IChatClient client)
    {
        var usage = new StageUsageTracker();
        var failures = new ReplyFailureCounter();
        return (new StructuredCaller(client, new ChatOptions { ModelId = "opt" }, usage, failures), usage, failures);
    }

    private static Task<StructuredReply<ReflectionReply>> Reflect(StructuredCaller caller) =>
        caller.CallAsync(ChatStage.Reflect, OptimizerSchemas.Reflection, "prompt", r => OptimizerSchemas.ValidateEdits(r.Edits), CancellationToken.None);

    [Fact]
    public async Task A_valid_reply_is_parsed_and_the_schema_is_requested_by_name()
    {
        var client = new QueueClient(Valid);
        var (caller, usage, failures) = Make(client);
        var reply = await Reflect(caller);
        Assert.NotNull(reply.Value);
        Assert.Equal("- Check units.", Assert.Single(reply.Value!.Edits).Content);
        var format = Assert.IsType<ChatResponseFormatJson>(client.Requests[0].Options!.ResponseFormat);
        Assert.Equal("skillopt_reflection", format.SchemaName);
        Assert.Equal(ChatStage.Reflect, ChatStage.Get(client.Requests[0].Options));
        Assert.Equal("opt", client.Requests[0].Options!.ModelId);
        Assert.Equal(1, usage.Snapshot()[ChatStage.Reflect].Calls);
        Assert.Empty(failures.Snapshot());
    }

    [Fact]
    public async Task An_invalid_reply_gets_one_repair_request_that_names_the_problem()
    {
        var client = new QueueClient("""{"analysis":"a","edits":[{"op":"rewrite","target":"x","content":"y","rationale":"r"}]}""", Valid);
        var (caller, usage, failures) = Make(client);
        var reply = await Reflect(caller);
        Assert.True(reply.Repaired);
        Assert.NotNull(reply.Value);
        Assert.Equal(2, client.Requests.Count);
        var repair = client.Requests[1].Messages;
        Assert.Equal(ChatRole.Assistant, repair[^2].Role);
        Assert.Contains("'rewrite'", repair[^1].Text);
        Assert.Equal(2, usage.Snapshot()[ChatStage.Reflect].Calls);
        Assert.Equal(new ReplyFailureCounts(1, 0), failures.Snapshot()[ChatStage.Reflect]);
    }

    [Fact]
    public async Task A_second_failure_is_counted_and_reported_not_dropped()
    {
        var client = new QueueClient("not json at all", "{\"analysis\": 3, ");
        var (caller, _, failures) = Make(client);
        var reply = await Reflect(caller);
        Assert.Null(reply.Value);
        Assert.Equal(2, reply.RawReplies.Count);
        Assert.False(string.IsNullOrEmpty(reply.Failure));
        Assert.Equal(new ReplyFailureCounts(0, 1), failures.Snapshot()[ChatStage.Reflect]);
    }

    [Theory]
    [InlineData("```json\n{\"a\":1}\n```", "{\"a\":1}")]
    [InlineData("Here you go: {\"a\":1} done", "{\"a\":1}")]
    [InlineData("{\"a\":1}", "{\"a\":1}")]
    [InlineData("no object", null)]
    public void Json_is_extracted_from_common_reply_shapes(string text, string? expected) =>
        Assert.Equal(expected, StructuredCaller.ExtractJsonObject(text));

    [Fact]
    public async Task Provider_errors_propagate_instead_of_becoming_empty_replies()
    {
        var (caller, _, failures) = Make(new ThrowingClient());
        await Assert.ThrowsAsync<HttpRequestException>(() => Reflect(caller));
        Assert.Empty(failures.Snapshot());
    }

    private sealed class ThrowingClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new HttpRequestException("down");
        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public object? GetService(Type serviceType, object? serviceKey = null) => null;
        public void Dispose() { }
    }
}
