using Microsoft.Extensions.AI;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Providers.Tests.Infrastructure;

/// <summary>Builds pipelines through <see cref="ChatClientFactory"/> against a loopback server.</summary>
internal static class Pipelines
{
    public const string OpenAIKey = "sk-test-openai-0123456789abcdef";
    public const string AnthropicKey = "fake-anthropic-key-0123456789abcdef";

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static ModelRoleOptions OpenAIOptions(LoopbackServer server, Action<ModelRoleOptions>? configure = null)
    {
        var options = new ModelRoleOptions
        {
            Provider = "openai",
            Model = "gpt-test",
            Endpoint = new Uri(server.BaseAddress, "v1").ToString(),
            TimeoutSeconds = 86_400, // a day: tests that drive the fake clock never time out by accident
            MaxRetries = 3,
        };
        configure?.Invoke(options);
        return options;
    }

    public static ModelRoleOptions AnthropicOptions(LoopbackServer server, Action<ModelRoleOptions>? configure = null)
    {
        var options = new ModelRoleOptions
        {
            Provider = "anthropic",
            Model = "claude-test",
            Endpoint = server.BaseAddress.ToString().TrimEnd('/'),
            TimeoutSeconds = 86_400, // a day: tests that drive the fake clock never time out by accident
            MaxRetries = 3,
            MaxOutputTokens = 1024,
        };
        configure?.Invoke(options);
        return options;
    }

    public static ChatClientFactory Factory(TimeProvider time, IDictionary<string, string>? env = null)
    {
        var vars = env ?? new Dictionary<string, string> { ["OPENAI_API_KEY"] = OpenAIKey, ["ANTHROPIC_API_KEY"] = AnthropicKey };
        return new ChatClientFactory(name => vars.TryGetValue(name, out var v) ? v : null, time);
    }

    public static IChatClient OpenAIPipeline(LoopbackServer server, FakeTimeProvider time, Action<ModelRoleOptions>? configure = null,
        ChatPipelineOptions? pipeline = null, string role = "target") =>
        Factory(time).Create(role, OpenAIOptions(server, configure), pipeline);

    public static IChatClient AnthropicPipeline(LoopbackServer server, FakeTimeProvider time, Action<ModelRoleOptions>? configure = null,
        ChatPipelineOptions? pipeline = null, string role = "target") =>
        Factory(time).Create(role, AnthropicOptions(server, configure), pipeline);

    public static List<ChatMessage> Ask(string question) => [new(ChatRole.User, question)];
}
