using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Peers;

/// <summary>
/// A Matrix user played by an independent client: matrix-js-sdk in a Node.js process (<c>tests/peer/peer.mjs</c>),
/// driven over stdin/stdout with one JSON line per command and per answer. What it reports about rooms, members and
/// messages comes from the SDK's own sync and room models, so a test that asserts through it checks our homeserver
/// or bot against a second implementation of the protocol, not against our own parser.
/// Commands may overlap (a <c>waitFor…</c> can be pending while others run); answers are matched by id.
/// </summary>
public sealed class JsPeer : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);
    private const int StderrLinesKept = 60;

    private readonly Process _process;
    private readonly string _name;
    private readonly Action<string>? _log;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly Queue<string> _stderr = new();
    private readonly SemaphoreSlim _stdin = new(1, 1);
    private readonly Task _readingStdout;
    private readonly Task _readingStderr;
    private long _nextId;
    private int _disposed;

    private JsPeer(Process process, string name, Action<string>? log)
    {
        _process = process;
        _name = name;
        _log = log;
        _pending[0] = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _readingStderr = Task.Run(ReadStderrAsync);
        _readingStdout = Task.Run(ReadStdoutAsync);
    }

    /// <summary>The user this peer logged in as; null before <see cref="LoginAsync"/>.</summary>
    public string? UserId { get; private set; }

    /// <summary>What the peer said when it started, e.g. "matrix-js-sdk 43.0.0".</summary>
    public string Sdk { get; private set; } = "";

    /// <summary>
    /// Starts <c>node tests/peer/peer.mjs</c> and waits until the SDK is loaded. <paramref name="log"/> receives the
    /// peer's stderr line by line (e.g. <c>ITestOutputHelper.WriteLine</c>); the last lines also go into every failure.
    /// </summary>
    public static async Task<JsPeer> StartAsync(string name, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        if (JsPeerEnvironment.UnavailableReason is { } reason)
        {
            throw new JsPeerException($"the matrix-js-sdk peer cannot run: {reason}", "PEER_UNAVAILABLE", null);
        }

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = JsPeerEnvironment.PeerDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(JsPeerEnvironment.Script);
        var process = Process.Start(start) ?? throw new JsPeerException("node did not start", "PEER_UNAVAILABLE", null);
        var peer = new JsPeer(process, name, log);
        try
        {
            var ready = await peer.AwaitAsync(0, "start", TimeSpan.FromSeconds(30), cancellationToken);
            peer.Sdk = ready["sdk"]?.GetValue<string>() ?? "";
            return peer;
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }

    // ---- Commands (tests/peer/peer.mjs documents each) ----

    /// <summary>Starts the SDK on an existing session and waits for its first sync.</summary>
    public async Task LoginAsync(Uri baseUrl, string userId, string accessToken, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("login", new JsonObject
        {
            ["baseUrl"] = baseUrl.ToString().TrimEnd('/'), ["userId"] = userId, ["accessToken"] = accessToken,
        }, cancellationToken: cancellationToken);
        UserId = userId;
        DeviceId = result["device_id"]?.GetValue<string>();
    }

    /// <summary>The device the access token belongs to; null before <see cref="LoginAsync"/>.</summary>
    public string? DeviceId { get; private set; }

    /// <summary>
    /// Waits until the SDK's crypto knows <paramref name="deviceId"/> of <paramref name="userId"/> (default: this
    /// peer's user): the device has published its keys, and the device list the SDK follows shows it.
    /// </summary>
    public async Task WaitForDeviceAsync(string deviceId, string? userId = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(20);
        await CallAsync("waitForDevice", new JsonObject { ["device"] = deviceId, ["user"] = userId, ["timeoutMs"] = (long)wait.TotalMilliseconds },
            wait + TimeSpan.FromSeconds(10), cancellationToken);
    }

    /// <summary>
    /// <c>createRoom</c> with the CS API body as given (preset, is_direct, invite, room_version, room_alias_name,
    /// initial_state…); <paramref name="joinRule"/> adds an <c>m.room.join_rules</c> entry to initial_state.
    /// </summary>
    public async Task<string> CreateRoomAsync(JsonObject? options = null, string? joinRule = null, CancellationToken cancellationToken = default)
    {
        var arguments = options?.DeepClone().AsObject() ?? [];
        if (joinRule is not null)
        {
            arguments["join_rule"] = joinRule;
        }

        return (await CallAsync("createRoom", arguments, cancellationToken: cancellationToken))["room_id"]!.GetValue<string>();
    }

    /// <summary>
    /// Opens a DM as Element does: trusted_private_chat with is_direct and the invite (and, when
    /// <paramref name="encrypted"/>, m.room.encryption in its initial state, as Element has by default), then records it in m.direct.
    /// </summary>
    public async Task<string> CreateDmAsync(string userId, bool encrypted = false, CancellationToken cancellationToken = default) =>
        (await CallAsync("createDm", new JsonObject { ["userId"] = userId, ["encrypted"] = encrypted }, cancellationToken: cancellationToken))["room_id"]!.GetValue<string>();

    public Task InviteAsync(string roomId, string userId, string? reason = null, CancellationToken cancellationToken = default) =>
        CallAsync("invite", new JsonObject { ["room"] = roomId, ["userId"] = userId, ["reason"] = reason }, cancellationToken: cancellationToken);

    public async Task<string> JoinAsync(string roomIdOrAlias, CancellationToken cancellationToken = default) =>
        (await CallAsync("join", new JsonObject { ["room"] = roomIdOrAlias }, cancellationToken: cancellationToken))["room_id"]!.GetValue<string>();

    public async Task<string> KnockAsync(string roomIdOrAlias, string? reason = null, CancellationToken cancellationToken = default) =>
        (await CallAsync("knock", new JsonObject { ["room"] = roomIdOrAlias, ["reason"] = reason }, cancellationToken: cancellationToken))["room_id"]!.GetValue<string>();

    public Task LeaveAsync(string roomId, CancellationToken cancellationToken = default) =>
        CallAsync("leave", new JsonObject { ["room"] = roomId }, cancellationToken: cancellationToken);

    /// <summary>Sets one user's power level in the room (the SDK's <c>setPowerLevel</c>); returns the power-levels event id.</summary>
    public async Task<string> SetPowerLevelAsync(string roomId, string userId, long level, CancellationToken cancellationToken = default) =>
        (await CallAsync("setPowerLevel", new JsonObject { ["room"] = roomId, ["userId"] = userId, ["level"] = level },
            cancellationToken: cancellationToken))["event_id"]!.GetValue<string>();

    public Task KickAsync(string roomId, string userId, string? reason = null, CancellationToken cancellationToken = default) =>
        CallAsync("kick", new JsonObject { ["room"] = roomId, ["userId"] = userId, ["reason"] = reason }, cancellationToken: cancellationToken);

    /// <summary>Sends an <c>m.room.message</c> through the SDK; returns its event id.</summary>
    public async Task<string> SendAsync(string roomId, string body, string msgtype = "m.text", string? html = null, CancellationToken cancellationToken = default) =>
        (await CallAsync("send", new JsonObject { ["room"] = roomId, ["body"] = body, ["msgtype"] = msgtype, ["html"] = html },
            cancellationToken: cancellationToken))["event_id"]!.GetValue<string>();

    /// <summary>
    /// The first message the SDK has or receives in the room whose body contains <paramref name="contains"/> (or
    /// matches <paramref name="regex"/>, JavaScript syntax), from <paramref name="sender"/> and of <paramref name="msgType"/> when given,
    /// and a reply (<c>m.in_reply_to</c>) to the event <paramref name="replyTo"/> when given.
    /// </summary>
    public async Task<PeerMessage> WaitForMessageAsync(string roomId, string? contains = null, string? regex = null, string? sender = null,
        TimeSpan? timeout = null, string? msgType = null, string? replyTo = null, CancellationToken cancellationToken = default)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(20);
        var result = await CallAsync("waitForMessage", new JsonObject
        {
            ["room"] = roomId, ["contains"] = contains, ["regex"] = regex, ["sender"] = sender, ["msgtype"] = msgType, ["replyTo"] = replyTo,
            ["timeoutMs"] = (long)wait.TotalMilliseconds,
        }, wait + TimeSpan.FromSeconds(10), cancellationToken);
        return new PeerMessage(result["event_id"]!.GetValue<string>(), result["sender"]!.GetValue<string>(),
            result["body"]!.GetValue<string>(), result["msgtype"]?.GetValue<string>(), result["content"]!.AsObject(),
            result["encrypted"]?.GetValue<bool>() == true);
    }

    /// <summary>
    /// Every message the SDK has in the room (from <paramref name="sender"/>, when given), oldest first. For proving
    /// absence: first wait for a message that must come after the one that must not.
    /// </summary>
    public async Task<IReadOnlyList<PeerMessage>> MessagesAsync(string roomId, string? sender = null, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("messages", new JsonObject { ["room"] = roomId, ["sender"] = sender }, cancellationToken: cancellationToken);
        return [.. result["messages"]!.AsArray().Select(m => new PeerMessage(m!["event_id"]!.GetValue<string>(), m["sender"]!.GetValue<string>(),
            m["body"]?.GetValue<string>() ?? "", m["msgtype"]?.GetValue<string>(), m["content"]!.AsObject(), m["encrypted"]?.GetValue<bool>() == true))];
    }

    /// <summary>Waits until this peer is invited to a room not in <paramref name="except"/> (by <paramref name="inviter"/>, when given).</summary>
    public async Task<PeerInvite> WaitForInviteAsync(string? inviter = null, IEnumerable<string>? except = null, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(20);
        var result = await CallAsync("waitForInvite", new JsonObject
        {
            ["inviter"] = inviter, ["except"] = new JsonArray([.. (except ?? []).Select(r => (JsonNode)r)]), ["timeoutMs"] = (long)wait.TotalMilliseconds,
        }, wait + TimeSpan.FromSeconds(10), cancellationToken);
        return new PeerInvite(result["room"]!.GetValue<string>(), result["inviter"]?.GetValue<string>(), result["dm_inviter"]?.GetValue<string>());
    }

    /// <summary>Waits until the SDK's room model shows <paramref name="userId"/> (default: this peer) with <paramref name="membership"/>.</summary>
    public async Task<PeerMembership> WaitForMembershipAsync(string roomId, string membership, string? userId = null,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(20);
        var result = await CallAsync("waitForMembership", new JsonObject
        {
            ["room"] = roomId, ["membership"] = membership, ["user"] = userId, ["timeoutMs"] = (long)wait.TotalMilliseconds,
        }, wait + TimeSpan.FromSeconds(10), cancellationToken);
        return new PeerMembership(result["membership"]!.GetValue<string>(), result["event"] as JsonObject, result["dm_inviter"]?.GetValue<string>());
    }

    /// <summary>
    /// The room's power levels as the server has them, and the level the SDK gives each of <paramref name="users"/>
    /// (a number, "Infinity" for a room v12 creator, null for a non-member).
    /// </summary>
    public async Task<(JsonObject Content, JsonObject Levels)> GetPowerLevelsAsync(string roomId, IEnumerable<string>? users = null,
        CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("getPowerLevels", new JsonObject
        {
            ["room"] = roomId, ["users"] = new JsonArray([.. (users ?? []).Select(u => JsonValue.Create(u))]),
        }, cancellationToken: cancellationToken);
        return (result["content"]!.AsObject(), result["levels"]!.AsObject());
    }

    public async Task<JsonObject> GetStateAsync(string roomId, string type, string stateKey = "", CancellationToken cancellationToken = default) =>
        (await CallAsync("getState", new JsonObject { ["room"] = roomId, ["type"] = type, ["stateKey"] = stateKey },
            cancellationToken: cancellationToken))["content"]!.AsObject();

    /// <summary>Uploads through the SDK; returns the <c>mxc://</c> URI.</summary>
    public async Task<string> UploadAsync(ReadOnlyMemory<byte> data, string contentType, string name, CancellationToken cancellationToken = default) =>
        (await CallAsync("upload", new JsonObject
        {
            ["base64"] = Convert.ToBase64String(data.Span), ["contentType"] = contentType, ["name"] = name,
        }, cancellationToken: cancellationToken))["content_uri"]!.GetValue<string>();

    /// <summary>Downloads through the authenticated media API (<c>/_matrix/client/v1/media/download</c>) with the peer's token.</summary>
    public async Task<PeerMedia> DownloadAsync(string mxcUri, CancellationToken cancellationToken = default) =>
        Media(mxcUri, await CallAsync("download", new JsonObject { ["mxc"] = mxcUri }, cancellationToken: cancellationToken));

    /// <summary>
    /// The file an <c>m.image</c> or <c>m.file</c> content names, as the client shows it: from its <c>url</c>, or
    /// decrypted from its <c>file</c> object in an encrypted room (the hash checked), with the bytes.
    /// </summary>
    public async Task<PeerMedia> DownloadAttachmentAsync(JsonObject content, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("downloadAttachment", new JsonObject { ["content"] = content.DeepClone(), ["withData"] = true },
            cancellationToken: cancellationToken);
        return Media(result["url"]!.GetValue<string>(), result);
    }

    /// <summary>As <see cref="DownloadAsync"/>, with the bytes themselves in <see cref="PeerMedia.Data"/>.</summary>
    public async Task<PeerMedia> DownloadWithDataAsync(string mxcUri, CancellationToken cancellationToken = default) =>
        Media(mxcUri, await CallAsync("download", new JsonObject { ["mxc"] = mxcUri, ["withData"] = true }, cancellationToken: cancellationToken));

    /// <summary>Uploads through the SDK, downloads it back through the authenticated API; fails unless the bytes match.</summary>
    public async Task<PeerMedia> UploadAndDownloadAsync(ReadOnlyMemory<byte> data, string contentType, string name, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("uploadAndDownload", new JsonObject
        {
            ["base64"] = Convert.ToBase64String(data.Span), ["contentType"] = contentType, ["name"] = name,
        }, cancellationToken: cancellationToken);
        return Media(result["content_uri"]!.GetValue<string>(), result);
    }

    /// <summary>The user's account data of that type from the server, or null when never set.</summary>
    public async Task<JsonObject?> GetAccountDataAsync(string type = "m.direct", CancellationToken cancellationToken = default) =>
        (await CallAsync("accountData", new JsonObject { ["action"] = "get", ["type"] = type }, cancellationToken: cancellationToken))["content"] as JsonObject;

    /// <summary>Writes account data through the SDK and waits until its sync echoes it.</summary>
    public Task SetAccountDataAsync(string type, JsonObject content, CancellationToken cancellationToken = default) =>
        CallAsync("accountData", new JsonObject { ["action"] = "set", ["type"] = type, ["content"] = content.DeepClone() }, cancellationToken: cancellationToken);

    /// <summary>Stops the SDK's sync and ends the process.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!_process.HasExited)
        {
            await CallAsync("stop", null, TimeSpan.FromSeconds(10), cancellationToken);
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }
    }

    // ---- Transport ----

    /// <summary>
    /// Sends one command (arguments may hold nulls, which are left out) and returns its result, or throws
    /// <see cref="JsPeerException"/> with the peer's error, errcode and the tail of its stderr.
    /// </summary>
    public async Task<JsonObject> CallAsync(string command, JsonObject? arguments = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var id = Interlocked.Increment(ref _nextId);
        var line = new JsonObject { ["id"] = id, ["cmd"] = command };
        foreach (var (name, value) in arguments ?? [])
        {
            if (value is not null)
            {
                line[name] = value.DeepClone();
            }
        }

        _pending[id] = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _stdin.WaitAsync(cancellationToken);
        try
        {
            if (_process.HasExited)
            {
                throw Failure(command, $"the peer process has exited (code {_process.ExitCode})", "PEER_EXITED", null);
            }

            await _process.StandardInput.WriteLineAsync(line.ToJsonString().AsMemory(), cancellationToken);
            await _process.StandardInput.FlushAsync(cancellationToken);
        }
        catch (IOException e)
        {
            throw Failure(command, $"could not write to the peer: {e.Message}", "PEER_EXITED", null);
        }
        finally
        {
            _stdin.Release();
        }

        return await AwaitAsync(id, command, timeout ?? DefaultTimeout, cancellationToken);
    }

    private async Task<JsonObject> AwaitAsync(long id, string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pending = _pending[id];
        try
        {
            var answer = await pending.Task.WaitAsync(timeout, cancellationToken);
            if (answer["ok"]?.GetValue<bool>() == true)
            {
                return answer["result"] as JsonObject ?? [];
            }

            throw Failure(command, answer["error"]?.GetValue<string>() ?? "failed", answer["errcode"]?.GetValue<string>(),
                answer["status"] is JsonValue status && status.TryGetValue<int>(out var code) ? code : null);
        }
        catch (TimeoutException)
        {
            throw Failure(command, $"no answer within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s", "PEER_TIMEOUT", null);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private JsPeerException Failure(string command, string error, string? errCode, int? status)
    {
        string tail;
        lock (_stderr)
        {
            tail = string.Join('\n', _stderr);
        }

        var message = new StringBuilder($"js-sdk peer '{_name}'{(UserId is null ? "" : $" ({UserId})")}: {command} failed: {error}");
        if (errCode is not null)
        {
            message.Append(" [").Append(errCode).Append(status is null ? "" : $", HTTP {status}").Append(']');
        }

        if (tail.Length > 0)
        {
            message.Append("\n--- last lines of the peer's stderr ---\n").Append(tail);
        }

        return new JsPeerException(message.ToString(), errCode, status);
    }

    private async Task ReadStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                JsonObject? answer;
                try
                {
                    answer = JsonNode.Parse(line) as JsonObject;
                }
                catch (JsonException)
                {
                    answer = null;
                }

                if (answer?["id"] is JsonValue idValue && idValue.TryGetValue<long>(out var id) && _pending.TryGetValue(id, out var pending))
                {
                    pending.TrySetResult(answer);
                }
                else
                {
                    // Anything else on stdout breaks the protocol: keep it where a failure will show it.
                    Remember($"(stdout, not an answer) {line}");
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Remember($"(stdout closed: {e.Message})");
        }

        // The process is gone: every command still waiting fails now rather than at its timeout.
        await _readingStderr;
        var exit = _process.WaitForExit(5000) ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "unknown";
        foreach (var (id, pending) in _pending)
        {
            pending.TrySetResult(new JsonObject
            {
                ["id"] = id, ["ok"] = false, ["error"] = $"the peer process ended (exit code {exit}) before answering", ["errcode"] = "PEER_EXITED",
            });
        }
    }

    private async Task ReadStderrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync() is { } line)
            {
                Remember(line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Remember($"(stderr closed: {e.Message})");
        }
    }

    private void Remember(string line)
    {
        lock (_stderr)
        {
            _stderr.Enqueue(line);
            while (_stderr.Count > StderrLinesKept)
            {
                _stderr.Dequeue();
            }
        }

        try
        {
            _log?.Invoke($"[{_name}] {line}");
        }
        catch (InvalidOperationException)
        {
            // xunit's output helper refuses writes once its test has finished; the peer may outlive it briefly.
        }
    }

    private static PeerMedia Media(string mxcUri, JsonObject result) =>
        new(mxcUri, result["sha256"]!.GetValue<string>(), result["length"]!.GetValue<long>(), result["content_type"]?.GetValue<string>(),
            result["base64"] is JsonValue data ? Convert.FromBase64String(data.GetValue<string>()) : null);

    /// <summary>Asks the peer to stop, and kills it (with any children) if it has not gone within a few seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close(); // the peer stops its client and exits when stdin closes
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
            }
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException)
        {
            // Fall through to the kill.
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            Remember($"(could not kill the peer: {e.Message})");
        }

        try
        {
            await Task.WhenAll(_readingStdout, _readingStderr).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // The readers end with the pipes; a grandchild holding them open must not hang the test run.
        }

        _process.Dispose();
        _stdin.Dispose();
    }
}

/// <summary>A message as the SDK saw it; <paramref name="Encrypted"/> when it came as m.room.encrypted and the SDK decrypted it.</summary>
public sealed record PeerMessage(string EventId, string Sender, string Body, string? MsgType, JsonObject Content, bool Encrypted = false);

/// <summary>A membership as the SDK's room model has it; <paramref name="DmInviter"/> is the SDK's reading of a DM invite to the peer.</summary>
public sealed record PeerMembership(string Membership, JsonObject? Event, string? DmInviter)
{
    public JsonObject? Content => Event?["content"] as JsonObject;
}

public sealed record PeerInvite(string RoomId, string? Inviter, string? DmInviter);

/// <summary>
/// Media the peer downloaded (or uploaded and downloaded back): the SHA-256 of the bytes, hex; the bytes themselves
/// only from <see cref="JsPeer.DownloadWithDataAsync"/>.
/// </summary>
public sealed record PeerMedia(string ContentUri, string Sha256, long Length, string? ContentType, byte[]? Data = null);

/// <summary>A command the js-sdk peer answered with an error, or did not answer.</summary>
public sealed class JsPeerException(string message, string? errCode, int? status) : Exception(message)
{
    /// <summary>The Matrix errcode (e.g. <c>M_FORBIDDEN</c>) or the peer's own (<c>PEER_TIMEOUT</c>, <c>PEER_EXITED</c>…).</summary>
    public string? ErrCode { get; } = errCode;

    /// <summary>The homeserver's HTTP status, when the error came from it.</summary>
    public int? Status { get; } = status;
}
