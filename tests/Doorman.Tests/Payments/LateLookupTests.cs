using Doorman.Access;
using Doorman.Payments;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Payments;

/// <summary>
/// A backend that may report a payment after the invoice expired (BTCPay: Expired with PaidLate) gets every expired
/// order looked up again, with back-off, for its late-settlement window (DESIGN rule 2), on a real SQLite file.
/// </summary>
public sealed class LateLookupTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Expiry = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Expiry - TimeSpan.FromMinutes(30));
    private readonly LateBackend _backend;
    private ServiceProvider _services = null!;

    public LateLookupTests() => _backend = new LateBackend(_time);

    public async Task InitializeAsync()
    {
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), _time, _backend);
        await Db.WriteAsync(async tx =>
        {
            await _services.GetRequiredService<GateStore>().SetPriceAsync(
                tx, "!room:localhost", "#room:localhost", 1_000_000, TimeSpan.FromDays(30), "@owner:localhost", _time.GetUtcNow());
            var orders = _services.GetRequiredService<OrderStore>();
            await orders.InsertAsync(tx, new Order("order-1", "!room:localhost", "@member:localhost", Plans.Default, 1_000_000, TimeSpan.FromDays(30),
                "btcpay", "invoice-1", "lnbcrt1…", "hash-1", OrderStatus.Pending, null, _time.GetUtcNow(), Expiry, null, null));
            // Given up when it expired, and the member told.
            await orders.FinishAsync(tx, "order-1", OrderStatus.Expired, null, Expiry);
        }, default);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    private Reconciler Reconciler => _services.GetRequiredService<Reconciler>();

    /// <summary>Runs the reconcile job's pass once a minute (as the bot does) from expiry until <paramref name="until"/> after it.</summary>
    private async Task EveryMinuteUntilAsync(TimeSpan until, Action<int>? at = null)
    {
        for (var minute = 0; minute <= (int)until.TotalMinutes; minute++)
        {
            _time.SetUtcNow(Expiry + TimeSpan.FromMinutes(minute));
            at?.Invoke(minute);
            await Reconciler.ReconcileAsync(onlyOverdue: true, default);
        }
    }

    [Fact]
    public async Task An_expired_order_is_looked_up_a_minute_after_expiry_then_ever_less_often_for_a_day()
    {
        await EveryMinuteUntilAsync(TimeSpan.FromHours(26));

        // Minutes after expiry: 1, then gaps of 2, 4, 8, 16, 32, then hourly, until the day after expiry is over.
        int[] expected = [1, 3, 7, 15, 31, 63, .. Enumerable.Range(0, 22).Select(k => 123 + 60 * k)];
        Assert.Equal(expected, _backend.Lookups.Select(t => (int)(t - Expiry).TotalMinutes));
        Assert.True(_backend.Lookups[^1] < Expiry + TimeSpan.FromDays(1));
        Assert.Equal("expired", await Db.ReadAsync(tx => tx.ExecuteScalarAsync<string>("SELECT status FROM orders"), default));
    }

    [Fact]
    public async Task A_payment_found_by_a_late_look_up_is_applied_once_and_the_member_told_it_came_late()
    {
        // The payment reaches the backend 20 minutes after expiry; no feed says so.
        await EveryMinuteUntilAsync(TimeSpan.FromHours(2), minute =>
        {
            if (minute == 20)
                _backend.Paid = true;
        });

        Assert.Equal(31, (int)(_backend.Lookups[^1] - Expiry).TotalMinutes); // the first look-up after the payment, and the last
        Assert.Equal("applied", await Db.ReadAsync(tx => tx.ExecuteScalarAsync<string>("SELECT status FROM orders"), default));
        Assert.Equal(1, await Db.ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM membership_actions WHERE action = 'invite'"), default));
        var told = await Db.ReadAsync(tx => tx.QueryAsync<string>("SELECT content FROM outgoing_messages WHERE user_id = '@member:localhost'"), default);
        Assert.Contains(told, m => m.Contains("arrived late", StringComparison.Ordinal) && m.Contains("you are in", StringComparison.Ordinal));
    }

    /// <summary>One invoice, canceled (expired) until <see cref="Paid"/>; BTCPay's late-settlement window.</summary>
    private sealed class LateBackend(TimeProvider time) : IPaymentBackend
    {
        public List<DateTimeOffset> Lookups { get; } = [];

        public bool Paid { get; set; }

        public string Name => "btcpay";

        public TimeSpan? LateSettlementWindow => TimeSpan.FromDays(1);

        public Task<InvoiceUpdate> LookupInvoiceAsync(string reference, CancellationToken cancellationToken)
        {
            Lookups.Add(time.GetUtcNow());
            return Task.FromResult(Paid
                ? new InvoiceUpdate(reference, InvoiceState.Settled, 1_000_000, 1_000_000, null)
                : new InvoiceUpdate(reference, InvoiceState.Canceled, 1_000_000, 0, null));
        }

        public Task<CreatedInvoice> CreateInvoiceAsync(InvoiceRequest request, CancellationToken cancellationToken) => throw new InvalidOperationException("unused");

        public Task<ISettlementFeed> OpenSettlementFeedAsync(string? cursor, CancellationToken cancellationToken) => throw new InvalidOperationException("unused");

        public Task CheckHealthAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("unused");
    }
}
