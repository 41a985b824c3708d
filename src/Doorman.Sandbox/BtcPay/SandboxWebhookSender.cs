using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Doorman.Sandbox.BtcPay;

/// <summary>
/// Delivers webhook events as BTCPay's WebhookSender does: per webhook, in order, one at a time; the body is the
/// event as indented camelCase JSON (UTF-8, no BOM) signed in <c>BTCPay-Sig: sha256=&lt;hex HMAC&gt;</c>; a failed
/// delivery of a webhook with automatic redelivery is retried on <see cref="SandboxBtcPayOptions.RedeliverySchedule"/>
/// (10 s, 1 min, 6 × 10 min), each retry a new delivery (new <c>deliveryId</c>, <c>isRedelivery: true</c>,
/// <c>originalDeliveryId</c> the first attempt's), re-signed. Only network errors, 5xx, 408 and 429 are retried
/// (payments.md B6); another 4xx ends the attempts.
/// </summary>
internal sealed class SandboxWebhookSender : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private readonly SandboxBtcPayEngine engine;
    private readonly SandboxBtcPayOptions options;
    private readonly HttpClient http;
    private readonly ConcurrentDictionary<string, Channel<(string Type, JsonObject Event)>> queues = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<SandboxWebhookDelivery> log = new();
    private readonly List<Task> workers = [];
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock faults = new();
    private int failuresLeft;
    private int failureStatus;

    public SandboxWebhookSender(SandboxBtcPayEngine engine, SandboxBtcPayOptions options)
    {
        this.engine = engine;
        this.options = options;
        http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = TimeSpan.FromSeconds(10) };
    }

    public IReadOnlyList<SandboxWebhookDelivery> Deliveries => [.. log];

    /// <summary>The next <paramref name="count"/> attempts are not sent; each is recorded as answered <paramref name="statusCode"/> (0: a network error).</summary>
    public void FailNext(int statusCode, int count)
    {
        lock (faults)
        {
            failureStatus = statusCode;
            failuresLeft = count;
        }
    }

    /// <summary>Queues <paramref name="type"/> for every webhook of the store that wants it.</summary>
    public void Publish(string storeId, string type, JsonObject evt)
    {
        foreach (var hook in engine.Webhooks(storeId).Where(h => h.Settings.ShouldDeliver(type)))
        {
            var queue = queues.GetOrAdd(hook.Id, id =>
            {
                var channel = Channel.CreateUnbounded<(string, JsonObject)>(new UnboundedChannelOptions { SingleReader = true });
                lock (workers)
                    workers.Add(Task.Run(() => WorkAsync(id, channel.Reader)));
                return channel;
            });
            queue.Writer.TryWrite((type, (JsonObject)evt.DeepClone()));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        foreach (var queue in queues.Values)
            queue.Writer.TryComplete();
        Task[] running;
        lock (workers)
            running = [.. workers];
        await Task.WhenAll(running.Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default)));
        http.Dispose();
        stopping.Dispose();
    }

    private async Task WorkAsync(string webhookId, ChannelReader<(string Type, JsonObject Event)> reader)
    {
        try
        {
            await foreach (var (type, evt) in reader.ReadAllAsync(stopping.Token))
                await DeliverAsync(webhookId, type, evt, stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task DeliverAsync(string webhookId, string type, JsonObject evt, CancellationToken cancellationToken)
    {
        var first = await SendAsync(webhookId, type, evt, originalDeliveryId: null, cancellationToken);
        if (first is null || first.Succeeded || !ShouldRetry(first))
            return;
        foreach (var wait in options.RedeliverySchedule)
        {
            await Task.Delay(wait, engine.Time, cancellationToken);
            var hook = engine.FindWebhook(webhookId);
            // The webhook may have changed meanwhile (WebhookSender re-reads it before each redelivery).
            if (hook is null || !hook.Settings.AutomaticRedelivery || !hook.Settings.ShouldDeliver(type))
                return;
            var retry = await SendAsync(webhookId, type, evt, first.DeliveryId, cancellationToken);
            if (retry is null || retry.Succeeded || !ShouldRetry(retry))
                return;
        }
    }

    private static bool ShouldRetry(SandboxWebhookDelivery attempt) =>
        attempt.StatusCode is null or >= 500 or 408 or 429;

    private async Task<SandboxWebhookDelivery?> SendAsync(
        string webhookId, string type, JsonObject evt, string? originalDeliveryId, CancellationToken cancellationToken)
    {
        var hook = engine.FindWebhook(webhookId);
        if (hook is null || !hook.Settings.ShouldDeliver(type))
            return null;
        var deliveryId = Ids.New(22);
        var now = engine.Time.GetUtcNow();

        // WebhookEvent's fields first, then the invoice event's, camelCase as BTCPay's Newtonsoft settings write them.
        var body = new JsonObject
        {
            ["deliveryId"] = deliveryId,
            ["webhookId"] = webhookId,
            ["originalDeliveryId"] = originalDeliveryId ?? deliveryId,
            ["isRedelivery"] = originalDeliveryId is not null,
            ["type"] = type,
            ["timestamp"] = now.ToUnixTimeSeconds(),
        };
        foreach (var (name, value) in evt)
            body[name] = value?.DeepClone();
        var bytes = Utf8NoBom.GetBytes(body.ToJsonString(Indented));
        // WebhookSender.SendDelivery: HMAC-SHA256 keyed with the secret's UTF-8 bytes (empty for none), lowercase hex.
        var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Utf8NoBom.GetBytes(hook.Settings.Secret), bytes));

        int? status = null;
        string? error = null;
        if (TakeFault() is { } fault)
        {
            status = fault == 0 ? null : fault;
            error = fault == 0 ? "simulated network error" : $"HTTP Error Code {fault} (simulated)";
        }
        else
        {
            try
            {
                using var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                content.Headers.Add("BTCPay-Sig", signature);
                using var response = await http.PostAsync(hook.Settings.Url, content, cancellationToken);
                status = (int)response.StatusCode;
                if (!response.IsSuccessStatusCode)
                    error = $"HTTP Error Code {status}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                error = e.Message;
            }
        }

        var delivery = new SandboxWebhookDelivery(webhookId, deliveryId, originalDeliveryId ?? deliveryId, originalDeliveryId is not null,
            type, evt["invoiceId"]?.GetValue<string>() ?? "", bytes, signature, status, error, now);
        log.Enqueue(delivery);
        return delivery;
    }

    private int? TakeFault()
    {
        lock (faults)
        {
            if (failuresLeft <= 0)
                return null;
            failuresLeft--;
            return failureStatus;
        }
    }
}
