using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SkillOpt.SimLab;

/// <summary>Kinds of injected faults.</summary>
internal enum FaultKind
{
    None,
    RateLimit,
    ServerError,
    Timeout,
    MalformedBody,
    Truncated,
}

/// <summary>
/// The SimLab server: a SIMULATED target model and optimizer model behind the OpenAI chat-completions protocol on
/// 127.0.0.1 (<c>POST /v1/chat/completions</c>, <c>GET /v1/models</c>). The requested model id selects the role. Every
/// response carries the header <c>x-skillopt-simulated: true</c> and <c>system_fingerprint: "skillopt-simlab"</c>.
/// </summary>
/// <remarks>
/// Replies are a pure function of (scenario seed, request content, <c>seed</c> field); injected faults depend also on
/// how many times the same request was seen, so that a retry eventually succeeds.
/// </remarks>
internal sealed class SimLabServer : IAsyncDisposable
{
    /// <summary>The header every SimLab response carries.</summary>
    public const string SimulatedHeader = "x-skillopt-simulated";

    private readonly WebApplication _app;
    private readonly SimWorld _world;
    private readonly TargetSimulator _target;
    private readonly OptimizerSimulator _optimizer;
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);

    private SimLabServer(WebApplication app, Scenario scenario)
    {
        _app = app;
        Scenario = scenario;
        _world = new SimWorld(scenario);
        _target = new TargetSimulator(_world);
        _optimizer = new OptimizerSimulator(_world);
    }

    /// <summary>The scenario being simulated.</summary>
    public Scenario Scenario { get; }

    /// <summary>Base URL of the API, e.g. <c>http://127.0.0.1:5123/v1</c> (what an OpenAI client takes as its endpoint).</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>What the server has served so far.</summary>
    public SimLabStatistics Statistics { get; } = new();

    /// <summary>
    /// Raised (on a request thread) the first time the target is asked each question that matches no task of the
    /// scenario; the request itself is answered as a failure. A host that cannot use such answers stops its run here.
    /// </summary>
    public event EventHandler<UnknownTaskEventArgs>? UnknownTaskAsked;

    /// <summary>Starts a server for <paramref name="scenario"/> on 127.0.0.1.</summary>
    /// <param name="scenario">The scenario (see <see cref="ScenarioLoader"/>).</param>
    /// <param name="port">TCP port; 0 picks a free one.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    public static async Task<SimLabServer> StartAsync(Scenario scenario, int port = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 64 * 1024 * 1024);
        var app = builder.Build();
        app.Urls.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        var server = new SimLabServer(app, scenario);
        app.Use(async (ctx, next) =>
        {
            ctx.Response.Headers[SimulatedHeader] = "true";
            await next(ctx).ConfigureAwait(false);
        });
        app.MapPost("/v1/chat/completions", server.ChatAsync);
        app.MapGet("/v1/models", server.Models);
        app.MapGet("/v1/models/{id}", (HttpContext ctx, string id) => server.Model(ctx, id));
        app.MapFallback((HttpContext ctx) => WriteError(ctx, 404, $"SimLab serves POST /v1/chat/completions and GET /v1/models, not {ctx.Request.Method} {ctx.Request.Path}.", "invalid_request_error", null, "not_found"));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = address.TrimEnd('/') + "/v1";
        return server;
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Simulates the reply content to a request body without HTTP, latency or faults (for tests and tools).</summary>
    internal (SimReply Reply, ChatRequest Request) Simulate(string body)
    {
        var (request, error) = ChatRequest.Parse(body);
        if (request is null)
        {
            throw new ArgumentException(error, nameof(body));
        }
        return (Role(request.Model) == "target" ? _target.Reply(request) : _optimizer.Reply(request), request);
    }

    internal TargetSimulator Target => _target;

    internal SimWorld World => _world;

    private string? Role(string model) =>
        string.Equals(model, Scenario.Models.Target, StringComparison.Ordinal) ? "target"
        : string.Equals(model, Scenario.Models.Optimizer, StringComparison.Ordinal) ? "optimizer"
        : null;

    private IResult Models(HttpContext ctx)
    {
        var data = new JsonArray();
        foreach (var id in new[] { Scenario.Models.Target, Scenario.Models.Optimizer })
        {
            data.Add(ModelObject(id));
        }
        return Results.Text(new JsonObject { ["object"] = "list", ["data"] = data }.ToJsonString(WireWriter.Json), "application/json", Encoding.UTF8);
    }

    private Task Model(HttpContext ctx, string id) => Role(id) is null
        ? WriteError(ctx, 404, UnknownModel(id), "invalid_request_error", "model", "model_not_found")
        : WriteJson(ctx, 200, ModelObject(id).ToJsonString(WireWriter.Json));

    private JsonObject ModelObject(string id) => new()
    {
        ["id"] = id,
        ["object"] = "model",
        ["created"] = WireWriter.Created,
        ["owned_by"] = "skillopt-simlab (simulated: " + (Role(id) ?? "?") + " of scenario " + Scenario.Name + ")",
    };

    private string UnknownModel(string id) =>
        $"The model '{id}' does not exist on this SimLab server (simulated models: {Scenario.Models.Target}, {Scenario.Models.Optimizer}).";

    private async Task ChatAsync(HttpContext ctx)
    {
        string body;
        using (var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
        }
        var (request, error) = ChatRequest.Parse(body);
        if (request is null)
        {
            Statistics.Refuse();
            await WriteError(ctx, 400, error!, "invalid_request_error", null, null).ConfigureAwait(false);
            return;
        }
        var role = Role(request.Model);
        if (role is null)
        {
            Statistics.Refuse();
            await WriteError(ctx, 404, UnknownModel(request.Model), "invalid_request_error", "model", "model_not_found").ConfigureAwait(false);
            return;
        }

        var attempt = _attempts.AddOrUpdate(request.Key, 0, (_, n) => n + 1);
        var chaos = SimRandom.Create(Scenario.Seed, "chaos", request.Key, attempt);
        var latency = role == "target" ? Scenario.Latency.Target : Scenario.Latency.Optimizer;
        var delay = DrawLatency(latency, chaos);
        if (delay > 0)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(delay), ctx.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        var fault = DrawFault(role, attempt, chaos);
        if (fault != FaultKind.None && fault != FaultKind.Truncated)
        {
            Statistics.Fault(fault);
            await WriteFaultAsync(ctx, fault, request).ConfigureAwait(false);
            return;
        }

        var reply = role == "target" ? _target.Reply(request) : _optimizer.Reply(request);
        if (role == "target")
        {
            Count(reply);
        }
        if (fault == FaultKind.Truncated && reply.Content is { Length: > 1 } full)
        {
            Statistics.Fault(fault);
            reply = new SimReply(full[..(full.Length / 2)], [], "length");
        }
        else if (request.MaxTokens is { } max && reply.Content is { } c && QuestionText.Tokens(c) > max)
        {
            reply = new SimReply(c[..Math.Min(c.Length, Math.Max(0, max) * 4)], [], "length");
        }
        var prompt = request.PromptTokens();
        var cached = Math.Min(prompt, request.CachedTokens());
        var completion = QuestionText.Tokens(reply.Content) + reply.ToolCalls.Sum(t => QuestionText.Tokens(t.Name + t.Arguments));
        Statistics.Completed(role == "target", request.SchemaName, prompt, cached, completion);
        if (request.Stream)
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.WriteAsync(WireWriter.StreamChunks(request, reply, prompt, cached, completion), ctx.RequestAborted).ConfigureAwait(false);
            return;
        }
        await WriteJson(ctx, 200, WireWriter.Completion(request, reply, prompt, cached, completion)).ConfigureAwait(false);
    }

    private void Count(SimReply reply)
    {
        if (reply.UnknownQuestion is { } question)
        {
            if (Statistics.AskedUnknown(question))
            {
                UnknownTaskAsked?.Invoke(this, new UnknownTaskEventArgs(question, Scenario.Name));
            }
        }
        else if (reply.AskedTask is { } task)
        {
            Statistics.AskedKnown(task.Id);
        }
    }

    private static double DrawLatency(LatencyDistribution d, SimRandom rng)
    {
        if (d.MedianMs <= 0)
        {
            return 0;
        }
        var sigma = d.P95Ms > d.MedianMs ? Math.Log(d.P95Ms / d.MedianMs) / 1.6448536269514722 : 0;
        return Math.Min(d.MedianMs * Math.Exp(sigma * rng.NextGaussian()), 120_000);
    }

    private FaultKind DrawFault(string role, int attempt, SimRandom rng)
    {
        var f = Scenario.Faults;
        if (attempt >= f.MaxConsecutive || !f.Roles.Contains(role, StringComparer.Ordinal))
        {
            return FaultKind.None;
        }
        var u = rng.NextDouble();
        foreach (var (kind, rate) in new[] { (FaultKind.RateLimit, f.RateLimit), (FaultKind.ServerError, f.ServerError), (FaultKind.Timeout, f.Timeout), (FaultKind.MalformedBody, f.MalformedBody), (FaultKind.Truncated, f.Truncated) })
        {
            if ((u -= rate) < 0)
            {
                return kind;
            }
        }
        return FaultKind.None;
    }

    private async Task WriteFaultAsync(HttpContext ctx, FaultKind fault, ChatRequest request)
    {
        switch (fault)
        {
            case FaultKind.RateLimit:
                var seconds = Scenario.Faults.RetryAfterSeconds;
                ctx.Response.Headers["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture);
                ctx.Response.Headers["retry-after-ms"] = (seconds * 1000).ToString(CultureInfo.InvariantCulture);
                ctx.Response.Headers["x-ratelimit-remaining-requests"] = "0";
                await WriteError(ctx, 429, $"Rate limit reached for {request.Model} (simulated by SimLab). Please try again in {seconds}s.", "requests", null, "rate_limit_exceeded").ConfigureAwait(false);
                break;
            case FaultKind.ServerError:
                await WriteError(ctx, 500, "The server had an error while processing your request (simulated by SimLab).", "server_error", null, null).ConfigureAwait(false);
                break;
            case FaultKind.Timeout:
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Scenario.Faults.HangSeconds), ctx.RequestAborted).ConfigureAwait(false);
                    await WriteError(ctx, 504, "Gateway timeout (simulated by SimLab).", "server_error", null, "timeout").ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // the client gave up, as intended
                }
                break;
            case FaultKind.MalformedBody:
                var valid = WireWriter.Completion(request, SimReply.Text("(malformed)"), 0, 0, 0);
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync(valid[..(valid.Length / 2)], ctx.RequestAborted).ConfigureAwait(false);
                break;
        }
    }

    private static Task WriteError(HttpContext ctx, int status, string message, string type, string? param, string? code) =>
        WriteJson(ctx, status, WireWriter.Error(message, type, param, code));

    private static async Task WriteJson(HttpContext ctx, int status, string json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json, ctx.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>The target was asked a question that matches no task of the scenario (<see cref="SimLabServer.UnknownTaskAsked"/>).</summary>
/// <param name="question">The question as asked (the last user message).</param>
/// <param name="scenario">The scenario's name.</param>
internal sealed class UnknownTaskEventArgs(string question, string scenario) : EventArgs
{
    /// <summary>The question as asked (the last user message).</summary>
    public string Question { get; } = question;

    /// <summary>The scenario's name.</summary>
    public string Scenario { get; } = scenario;
}
