using System.Collections.Concurrent;
using System.Diagnostics;
using Doorman.Payments.Bolt11;
using Doorman.Sandbox.Lightning;
using Doorman.Sandbox.Players;

namespace Doorman.Crash;

/// <summary>A gated room of the run: its id and the alias members name it by.</summary>
internal sealed record GatedRoom(string RoomId, string Alias);

/// <summary>A member and their DM with the bot.</summary>
internal sealed record Member(Player Player, string DirectRoom, bool Control);

/// <summary>One invoice a member paid: which command it answered, and when it was paid.</summary>
internal sealed record Payment(string PaymentHash, string UserId, string RoomId, string Command, long PaidAt);

/// <summary>
/// The members, several at a time, each buying into rooms (<c>join #room</c>) and then renewing (<c>renew #room</c>),
/// as docs/members.md describes. A member whose request gets no invoice within <c>patience</c> (the bot was killed,
/// or is starting) asks again, as a person would; every invoice received is paid once, by the node, however many times
/// it was sent. Controls ask and never pay.
/// </summary>
internal sealed class Load(SandboxLightningNode lightning, IReadOnlyList<GatedRoom> rooms, TimeSpan patience, TimeSpan think, int seed, Func<bool> botServing)
{
    /// <summary>How long a member waits for the invite or the receipt after paying before it is counted as lost.</summary>
    private static readonly TimeSpan PaidPatience = TimeSpan.FromSeconds(180);

    private readonly ConcurrentDictionary<string, Payment> _paid = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _unpaid = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentQueue<double> _settleToInvite = new();
    private int _asks;
    private int _askedAgain;
    private int _purchases;
    private int _paidWhileDown;

    public IReadOnlyDictionary<string, Payment> Paid => _paid;

    /// <summary>Invoices controls received (hash → user id): never paid.</summary>
    public IReadOnlyDictionary<string, string> ControlInvoices => _unpaid;

    public IReadOnlyCollection<string> Failures => _failures;

    public IReadOnlyCollection<double> SettleToInviteMs => _settleToInvite;

    public int Asks => _asks;

    public int AskedAgain => _askedAgain;

    public int Purchases => _purchases;

    /// <summary>Invoices paid while the bot was not serving: found by its catch-up at start, not its live stream.</summary>
    public int PaidWhileDown => _paidWhileDown;

    /// <summary>Runs every member's purchases, <paramref name="concurrency"/> members at a time; controls first.</summary>
    public Task RunAsync(IReadOnlyList<Member> members, int purchasesPerMember, int concurrency, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(members.OrderByDescending(m => m.Control).Select((m, i) => (m, i)),
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (item, ct) =>
            {
                var (member, index) = item;
                var random = new Random(seed * 7919 + index);
                var order = rooms.OrderBy(_ => random.Next()).ToArray();
                if (member.Control)
                {
                    var room = order[0];
                    if (await AskForInvoiceAsync(member, room, "join", ct) is { } hash)
                        _unpaid[hash] = member.Player.UserId;
                    return;
                }
                for (var k = 0; k < purchasesPerMember; k++)
                {
                    await Task.Delay(think * random.NextDouble(), ct);
                    await PurchaseAsync(member, order[k % order.Length], k < order.Length ? "join" : "renew", ct);
                }
            });

    private async Task PurchaseAsync(Member member, GatedRoom room, string command, CancellationToken cancellationToken)
    {
        var player = member.Player;
        if (await AskForInvoiceAsync(member, room, command, cancellationToken) is not { } hash)
            return;
        var mark = player.Mark;
        var paidAt = Stopwatch.GetTimestamp();
        _paid[hash] = new Payment(hash, player.UserId, room.RoomId, command, paidAt);
        await lightning.PayAsync(hash, cancellationToken: cancellationToken);
        Interlocked.Increment(ref _purchases);
        if (!botServing())
            Interlocked.Increment(ref _paidWhileDown);
        try
        {
            if (command == "join")
            {
                await player.WaitForInviteAsync(room.RoomId, PaidPatience, cancellationToken);
                _settleToInvite.Enqueue(Stopwatch.GetElapsedTime(paidAt).TotalMilliseconds);
                await player.Client.JoinAsync(room.RoomId, null, null, cancellationToken);
            }
            else
            {
                // The receipt (src/Doorman/Outbox/MembershipTexts.cs, Renewed): paced like a person who waits to see it.
                await player.WaitForMessageAsync(member.DirectRoom,
                    b => b.Contains("Payment received", StringComparison.Ordinal) && b.Contains(room.Alias, StringComparison.Ordinal),
                    PaidPatience, mark, cancellationToken);
            }
        }
        catch (TimeoutException e)
        {
            _failures.Enqueue($"{player.UserId} paid {hash[..12]}… ({command} {room.Alias}) and saw nothing: {e.Message}");
        }
    }

    /// <summary>
    /// Asks until an invoice for the room comes (one not paid before: an answer to an earlier ask may still arrive),
    /// waiting <c>patience</c> between asks. Returns its payment hash, or null after 30 asks.
    /// </summary>
    private async Task<string?> AskForInvoiceAsync(Member member, GatedRoom room, string command, CancellationToken cancellationToken)
    {
        var player = member.Player;
        var mark = player.Mark;
        for (var ask = 1; ask <= 30; ask++)
        {
            Interlocked.Increment(ref _asks);
            if (ask > 1)
                Interlocked.Increment(ref _askedAgain);
            await player.SayAsync(member.DirectRoom, $"{command} {room.Alias}", cancellationToken);
            try
            {
                // Any invoice for this room since the first ask: an answer to an earlier ask is as good as to this one.
                var reply = await player.WaitForMessageAsync(member.DirectRoom,
                    b => b.Contains(room.Alias, StringComparison.Ordinal) && Player.FindInvoice(b) is { } bolt11 && !IsPaid(bolt11),
                    patience, mark, cancellationToken);
                return Bolt11Codec.Decode(Player.FindInvoice(Player.BodyOf(reply))!).PaymentHash;
            }
            catch (TimeoutException)
            {
                // No answer: the bot is down or starting. Ask again, as a person would.
            }
        }
        _failures.Enqueue($"{player.UserId} asked {command} {room.Alias} 30 times and got no invoice");
        return null;
    }

    private bool IsPaid(string bolt11) => _paid.ContainsKey(Bolt11Codec.Decode(bolt11).PaymentHash);
}
