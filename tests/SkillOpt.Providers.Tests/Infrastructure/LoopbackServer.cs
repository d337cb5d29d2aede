using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SkillOpt.Providers.Tests.Infrastructure;

/// <summary>One request the server received.</summary>
public sealed record CapturedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body, DateTimeOffset ReceivedAt)
{
    public JsonNode Json => JsonNode.Parse(Body) ?? throw new InvalidOperationException("The request body is empty.");

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
}

/// <summary>
/// A loopback HTTP server on 127.0.0.1 (port 0) that answers with scripted responses (OpenAI chat-completions or
/// Anthropic messages bodies) and captures every request.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    public delegate Task Responder(CapturedRequest request, HttpContext context);

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Responder> _script = new();
    private readonly ConcurrentQueue<CapturedRequest> _requests = new();

    private readonly TimeProvider _clock;

    private LoopbackServer(WebApplication app, TimeProvider clock)
    {
        _app = app;
        _clock = clock;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Answers requests once the script is empty (default: HTTP 500 "no scripted response").</summary>
    public Responder Fallback { get; set; } = (_, ctx) => Json(500, """{"error":{"message":"no scripted response"}}""")(null!, ctx);

    public IReadOnlyList<CapturedRequest> Requests => _requests.ToList();

    public int RequestCount => _requests.Count;

    /// <summary>Starts a server; <paramref name="clock"/> stamps each request's <see cref="CapturedRequest.ReceivedAt"/>.</summary>
    public static async Task<LoopbackServer> StartAsync(TimeProvider? clock = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        var server = new LoopbackServer(app, clock ?? TimeProvider.System);
        app.Run(server.HandleAsync);
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    public LoopbackServer Enqueue(Responder responder)
    {
        _script.Enqueue(responder);
        return this;
    }

    public LoopbackServer EnqueueJson(int status, string body, params (string Name, string Value)[] headers) =>
        Enqueue(Json(status, body, headers));

    public static Responder Json(int status, string body, params (string Name, string Value)[] headers) => async (_, ctx) =>
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        foreach (var (name, value) in headers) ctx.Response.Headers[name] = value;
        await ctx.Response.WriteAsync(body, Encoding.UTF8);
    };

    public async Task WaitForRequestsAsync(int count)
    {
        var sw = Stopwatch.StartNew();
        while (RequestCount < count)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException($"Expected {count} requests, got {RequestCount}.");
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var request = new CapturedRequest(context.Request.Method, context.Request.Path.Value ?? "", headers, body, _clock.GetUtcNow());
        _requests.Enqueue(request);
        var responder = _script.TryDequeue(out var next) ? next : Fallback;
        await responder(request, context);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
