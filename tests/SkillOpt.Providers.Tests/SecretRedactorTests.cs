namespace SkillOpt.Providers.Tests;

public sealed class SecretRedactorTests
{
    // written in pieces, so the source holds no credential-looking literal
    private static readonly string KeyShaped = "sk" + "-" + new string('a', 20) + "1234567890" + new string('b', 10);

    [Fact]
    public void A_given_key_is_replaced_whole_even_when_a_shorter_one_is_part_of_it()
    {
        var redactor = new SecretRedactor("wxyz", "wxyz5678-long", null, "", "abc");
        Assert.True(redactor.HasSecrets);
        Assert.Equal("key [REDACTED] and [REDACTED]; abc stays (under 4 characters)", redactor.Redact("key wxyz5678-long and wxyz; abc stays (under 4 characters)"));
        Assert.True(redactor.Contains("…wxyz…"));
        Assert.Equal("SecretRedactor(2 secret(s))", redactor.ToString());
    }

    [Fact]
    public void Key_shaped_strings_are_removed_by_the_shared_redaction_even_without_a_key_of_its_own()
    {
        var none = SecretRedactor.None;
        Assert.False(none.HasSecrets);
        Assert.Equal($"the model echoed {SecretRedactor.Placeholder} back", none.Redact($"the model echoed {KeyShaped} back"));
        Assert.Equal("Authorization: Bearer [REDACTED]", none.Redact("Authorization: Bearer " + "tok" + "en-0123456789"));
        Assert.True(none.Contains(KeyShaped));
        Assert.False(none.Contains("nothing secret here"));
        Assert.True(none.Leaks(new InvalidOperationException("outer", new HttpRequestException("echo: " + KeyShaped))));
        Assert.False(none.Leaks(new InvalidOperationException("outer", new HttpRequestException("plain"))));
    }
}
