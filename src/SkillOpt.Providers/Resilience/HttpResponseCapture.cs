namespace SkillOpt.Providers;

/// <summary>
/// Status and <c>Retry-After</c> of the last HTTP response seen during one attempt. The attempt puts a fresh
/// instance in <see cref="Current"/>; <see cref="ResponseCaptureHandler"/> (in the provider's HttpClient) fills it.
/// Needed for SDKs whose exceptions do not expose response headers (Anthropic).
/// </summary>
internal sealed class HttpResponseCapture
{
    internal static readonly AsyncLocal<HttpResponseCapture?> Current = new();

    public int? StatusCode { get; set; }

    /// <summary>Raw <c>Retry-After</c> header value (seconds or an HTTP date).</summary>
    public string? RetryAfter { get; set; }

    /// <summary>Raw <c>retry-after-ms</c> header value (milliseconds), sent by OpenAI and Azure.</summary>
    public string? RetryAfterMs { get; set; }
}

/// <summary>Records each response's status and retry headers into <see cref="HttpResponseCapture.Current"/>.</summary>
internal sealed class ResponseCaptureHandler : DelegatingHandler
{
    public ResponseCaptureHandler(HttpMessageHandler inner) : base(inner)
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (HttpResponseCapture.Current.Value is { } capture)
        {
            capture.StatusCode = (int)response.StatusCode;
            capture.RetryAfter = response.Headers.TryGetValues("Retry-After", out var ra) ? ra.FirstOrDefault() : null;
            capture.RetryAfterMs = response.Headers.TryGetValues("retry-after-ms", out var ms) ? ms.FirstOrDefault() : null;
        }
        return response;
    }
}
