using System.ClientModel;
using System.Globalization;
using System.Text.Json;
using Anthropic.Exceptions;

namespace SkillOpt.Providers;

/// <summary>One failed attempt, classified.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="StatusCode">HTTP status, when the provider answered.</param>
/// <param name="IsTransient">Whether a retry may succeed (429, 408, 409, 425, 5xx, timeouts, dropped connections).</param>
/// <param name="CountsAsOutage">Whether the failure counts toward the circuit breaker (5xx, timeouts, connections; not 429).</param>
/// <param name="RetryAfter">Delay the provider asked for (<c>Retry-After</c> / <c>retry-after-ms</c>), if any.</param>
/// <param name="Detail">The provider's own error message or the exception's, not yet redacted.</param>
internal sealed record ProviderFailure(ProviderErrorKind Kind, int? StatusCode, bool IsTransient, bool CountsAsOutage,
    TimeSpan? RetryAfter, string Detail);

/// <summary>
/// Maps exceptions of the OpenAI and Anthropic SDKs (and of the HTTP stack) to <see cref="ProviderFailure"/>; any other
/// exception raised after a 2xx response is a malformed response (the body did not have the expected shape).
/// </summary>
internal static class ProviderErrorClassifier
{
    private const int MaxDetailLength = 400;

    /// <summary>
    /// Classifies <paramref name="exception"/>; <see langword="null"/> when it is not a provider error (a bug, an argument
    /// error). Call it only after excluding cancellation requested by the caller.
    /// </summary>
    public static ProviderFailure? Classify(Exception exception, HttpResponseCapture? capture, DateTimeOffset now)
    {
        switch (exception)
        {
            case TimeoutException timeout:
                return new(ProviderErrorKind.Timeout, null, true, true, null, timeout.Message);

            case ClientResultException { Status: > 0 } result:
            {
                var raw = SafeRawResponse(result);
                string? retryAfter = null, retryAfterMs = null, body = null;
                if (raw is not null)
                {
                    raw.Headers.TryGetValue("Retry-After", out retryAfter);
                    raw.Headers.TryGetValue("retry-after-ms", out retryAfterMs);
                    try { body = raw.Content?.ToString(); } catch (InvalidOperationException) { }
                }
                retryAfter ??= capture?.RetryAfter;
                retryAfterMs ??= capture?.RetryAfterMs;
                return FromStatus(result.Status, ParseRetryAfter(retryAfter, retryAfterMs, now),
                    ErrorMessageFromBody(body) ?? FirstLine(result.Message));
            }

            case ClientResultException result:
                // Status 0: no response at all (transport failure); the cause is the inner exception.
                return result.InnerException is { } inner
                    ? Classify(inner, capture, now) ?? Connection(Chain(result))
                    : Connection(Chain(result));

            case AnthropicApiException api:
            {
                var detail = api.ApiMessage is { Length: > 0 } m ? m : ErrorMessageFromBody(api.ResponseBody) ?? FirstLine(api.Message);
                return FromStatus((int)api.StatusCode, ParseRetryAfter(capture?.RetryAfter, capture?.RetryAfterMs, now), detail);
            }

            case AnthropicIOException io:
                return Connection(Chain(io));

            case AnthropicInvalidDataException invalid:
                return Malformed(invalid.Message);

            case AnthropicServiceException service:
                return Malformed(service.ApiMessage ?? service.Message);

            case HttpRequestException { StatusCode: { } status } http:
                return FromStatus((int)status, ParseRetryAfter(capture?.RetryAfter, capture?.RetryAfterMs, now), http.Message);

            case HttpRequestException http:
                return Connection(Chain(http));

            case IOException io:
                return Connection(Chain(io));

            case JsonException json:
                return Malformed(json.Message);

            case InvalidDataException invalidData:
                return Malformed(invalidData.Message);

            case FormatException format:
                return Malformed(format.Message);

            case OperationCanceledException canceled:
                // The caller's own cancellation is filtered out before classification, so this is a timeout inside the
                // SDK or the HTTP stack (their real-time backstops).
                return new(ProviderErrorKind.Timeout, null, true, true, null, FirstLine(canceled.InnerException?.Message ?? canceled.Message));

            case AggregateException { InnerExceptions.Count: 1 } aggregate:
                return Classify(aggregate.InnerExceptions[0], capture, now);

            case InvalidOperationException or KeyNotFoundException or ArgumentException when HasJsonCause(exception):
                return Malformed(exception.Message);
        }
        // The provider answered 2xx and the SDK could not turn the body into a response (no choices, an array, ...).
        return capture?.StatusCode is >= 200 and < 300 ? Malformed(exception.Message) : null;
    }

    /// <summary>Classifies an HTTP status: 408, 409, 425, 429 and 5xx are transient; everything else is not.</summary>
    public static ProviderFailure FromStatus(int status, TimeSpan? retryAfter, string detail)
    {
        if (status == 429)
            return new(ProviderErrorKind.RateLimited, status, true, false, retryAfter, detail);
        var transient = status is 408 or 409 or 425 or >= 500;
        return new(ProviderErrorKind.HttpStatus, status, transient, status >= 500, transient ? retryAfter : null, detail);
    }

    /// <summary>
    /// Parses <c>Retry-After</c> (delta seconds or an HTTP date, relative to <paramref name="now"/>) and
    /// <c>retry-after-ms</c>; returns <see langword="null"/> when neither holds a usable value.
    /// </summary>
    public static TimeSpan? ParseRetryAfter(string? retryAfter, string? retryAfterMs, DateTimeOffset now)
    {
        if (!string.IsNullOrWhiteSpace(retryAfterMs)
            && double.TryParse(retryAfterMs, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0)
            return TimeSpan.FromMilliseconds(ms);
        if (string.IsNullOrWhiteSpace(retryAfter)) return null;
        retryAfter = retryAfter.Trim();
        if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            return seconds >= 0 ? TimeSpan.FromSeconds(seconds) : null;
        if (DateTimeOffset.TryParseExact(retryAfter, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            || DateTimeOffset.TryParse(retryAfter, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date))
        {
            var delay = date - now;
            return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
        }
        return null;
    }

    /// <summary>Extracts <c>error.message</c> (OpenAI and Anthropic error shapes) or <c>message</c> from a JSON error body.</summary>
    public static string? ErrorMessageFromBody(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("error", out var error))
                {
                    if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                        return Truncate(m.GetString()!);
                    if (error.ValueKind == JsonValueKind.String)
                        return Truncate(error.GetString()!);
                }
                if (root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
                    return Truncate(message.GetString()!);
            }
        }
        catch (JsonException)
        {
        }
        return Truncate(body.Trim());
    }

    private static ProviderFailure Connection(string detail) =>
        new(ProviderErrorKind.Connection, null, true, true, null, Truncate(detail));

    private static ProviderFailure Malformed(string detail) =>
        new(ProviderErrorKind.MalformedResponse, null, false, false, null, Truncate(FirstLine(detail)));

    /// <summary>Joins the distinct messages of an exception and its inner exceptions (at most three) with ": ".</summary>
    private static string Chain(Exception exception)
    {
        var parts = new List<string>();
        for (var e = exception; e is not null && parts.Count < 3; e = e.InnerException)
        {
            var message = e.Message.Trim().TrimEnd('.');
            if (message.Length > 0 && !parts.Contains(message)) parts.Add(message);
        }
        return string.Join(": ", parts);
    }

    private static bool HasJsonCause(Exception exception)
    {
        for (var e = exception.InnerException; e is not null; e = e.InnerException)
            if (e is JsonException or FormatException) return true;
        return false;
    }

    private static System.ClientModel.Primitives.PipelineResponse? SafeRawResponse(ClientResultException exception)
    {
        try { return exception.GetRawResponse(); }
        catch (InvalidOperationException) { return null; }
    }

    private static string FirstLine(string text)
    {
        var i = text.IndexOf('\n');
        return Truncate(i < 0 ? text : text[..i].TrimEnd());
    }

    private static string Truncate(string text) =>
        text.Length <= MaxDetailLength ? text : text[..MaxDetailLength] + "…";
}
