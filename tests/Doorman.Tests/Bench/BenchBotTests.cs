using System.Diagnostics;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Sandbox.Homeserver;

namespace Doorman.Tests.Bench;

/// <summary>
/// bench/Doorman.Bench as the issue fixes it, run as its own process the way bench/compare.sh runs it
/// (<c>dotnet Doorman.Bench.dll</c> with <c>MATRIX_HOMESERVER_URL</c> and <c>MATRIX_ACCESS_TOKEN</c>), against the
/// sandbox homeserver: it answers every <c>!gate</c> message with an <c>m.notice</c> that is a reply to it, and
/// nothing else — not history, not notices, not other messages.
/// </summary>
public sealed class BenchBotTests : IAsyncLifetime
{
    private static readonly string BenchBot = Path.Combine(AppContext.BaseDirectory, "Doorman.Bench.dll");
    private SandboxHomeserver _hs = null!;
    private SandboxUser _bot = null!;
    private MatrixClient _alice = null!;

    public async Task InitializeAsync()
    {
        _hs = await SandboxHomeserver.StartAsync();
        _bot = _hs.RegisterUser("bench");
        _alice = MatrixClient.Create(_hs.Url, _hs.RegisterUser("alice").AccessToken);
    }

    public async Task DisposeAsync()
    {
        _alice.Dispose();
        await _hs.DisposeAsync();
    }

    [Fact]
    public async Task It_answers_each_gate_command_with_a_reply_notice_and_ignores_everything_else()
    {
        var room = await _alice.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PublicChat }, default);
        using (var bot = MatrixClient.Create(_hs.Url, _bot.AccessToken))
            await bot.JoinAsync(room, null, null, default);
        var history = await SayAsync(room, MessageContent.Text, "!gate said before the bot started");

        var log = new List<string>();
        using var process = Start(new Dictionary<string, string>
        {
            ["MATRIX_HOMESERVER_URL"] = _hs.Url.ToString(),
            ["MATRIX_ACCESS_TOKEN"] = _bot.AccessToken,
        }, log);
        try
        {
            // The bot's first sync is history to it, so ask until it answers: from then on it is live.
            var probes = new List<string>();
            while (Answers(room).Count == 0)
            {
                Assert.False(process.HasExited, "the bench bot exited: " + Joined(log));
                Assert.True(probes.Count < 60, "the bench bot never answered a probe");
                probes.Add(await SayAsync(room, MessageContent.Text, "!gate probe"));
                await Task.Delay(250);
            }

            var one = await SayAsync(room, MessageContent.Text, "!gate one");
            var notice = await SayAsync(room, MessageContent.Notice, "!gate a notice is never a command");
            var chat = await SayAsync(room, MessageContent.Text, "hello, not a command");
            var two = await SayAsync(room, MessageContent.Text, "!gate two");
            await WaitAsync(() => Answers(room).ContainsKey(two), "the answer to !gate two");

            var answers = Answers(room);
            Assert.Equal("Received: !gate one", answers[one]);
            Assert.Equal("Received: !gate two", answers[two]);
            Assert.DoesNotContain(history, answers.Keys);
            Assert.DoesNotContain(notice, answers.Keys);
            Assert.DoesNotContain(chat, answers.Keys);
            // Every message the bot sent is one of these answers: one per command, none twice.
            var sent = _hs.GetTimeline(room).Count(e => e.GetProperty("type").GetString() == EventTypes.Message
                && e.GetProperty("sender").GetString() == _bot.UserId);
            Assert.Equal(answers.Count, sent);
            Assert.Equal(probes.Count(answers.ContainsKey) + 2, sent);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Without_its_two_variables_it_says_what_it_needs_and_exits_2()
    {
        var log = new List<string>();
        using var process = Start(new Dictionary<string, string> { ["MATRIX_HOMESERVER_URL"] = "", ["MATRIX_ACCESS_TOKEN"] = "" }, log);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, process.ExitCode);
        var error = Assert.Single(log);
        Assert.Contains("MATRIX_HOMESERVER_URL", error);
        Assert.Contains("MATRIX_ACCESS_TOKEN", error);
    }

    /// <summary>Starts the bench bot; what it writes to stderr is collected in <paramref name="log"/> as it comes.</summary>
    private static Process Start(Dictionary<string, string> environment, List<string> log)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(BenchBot);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is not null)
            {
                lock (log)
                    log.Add(line.Data);
            }
        };
        process.BeginErrorReadLine();
        return process;
    }

    private static string Joined(List<string> log)
    {
        lock (log)
            return string.Join(" | ", log);
    }

    private Task<string> SayAsync(string room, string msgType, string body) =>
        _alice.SendMessageAsync(room, Guid.NewGuid().ToString("N"), new MessageContent { MsgType = msgType, Body = body }, default);

    /// <summary>The bot's messages in the room: the event each replies to → its body. Anything else it sent fails the test.</summary>
    private Dictionary<string, string> Answers(string room)
    {
        var answers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in _hs.GetTimeline(room))
        {
            if (e.GetProperty("type").GetString() != EventTypes.Message || e.GetProperty("sender").GetString() != _bot.UserId)
                continue;
            var content = e.GetProperty("content");
            Assert.Equal(MessageContent.Notice, content.GetProperty("msgtype").GetString());
            var repliesTo = content.GetProperty("m.relates_to").GetProperty("m.in_reply_to").GetProperty("event_id").GetString()!;
            Assert.True(answers.TryAdd(repliesTo, content.GetProperty("body").GetString()!), $"{repliesTo} was answered twice");
        }
        return answers;
    }

    private static async Task WaitAsync(Func<bool> done, string what)
    {
        for (var i = 0; i < 200 && !done(); i++)
            await Task.Delay(50);
        Assert.True(done(), $"timed out waiting for {what}");
    }
}
