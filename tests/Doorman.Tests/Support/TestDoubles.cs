using Doorman.Access;

namespace Doorman.Tests.Support;

/// <summary>A room whose live state the test sets (by default: the bot may invite, nobody is banned).</summary>
public sealed class SettableRoomFacts : IRoomFacts
{
    public RoomFacts? Facts { get; set; } = new(MemberBanned: false, BotCanInvite: true, BotLevel: 50, InviteLevel: 0);

    public Task<RoomFacts?> ForOrderAsync(string roomId, string userId, CancellationToken cancellationToken) => Task.FromResult(Facts);
}

/// <summary>An LND-named backend that makes invoices of the asked validity and counts how often it was asked.</summary>
public sealed class CountingBackend(TimeProvider time) : IPaymentBackend
{
    private int _calls;

    public int Calls => _calls;

    /// <summary>What the last invoice was asked for.</summary>
    public InvoiceRequest? Last { get; private set; }

    public string Name => "lnd";

    public Task<CreatedInvoice> CreateInvoiceAsync(InvoiceRequest request, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _calls);
        Last = request;
        return Task.FromResult(new CreatedInvoice($"ref{n}", $"lnbcrt{n}", $"hash{n}", time.GetUtcNow() + request.Expiry));
    }

    public Task<InvoiceUpdate> LookupInvoiceAsync(string reference, CancellationToken cancellationToken) => throw new InvalidOperationException("unused");

    public Task<ISettlementFeed> OpenSettlementFeedAsync(string? cursor, CancellationToken cancellationToken) => throw new InvalidOperationException("unused");

    public Task CheckHealthAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("unused");
}
