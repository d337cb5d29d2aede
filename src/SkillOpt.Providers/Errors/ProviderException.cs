using System.Net;

namespace SkillOpt.Providers;

/// <summary>What went wrong in a failed model call.</summary>
internal enum ProviderErrorKind
{
    /// <summary>The provider answered with an HTTP error status (see <see cref="ProviderException.StatusCode"/>).</summary>
    HttpStatus,
    /// <summary>The provider answered 429 Too Many Requests (rate limited) until the retries ran out.</summary>
    RateLimited,
    /// <summary>A call took longer than the role's <c>timeout_seconds</c> until the retries ran out.</summary>
    Timeout,
    /// <summary>The connection could not be made or was dropped (<see cref="HttpRequestException"/>, <see cref="IOException"/>).</summary>
    Connection,
    /// <summary>The provider answered 2xx with a body that could not be read (malformed JSON or an unexpected shape).</summary>
    MalformedResponse,
    /// <summary>Too many consecutive failures: the circuit breaker is open (see <see cref="ProviderUnavailableException"/>).</summary>
    CircuitOpen,
}

/// <summary>
/// A model call failed for a reason that lies with the provider or its configuration, not with the task:
/// a non-retryable HTTP status (400, 401, 403, 404, ...), a malformed response, or a transient error that
/// persisted through every retry. The message names the provider, role, model, endpoint and HTTP status; it never
/// contains the API key.
/// </summary>
internal class ProviderException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Full, human-readable message (already free of secrets).</param>
    /// <param name="context">Provider, role and model of the failed call.</param>
    /// <param name="kind">What went wrong.</param>
    /// <param name="statusCode">HTTP status code when the provider answered with one; otherwise <see langword="null"/>.</param>
    /// <param name="isTransient"><see langword="true"/> when the error was of a retryable kind (the retries ran out).</param>
    /// <param name="attempts">Number of attempts made (1 when the error was not retried).</param>
    /// <param name="innerException">The provider SDK's exception, when it is free of secrets.</param>
    public ProviderException(string message, ProviderContext context, ProviderErrorKind kind, int? statusCode,
        bool isTransient, int attempts, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(context);
        Context = context;
        Kind = kind;
        StatusCode = statusCode;
        IsTransient = isTransient;
        Attempts = attempts;
    }

    /// <summary>Provider, role and model of the failed call.</summary>
    public ProviderContext Context { get; }

    /// <summary>Provider kind, for example <c>openai</c>.</summary>
    public string Provider => Context.Provider;

    /// <summary>Role name, for example <c>target</c>.</summary>
    public string Role => Context.Role;

    /// <summary>Model id.</summary>
    public string Model => Context.Model;

    /// <summary>What went wrong.</summary>
    public ProviderErrorKind Kind { get; }

    /// <summary>HTTP status code of the provider's answer, or <see langword="null"/> when there was none (timeout, connection error).</summary>
    public int? StatusCode { get; }

    /// <summary><see langword="true"/> when the error was retryable (429, 5xx, timeout, connection) and the retries ran out.</summary>
    public bool IsTransient { get; }

    /// <summary>Number of attempts made before giving up (1 when the error was not retried).</summary>
    public int Attempts { get; }

    /// <summary>Formats <paramref name="status"/> as <c>HTTP 401 (Unauthorized)</c>.</summary>
    internal static string DescribeStatus(int status)
    {
        var name = Enum.IsDefined(typeof(HttpStatusCode), status) ? ((HttpStatusCode)status).ToString() : null;
        return name is null ? $"HTTP {status}" : $"HTTP {status} ({name})";
    }
}

/// <summary>
/// The provider for a role is considered down: the circuit breaker saw too many failed attempts in a row (5xx, timeouts,
/// dropped connections) and is open, or its one probe after a break is under way. The message names provider, role,
/// model, endpoint and the last failure's status. Callers must stop the run with an error instead of scoring tasks as
/// failed: an outage must never look like failed tasks.
/// </summary>
internal sealed class ProviderUnavailableException : ProviderException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Full, human-readable message (already free of secrets).</param>
    /// <param name="context">Provider, role and model.</param>
    /// <param name="consecutiveFailures">Failed attempts in a row that open the circuit (the configured threshold).</param>
    /// <param name="lastStatusCode">HTTP status of the last failure, if it had one.</param>
    /// <param name="innerException">The last failure, when it is free of secrets.</param>
    public ProviderUnavailableException(string message, ProviderContext context, int consecutiveFailures,
        int? lastStatusCode, Exception? innerException = null)
        : base(message, context, ProviderErrorKind.CircuitOpen, lastStatusCode, isTransient: true, attempts: 0, innerException)
    {
        ConsecutiveFailures = consecutiveFailures;
    }

    /// <summary>Failed attempts in a row that open the circuit (the configured threshold).</summary>
    public int ConsecutiveFailures { get; }
}

/// <summary>
/// The configuration of a role cannot produce a working client: no provider or model, an unknown provider,
/// a missing endpoint, a missing API key variable, or an invalid value. Thrown when the client is built,
/// before any call is made. The message names the role and the setting or environment variable to fix;
/// it never contains a key.
/// </summary>
internal sealed class ProviderConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Full, human-readable message.</param>
    /// <param name="role">Role whose configuration is wrong, for example <c>target</c>.</param>
    /// <param name="setting">The setting or environment variable to fix, for example <c>OPENAI_API_KEY</c>.</param>
    public ProviderConfigurationException(string message, string role, string? setting = null)
        : base(message)
    {
        Role = role;
        Setting = setting;
    }

    /// <summary>Role whose configuration is wrong.</summary>
    public string Role { get; }

    /// <summary>The setting (<c>models.target.endpoint</c>) or environment variable (<c>OPENAI_API_KEY</c>) to fix, when one applies.</summary>
    public string? Setting { get; }
}

/// <summary>
/// In replay mode no recorded response matches a request. The message gives the request key, the model and the
/// first 200 characters of the last user message, so the missing recording can be identified and re-recorded.
/// </summary>
internal sealed class RecordingMissException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Full, human-readable message.</param>
    /// <param name="key">SHA-256 request key (64 lower-case hex characters) that had no recording.</param>
    /// <param name="model">Model id of the request.</param>
    /// <param name="lastUserMessage">The first 200 characters of the last user message, or an empty string.</param>
    public RecordingMissException(string message, string key, string model, string lastUserMessage)
        : base(message)
    {
        Key = key;
        Model = model;
        LastUserMessage = lastUserMessage;
    }

    /// <summary>SHA-256 request key (64 lower-case hex characters).</summary>
    public string Key { get; }

    /// <summary>Model id of the request.</summary>
    public string Model { get; }

    /// <summary>The first 200 characters of the last user message.</summary>
    public string LastUserMessage { get; }
}
