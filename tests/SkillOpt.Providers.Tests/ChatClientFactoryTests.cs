using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Providers.Tests.Infrastructure;
using static SkillOpt.Providers.Tests.Infrastructure.Pipelines;

namespace SkillOpt.Providers.Tests;

public sealed class ChatClientFactoryTests
{
    [Fact(Timeout = 20_000)]
    public void Missing_key_names_the_variable_and_the_role_before_any_call()
    {
        var factory = Factory(Clock.Fake(), new Dictionary<string, string>());

        var error = Assert.Throws<ProviderConfigurationException>(
            () => factory.Create("target", new ModelRoleOptions { Provider = "openai", Model = "gpt-4o-mini" }));

        Assert.Equal("target", error.Role);
        Assert.Equal("OPENAI_API_KEY", error.Setting);
        Assert.Equal(
            "Role 'target' (provider 'openai', model 'gpt-4o-mini') needs an API key, but the environment variable OPENAI_API_KEY is not set "
            + "or is empty. Set OPENAI_API_KEY, or name another variable with models.target.api_key_env in skillopt.yaml or SKILLOPT_TARGET_API_KEY_ENV.",
            error.Message);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("anthropic", "ANTHROPIC_API_KEY", null)]
    [InlineData("azure-openai", "AZURE_OPENAI_API_KEY", "https://example.openai.azure.com")]
    [InlineData("openai", "MY_TEAM_KEY", null)]
    public void Missing_key_uses_the_configured_or_conventional_variable(string provider, string variable, string? endpoint)
    {
        var factory = Factory(Clock.Fake(), new Dictionary<string, string> { ["OPENAI_API_KEY"] = "present-but-not-named" });
        var options = new ModelRoleOptions
        {
            Provider = provider,
            Model = "m",
            Endpoint = endpoint,
            ApiKeyEnv = variable == "MY_TEAM_KEY" ? variable : null,
        };

        var error = Assert.Throws<ProviderConfigurationException>(() => factory.Create("optimizer", options));

        Assert.Contains($"environment variable {variable} is not set", error.Message);
        Assert.Contains("Role 'optimizer'", error.Message);
        Assert.Equal(variable, error.Setting);
    }

    [Fact(Timeout = 20_000)]
    public void Missing_endpoint_for_azure_names_the_setting_and_the_variable()
    {
        var factory = Factory(Clock.Fake(), new Dictionary<string, string> { ["AZURE_OPENAI_API_KEY"] = "k-123456" });

        var error = Assert.Throws<ProviderConfigurationException>(
            () => factory.Create("optimizer", new ModelRoleOptions { Provider = "azure-openai", Model = "gpt-4o" }));

        Assert.Equal(
            "Role 'optimizer' uses provider 'azure-openai', which needs an endpoint: set models.optimizer.endpoint in skillopt.yaml or the "
            + "environment variable SKILLOPT_OPTIMIZER_ENDPOINT (for example https://my-resource.openai.azure.com).",
            error.Message);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("", "gpt", "Role 'target' has no model provider: set models.target.provider in skillopt.yaml (openai, openai-compatible, azure-openai, anthropic, scripted, simlab) or the environment variable SKILLOPT_TARGET_PROVIDER.")]
    [InlineData("gemini", "gpt", "Role 'target' has an unknown provider 'gemini': use one of openai, openai-compatible, azure-openai, anthropic, scripted, simlab (models.target.provider or SKILLOPT_TARGET_PROVIDER).")]
    [InlineData("openai", "", "Role 'target' (provider 'openai') has no model: set models.target.model in skillopt.yaml or the environment variable SKILLOPT_TARGET_MODEL.")]
    public void Incomplete_configuration_is_reported_clearly(string provider, string model, string expected)
    {
        var error = Assert.Throws<ProviderConfigurationException>(
            () => Factory(Clock.Fake()).Create("target", new ModelRoleOptions { Provider = provider, Model = model }));

        Assert.Equal(expected, error.Message);
    }

    [Fact(Timeout = 20_000)]
    public void Invalid_values_are_reported_with_their_yaml_key()
    {
        var factory = Factory(Clock.Fake());

        var effort = Assert.Throws<ProviderConfigurationException>(() => factory.Resolve("target",
            new ModelRoleOptions { Provider = "openai", Model = "o4", ReasoningEffort = "maximum" }));
        var endpoint = Assert.Throws<ProviderConfigurationException>(() => factory.Resolve("target",
            new ModelRoleOptions { Provider = "openai", Model = "o4", Endpoint = "localhost:11434" }));

        Assert.Equal("Role 'target' has an invalid reasoning_effort 'maximum': it must be one of none, minimal, low, medium, high, xhigh (models.target.reasoning_effort in skillopt.yaml).", effort.Message);
        Assert.Equal("Role 'target' has an invalid endpoint 'localhost:11434': it must be an absolute http:// or https:// URL (models.target.endpoint or SKILLOPT_TARGET_ENDPOINT).", endpoint.Message);
    }

    [Fact(Timeout = 20_000)]
    public void Environment_overrides_the_file()
    {
        var env = new Dictionary<string, string>
        {
            ["SKILLOPT_OPTIMIZER_PROVIDER"] = "Anthropic",
            ["SKILLOPT_OPTIMIZER_MODEL"] = "claude-env",
            ["SKILLOPT_OPTIMIZER_ENDPOINT"] = "http://127.0.0.1:9/",
            ["SKILLOPT_OPTIMIZER_API_KEY_ENV"] = "OPT_KEY",
            ["SKILLOPT_TARGET_MODEL"] = "",
        };
        var factory = Factory(Clock.Fake(), env);
        var file = new ModelRoleOptions { Provider = "openai", Model = "gpt-file", Endpoint = "https://api.openai.com/v1", ApiKeyEnv = "FILE_KEY" };

        var optimizer = factory.Resolve("optimizer", file);
        var target = factory.Resolve("target", file);

        Assert.Equal(("anthropic", "claude-env", "http://127.0.0.1:9/", "OPT_KEY"), (optimizer.Provider, optimizer.Model, optimizer.Endpoint, optimizer.ApiKeyEnv));
        Assert.Equal(("openai", "gpt-file", "FILE_KEY"), (target.Provider, target.Model, target.ApiKeyEnv)); // empty variables do not override
        Assert.Equal(("openai", "gpt-file"), (file.Provider, file.Model)); // the input is not changed
        Assert.Equal("SKILLOPT_TARGET_API_KEY_ENV", ChatClientFactory.EnvironmentVariableName("target", "API_KEY_ENV"));
    }

    [Fact(Timeout = 20_000)]
    public async Task Environment_overrides_reach_the_wire_and_the_key_comes_from_the_named_variable()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.EnqueueJson(200, Wire.OpenAIText("ok"));
        var env = new Dictionary<string, string>
        {
            ["SKILLOPT_OPTIMIZER_MODEL"] = "gpt-from-env",
            ["SKILLOPT_OPTIMIZER_ENDPOINT"] = server.BaseAddress + "v1",
            ["SKILLOPT_OPTIMIZER_API_KEY_ENV"] = "ALT_OPENAI_KEY",
            ["ALT_OPENAI_KEY"] = "sk-alt-0123456789",
        };
        using var client = Factory(Clock.Fake(), env).Create("optimizer",
            new ModelRoleOptions { Provider = "openai", Model = "gpt-from-file", Endpoint = "http://127.0.0.1:9/v1" });

        await client.GetResponseAsync(Ask("hi"), cancellationToken: Ct);

        var request = server.Requests.Single();
        Assert.Equal("gpt-from-env", request.Json["model"]!.GetValue<string>());
        Assert.Equal("Bearer sk-alt-0123456789", request.Header("Authorization"));
    }

    [Fact(Timeout = 20_000)]
    public void Replay_mode_needs_no_key()
    {
        var factory = Factory(Clock.Fake(), new Dictionary<string, string>());

        using var client = factory.Create("target", new ModelRoleOptions { Provider = "openai", Model = "gpt-4o-mini" },
            new ChatPipelineOptions { Recording = RecordingMode.Replay, RecordingDirectory = Path.GetTempPath() });

        Assert.NotNull(client.GetService(typeof(ReplayChatClient)));
    }

    [Fact(Timeout = 20_000)]
    public async Task Scripted_provider_runs_through_the_same_pipeline()
    {
        var scripted = new CannedChatClient("scripted answer");
        var ledger = new UsageLedger();
        using var client = Factory(Clock.Fake(), new Dictionary<string, string>()).Create("target",
            new ModelRoleOptions { Provider = "scripted", Temperature = 0.4f },
            new ChatPipelineOptions { ScriptedClientFactory = _ => scripted, Ledger = ledger });

        var options = new ChatOptions { AdditionalProperties = new() { ["vendor_flag"] = "kept" } }.WithStage(ChatStage.Meta);
        var response = await client.GetResponseAsync(Ask("hi"), options, Ct);

        Assert.Equal("scripted answer", response.Text);
        Assert.Equal(0.4f, scripted.LastOptions!.Temperature);
        // The provider never sees skillopt.* keys; other keys pass through; the stage still reached the ledger.
        Assert.Equal(["vendor_flag"], scripted.LastOptions.AdditionalProperties!.Keys);
        Assert.Equal(ChatStage.Meta, ChatStage.Get(options));
        Assert.Equal("meta", Assert.Single(ledger.Snapshot().Entries).Stage);
        Assert.NotNull(client.GetService(typeof(ResilientChatClient)));
    }

    [Fact(Timeout = 20_000)]
    public void Scripted_provider_without_a_factory_is_a_configuration_error()
    {
        var error = Assert.Throws<ProviderConfigurationException>(() =>
            Factory(Clock.Fake()).Create("target", new ModelRoleOptions { Provider = "scripted" }));

        Assert.Contains("ChatPipelineOptions.ScriptedClientFactory", error.Message);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("https://res.openai.azure.com", "https://res.openai.azure.com/openai/v1/")]
    [InlineData("https://res.openai.azure.com/", "https://res.openai.azure.com/openai/v1/")]
    [InlineData("https://res.openai.azure.com/openai", "https://res.openai.azure.com/openai/v1/")]
    [InlineData("https://res.openai.azure.com/openai/v1/", "https://res.openai.azure.com/openai/v1/")]
    public void Azure_endpoint_is_the_v1_endpoint(string configured, string expected) =>
        Assert.Equal(expected, ChatClientFactory.AzureV1Endpoint(configured).ToString());

    [Theory(Timeout = 20_000)]
    [InlineData(null, "https://api.anthropic.com")]
    [InlineData("https://api.anthropic.com", "https://api.anthropic.com")]
    [InlineData("https://proxy.example.com/anthropic/v1/", "https://proxy.example.com/anthropic")]
    public void Anthropic_base_url_leaves_v1_to_the_sdk(string? configured, string expected) =>
        Assert.Equal(expected, ChatClientFactory.AnthropicBaseUrl(configured));
}
