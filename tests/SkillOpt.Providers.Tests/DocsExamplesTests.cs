using System.Text.RegularExpressions;
using SkillOpt.Core.Configuration;
using SkillOpt.Providers.Tests.Infrastructure;

namespace SkillOpt.Providers.Tests;

/// <summary>Every YAML example in docs/providers.md parses with the real loader and builds both roles' clients.</summary>
public sealed partial class DocsExamplesTests
{
    public static TheoryData<int, string> Examples()
    {
        var data = new TheoryData<int, string>();
        var blocks = YamlBlock().Matches(File.ReadAllText(FindDoc())).Select(m => m.Groups[1].Value).ToList();
        for (var i = 0; i < blocks.Count; i++) data.Add(i, blocks[i]);
        return data;
    }

    [Fact(Timeout = 20_000)]
    public void The_document_has_the_four_provider_examples() =>
        Assert.True(Examples().Count >= 4, "docs/providers.md should hold YAML examples for OpenAI, Azure OpenAI, Anthropic and Ollama.");

    [Theory(Timeout = 20_000)]
    [MemberData(nameof(Examples))]
    public void Example_parses_and_builds_both_roles(int index, string yaml)
    {
        var options = SkillOptConfigLoader.Parse(yaml, $"providers.md#example{index}");
        var env = new Dictionary<string, string>
        {
            ["OPENAI_API_KEY"] = "k-openai-0000",
            ["AZURE_OPENAI_API_KEY"] = "k-azure-0000",
            ["ANTHROPIC_API_KEY"] = "k-anthropic-0000",
        };
        var factory = new ChatClientFactory(n => env.GetValueOrDefault(n), Clock.Fake());
        var pipeline = new ChatPipelineOptions { Pricing = options.Pricing, Ledger = new UsageLedger() };

        foreach (var (role, settings) in new[] { ("target", options.Models.Target), ("optimizer", options.Models.Optimizer) })
        {
            Assert.NotEqual("", settings.Provider);
            using var client = factory.Create(role, settings, pipeline);
            Assert.NotNull(client);
        }
        foreach (var (model, _) in options.Pricing)
            Assert.True(model == options.Models.Target.Model || model == options.Models.Optimizer.Model,
                $"pricing entry '{model}' prices neither role's model");
    }

    private static string FindDoc()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "providers.md");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("docs/providers.md was not found above the test's output folder.");
    }

    [GeneratedRegex("```yaml\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
