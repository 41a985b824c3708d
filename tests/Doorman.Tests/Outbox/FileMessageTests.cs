using System.Text;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Messaging;
using Doorman.Outbox;
using Doorman.Sandbox.Homeserver;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Doorman.Tests.Outbox;

/// <summary>
/// A file queued in the outbox (the owners' export) reaches the room as an <c>m.file</c> whose upload downloads byte for
/// byte: the bot's service graph on a SQLite file, its <see cref="MessageSender"/> on the sandbox homeserver, and the
/// owner, in a room with the bot, seeing what their own /sync shows.
/// </summary>
public sealed class FileMessageTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly string[] ExportHeader = ["user", "expires"];

    private readonly TempDirectory _dir = new();
    private SandboxHomeserver _hs = null!;
    private ServiceProvider _services = null!;
    private Player _owner = null!;
    private string _botUserId = null!;
    private string _roomId = null!;

    public async Task InitializeAsync()
    {
        _hs = await SandboxHomeserver.StartAsync();
        var bot = _hs.RegisterUser("doorman");
        var owner = _hs.RegisterUser("owner");
        _botUserId = bot.UserId;
        _owner = new Player("owner", _hs.Url, owner.UserId, owner.AccessToken);
        _roomId = await _owner.CreateRoomAsync("vip");
        await _owner.Client.InviteAsync(_roomId, bot.UserId, null, default);
        using (var botClient = MatrixClient.Create(_hs.Url, bot.AccessToken))
            await botClient.JoinAsync(_roomId, null, null, default);
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), settings: new Dictionary<string, string?>
        {
            ["Matrix:HomeserverUrl"] = _hs.Url.ToString(),
            ["Matrix:UserId"] = bot.UserId,
            ["Matrix:AccessToken"] = bot.AccessToken,
        });
    }

    public async Task DisposeAsync()
    {
        _owner.Dispose();
        await _services.DisposeAsync();
        await _hs.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    private MessageOutbox Outbox => _services.GetRequiredService<MessageOutbox>();

    private static byte[] Export(int members) => Encoding.UTF8.GetBytes(Csv.Write(ExportHeader,
        Enumerable.Range(1, members).Select(i => (IReadOnlyList<string?>)[$"@member{i}:localhost", i % 3 == 0 ? null : "2030-01-01"])));

    /// <summary>Runs the bot's message sender until <paramref name="until"/> completes.</summary>
    private async Task<T> WhileSendingAsync<T>(Func<Task<T>> until)
    {
        var sender = ActivatorUtilities.CreateInstance<MessageSender>(_services);
        await sender.StartAsync(default);
        try
        {
            Outbox.Wake();
            return await until();
        }
        finally
        {
            await sender.StopAsync(default);
            sender.Dispose();
        }
    }

    private Task<ClientEvent> FileSeenAsync(int after = 0) =>
        _owner.WaitForAsync(_roomId, e => e.Sender == _botUserId && e.ContentString("msgtype") == MessageContent.File, Patience, "the file", after);

    [Fact]
    public async Task A_queued_file_arrives_as_m_file_and_its_upload_downloads_byte_for_byte()
    {
        var data = Export(2000);
        await Db.WriteAsync(tx => Outbox.FileToRoomAsync(tx, _roomId, "members.csv", "text/csv", data, "", TimeProvider.System.GetUtcNow()), default);

        var file = await WhileSendingAsync(() => FileSeenAsync());

        Assert.Equal(EventTypes.Message, file.Type);
        // CS API v1.10 §"Media captions": no caption, so the body is the file name.
        Assert.Equal("members.csv", file.ContentString("body"));
        Assert.Equal("members.csv", file.ContentString("filename"));
        var info = file.Content.GetProperty("info");
        Assert.Equal("text/csv", info.GetProperty("mimetype").GetString());
        Assert.Equal(data.Length, info.GetProperty("size").GetInt64());
        Assert.False(info.TryGetProperty("w", out _));
        // Through the authenticated media endpoint (CS API v1.11 §"Content repository"), as the owner.
        var (downloaded, contentType) = await _owner.Client.DownloadAsync(file.ContentString("url")!, default);
        Assert.Equal(data, downloaded);
        Assert.Equal("text/csv", contentType);
    }

    [Fact]
    public async Task A_caption_is_the_body_and_the_name_stays_in_filename()
    {
        var data = Export(3);
        await Db.WriteAsync(tx => Outbox.FileToRoomAsync(tx, _roomId, "members.csv", "text/csv", data, "Members of #vip", TimeProvider.System.GetUtcNow()), default);

        var file = await WhileSendingAsync(() => FileSeenAsync());

        Assert.Equal("Members of #vip", file.ContentString("body"));
        Assert.Equal("members.csv", file.ContentString("filename"));
    }

    [Fact]
    public async Task A_file_sent_again_after_a_crash_before_it_was_marked_sent_arrives_once()
    {
        var data = Export(10);
        await Db.WriteAsync(tx => Outbox.FileToRoomAsync(tx, _roomId, "members.csv", "text/csv", data, "", TimeProvider.System.GetUtcNow()), default);
        var first = await WhileSendingAsync(() => FileSeenAsync());
        // As if the bot crashed after the homeserver took the event and before the row said so.
        await Db.WriteAsync(tx => tx.ExecuteAsync("UPDATE outgoing_messages SET status = 'pending', event_id = NULL"), default);
        // A control queued after it, to the same room: the outbox sends a room's messages in order, so once the owner
        // sees the control the file has been sent again.
        await Db.WriteAsync(tx => Outbox.ToRoomAsync(tx, _roomId, new Notice().Text("control"), TimeProvider.System.GetUtcNow()), default);

        await WhileSendingAsync(() => _owner.WaitForMessageAsync(_roomId, b => b == "control", Patience));

        Assert.Single(_owner.Seen, e => e.Event.ContentString("msgtype") == MessageContent.File);
        // The resend carried the same transaction id, so the homeserver answered with the first event.
        Assert.Equal(first.EventId, await Db.ReadAsync(
            tx => tx.ExecuteScalarAsync<string>("SELECT event_id FROM outgoing_messages WHERE kind = 'file' AND status = 'sent'"), default));
    }

    [Fact]
    public async Task A_file_over_one_MiB_is_refused_when_queued_and_one_MiB_is_taken()
    {
        var now = TimeProvider.System.GetUtcNow();
        await Assert.ThrowsAsync<ArgumentException>(() => Db.WriteAsync(
            tx => Outbox.FileToUserAsync(tx, _owner.UserId, "big.bin", "application/octet-stream", new byte[MessageOutbox.MaxFileBytes + 1], "", now), default));
        await Db.WriteAsync(tx => Outbox.FileToUserAsync(tx, _owner.UserId, "max.bin", "application/octet-stream", new byte[MessageOutbox.MaxFileBytes], "", now), default);

        Assert.Equal(1, await Db.ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outgoing_messages WHERE kind = 'file'"), default));
    }
}
