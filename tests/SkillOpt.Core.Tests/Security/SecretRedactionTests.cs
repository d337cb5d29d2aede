using System.Text.Json.Nodes;

namespace SkillOpt.Core.Tests.Security;

public class SecretRedactionTests
{
    private const string Placeholder = SecretRedaction.Placeholder;

    [Fact]
    public void Values_of_key_variables_are_replaced_wherever_they_appear()
    {
        var name = "SKOPT_TEST_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant() + "_API_KEY";
        var custom = "SKOPT_TEST_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant() + "_CRED";
        Environment.SetEnvironmentVariable(name, "plain-value-without-shape");
        Environment.SetEnvironmentVariable(custom, "another.secret.value");
        try
        {
            SecretRedaction.Refresh();
            Assert.Equal($"key={Placeholder}; again {Placeholder}.", SecretRedaction.Redact("key=plain-value-without-shape; again plain-value-without-shape."));
            Assert.Contains(name, SecretRedaction.KeyVariableNames());
            // a variable whose name does not look secret counts once it is registered (a configuration's api_key_env)
            Assert.Equal("x another.secret.value", SecretRedaction.Redact("x another.secret.value"));
            SecretRedaction.AddKeyVariables(custom, null, " ");
            Assert.Equal($"x {Placeholder}", SecretRedaction.Redact("x another.secret.value"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
            Environment.SetEnvironmentVariable(custom, null);
            SecretRedaction.Refresh();
        }
    }

    // Made-up values, written in pieces so that no line of the source looks like a real credential to a secret scanner;
    // the strings the tests see are whole.
    private const string Fake32 = "Ab3dEf7hIj9kLmN0pQrStUvWxYz12345678";

    [Theory]
    [InlineData("key sk-" + "proj-" + Fake32 + "AbCd end", "key [REDACTED] end")]
    [InlineData("sk-" + "ant-api03-" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_aBcD", "[REDACTED]")]
    [InlineData("google AI" + "zaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW rest", "google [REDACTED] rest")]
    [InlineData("ghp" + "_0123456789abcdefghijklmnopqrstuvwxyzAB", "[REDACTED]")]
    [InlineData("aws AK" + "IAIOSFODNN7EXAMPLE", "aws [REDACTED]")]
    [InlineData("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc123", "Authorization: Bearer [REDACTED]")]
    [InlineData("api-key: 0123456789abcdef0123456789abcdef", "api-key: [REDACTED]")]
    [InlineData("{\"h\":\"x-api-key: abcd1234efgh5678\"}", "{\"h\":\"x-api-key: [REDACTED]\"}")]
    public void Strings_shaped_like_provider_keys_are_replaced(string text, string expected) =>
        Assert.Equal(expected, SecretRedaction.Redact(text));

    [Theory]
    [InlineData("task-management-and-deployment-guide-for-everyone")]
    [InlineData("sk-learn-preprocessing-pipeline-with-long-name")]
    [InlineData("Use Bearer authentication with a token.")]
    [InlineData("skill hash 3f2a9c1b0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8")]
    [InlineData("")]
    public void Ordinary_text_is_left_alone(string text) => Assert.Equal(text, SecretRedaction.Redact(text));

    [Fact]
    public void Json_string_values_are_redacted_in_place_except_kept_keys()
    {
        const string key = "sk-" + "proj-" + Fake32 + "AbCd";
        var node = JsonNode.Parse($$"""{"task_id":"t/{{key}}","reason":"printed {{key}}","transcript":[{"text":"Bearer abc123def456"}],"score":1}""");
        SecretRedaction.RedactStrings(node, "task_id");
        Assert.Equal("t/" + key, node!["task_id"]!.GetValue<string>());
        Assert.Equal($"printed {Placeholder}", node["reason"]!.GetValue<string>());
        Assert.Equal($"Bearer {Placeholder}", node["transcript"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(1, node["score"]!.GetValue<int>());
        Assert.Null(SecretRedaction.Redact((string?)null));
    }
}
