using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FaultSoak;

/// <summary>
/// A loopback HTTP proxy in front of a model server that fails a share of the requests, each failure one of: 429 with
/// <c>Retry-After: 1</c>, 500, 503, a connection reset before or after the upstream answered, or a stall (no answer
/// until the client gives up). Which request fails, and how, is drawn from a seeded generator.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    /// <summary>The kinds of fault, in the order they are drawn.</summary>
    public static readonly string[] Kinds = ["429", "500", "503", "reset", "reset-after-upstream", "stall"];

    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly Random _random;
    private readonly object _gate = new();
    private readonly Dictionary<string, long> _faults = Kinds.ToDictionary(k => k, _ => 0L);
    private long _requests;

    private FaultProxy(WebApplication app, HttpClient upstream, Random random)
    {
        _app = app;
        _upstream = upstream;
        _random = random;
    }

    /// <summary>The proxy's base URL (<c>http://127.0.0.1:port/v1</c>).</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Requests received.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Faults injected, by kind.</summary>
    public IReadOnlyDictionary<string, long> Faults
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, long>(_faults);
            }
        }
    }

    /// <summary>Starts the proxy on 127.0.0.1 (a free port) in front of <paramref name="upstreamBaseUrl"/>.</summary>
    /// <param name="upstreamBaseUrl">The model server, e.g. <c>http://127.0.0.1:5000/v1</c>.</param>
    /// <param name="faultRate">Share of requests that fail, in [0, 1).</param>
    /// <param name="stall">How long a stalled request is held before its connection is dropped (longer than the client's timeout).</param>
    /// <param name="seed">Seed of the fault draws.</param>
    public static async Task<FaultProxy> StartAsync(string upstreamBaseUrl, double faultRate, TimeSpan stall, int seed)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var upstreamRoot = new Uri(upstreamBaseUrl.TrimEnd('/').EndsWith("/v1", StringComparison.Ordinal) ? upstreamBaseUrl.TrimEnd('/')[..^3] : upstreamBaseUrl);
        var proxy = new FaultProxy(app, new HttpClient { BaseAddress = upstreamRoot, Timeout = TimeSpan.FromMinutes(5) }, new Random(seed));
        app.Run(context => proxy.HandleAsync(context, faultRate, stall));
        await app.StartAsync().ConfigureAwait(false);
        proxy.BaseUrl = app.Urls.First().TrimEnd('/') + "/v1";
        return proxy;
    }

    private async Task HandleAsync(HttpContext context, double faultRate, TimeSpan stall)
    {
        Interlocked.Increment(ref _requests);
        string? fault;
        lock (_gate)
        {
            fault = _random.NextDouble() < faultRate ? Kinds[_random.Next(Kinds.Length)] : null;
            if (fault is not null)
            {
                _faults[fault]++;
            }
        }
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        switch (fault)
        {
            case "429":
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = "1";
                await context.Response.WriteAsJsonAsync(Error("rate limited by the fault proxy", "rate_limit_exceeded")).ConfigureAwait(false);
                return;
            case "500" or "503":
                context.Response.StatusCode = int.Parse(fault, CultureInfo.InvariantCulture);
                await context.Response.WriteAsJsonAsync(Error("server error injected by the fault proxy", "server_error")).ConfigureAwait(false);
                return;
            case "reset":
                context.Abort();
                return;
            case "stall":
                try
                {
                    await Task.Delay(stall, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // the client gave up first, as it should
                }
                context.Abort();
                return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
        if (body.Length > 0 || context.Request.ContentLength is not null)
        {
            request.Content = new ByteArrayContent(body.ToArray());
            if (context.Request.ContentType is { } type)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
        }
        if (context.Request.Headers.Authorization is { Count: > 0 } auth)
        {
            request.Headers.TryAddWithoutValidation("Authorization", auth.ToString());
        }
        using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseContentRead, context.RequestAborted).ConfigureAwait(false);
        var payload = await response.Content.ReadAsByteArrayAsync(context.RequestAborted).ConfigureAwait(false);
        if (fault == "reset-after-upstream")
        {
            // the upstream did the work, the answer is lost on the way back
            context.Abort();
            return;
        }
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && !name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }
        await context.Response.Body.WriteAsync(payload, context.RequestAborted).ConfigureAwait(false);
    }

    private static object Error(string message, string type) => new { error = new { message, type, code = type } };

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _upstream.Dispose();
    }
}
