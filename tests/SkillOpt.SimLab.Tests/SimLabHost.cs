using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Configuration;
using SkillOpt.Providers;

namespace SkillOpt.SimLab.Tests;

/// <summary>Helpers to start SimLab and talk to it: raw HTTP, the Providers pipeline, small inline scenarios.</summary>
internal static class SimLabHost
{
    /// <summary>A tiny deterministic world: 6 tasks, 3 procedures, no noise unless asked.</summary>
    public const string TinyYaml = """
        name: tiny
        seed: 5
        initial_skill: "# Tiny skill\n\nAnswer the question.\n"
        target:
          base_success_rate: 1.0
          missing_procedure_penalty: 1.0
          answer_format: "{reasoning}\nFinal answer: {answer}"
          reasoning_words: 10
        procedures:
          - name: carry
            phrases: ["carry the tens"]
            texts: ["- When adding, carry the tens."]
          - name: borrow
            phrases: ["borrow from the next digit"]
            texts: ["- When subtracting, borrow from the next digit."]
          - name: format
            phrases: ["Final answer: <number>"]
            texts: ["- End with `Final answer: <number>`."]
        harmful:
          - name: guess
            phrase: "guess quickly"
            texts: ["- Guess quickly when unsure."]
            breaks_needs: [borrow]
            success_multiplier: 0.0
        optimizer:
          useful: 1.0
          useless: 0.0
          harmful: 0.0
          wordiness: 0.0
          empty_reply_rate: 0.0
          success_edit_rate: 0.0
          insert_after_rate: 0.0
          ranking_noise: 0.0
        tasks:
          - { id: t1, question: "What is 17 + 25?", answer: "42", needs: [carry, format] }
          - { id: t2, question: "What is 38 + 47?", answer: "85", needs: [carry, format] }
          - { id: t3, question: "What is 52 - 17?", answer: "35", needs: [borrow, format] }
          - { id: t4, question: "What is 61 - 29?", answer: "32", needs: [borrow, format] }
          - { id: t5, question: "What is 2 + 3?", answer: "5", needs: [format] }
          - { id: t6, question: "What is 90 - 40?", answer: "50", needs: [format], flakiness: 0.5 }
        """;

    public const string FullTinySkill = "# Tiny skill\n\n- When adding, carry the tens.\n- When subtracting, borrow from the next digit.\n- End with `Final answer: <number>`.\n";

    public static Scenario Tiny(string extra = "") => ScenarioLoader.Parse(TinyYaml + "\n" + extra, "tiny.yaml", null);

    public static HttpClient Http(SimLabServer server, TimeSpan? timeout = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl + "/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "anything");
        return http;
    }

    public static string TargetBody(string skill, string question, long seed, string model = "simlab-target") => new JsonObject
    {
        ["model"] = model,
        ["seed"] = seed,
        ["messages"] = new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = skill },
            new JsonObject { ["role"] = "user", ["content"] = question }),
    }.ToJsonString();

    public static async Task<(HttpResponseMessage Response, string Body)> PostAsync(HttpClient http, string body)
    {
        var response = await http.PostAsync("chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        return (response, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    public static string Content(string body) => JsonNode.Parse(body)!["choices"]![0]!["message"]!["content"]!.GetValue<string>();

    /// <summary>A client of one SimLab role through SkillOpt.Providers (OpenAI adapter + retries), with fast backoff.</summary>
    public static IChatClient Client(SimLabServer server, string model, int concurrency = 8) =>
        new ChatClientFactory(_ => null).Create(model.Contains("optimizer", StringComparison.Ordinal) ? "optimizer" : "target",
            new ModelRoleOptions { Provider = "openai-compatible", Model = model, Endpoint = server.BaseUrl, Concurrency = concurrency, TimeoutSeconds = 30, MaxRetries = 6 },
            new ChatPipelineOptions
            {
                Resilience = new ResilienceOptions
                {
                    BaseDelay = TimeSpan.FromMilliseconds(2),
                    MaxDelay = TimeSpan.FromMilliseconds(20),
                    CircuitBreakerThreshold = 10_000,
                },
            });
}
