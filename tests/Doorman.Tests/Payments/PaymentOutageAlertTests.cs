using Doorman.Access;
using Doorman.Payments;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Payments;

/// <summary>
/// A payment node down for more than <see cref="PaymentListener.AlertAfter"/> is told to the operators and to every owner
/// who gave commands, once; and once more when it is back. The listener runs for real, on a clock the test moves.
/// </summary>
public sealed class PaymentOutageAlertTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly SwitchableBackend _backend = new();
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), _time, _backend,
            settings: new Dictionary<string, string?> { ["Operators:0"] = "@op:hs" });
        // An owner who gave a command: they hear of incidents too.
        await Db.WriteAsync(async tx =>
        {
            await _services.GetRequiredService<AuditLog>().WriteAsync(tx, _time.GetUtcNow(), "@owner:hs", "!room:hs", "set", "10 sats per 1 day");
            return true;
        }, default);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    private Task<IReadOnlyList<string>> ToldAsync(string userId) =>
        Db.ReadAsync(tx => tx.QueryAsync<string>("SELECT content FROM outgoing_messages WHERE user_id = @userId ORDER BY id", new { userId }), default);

    /// <summary>Moves the clock a minute at a time (the listener's back-off waits on it) until <paramref name="done"/> holds.</summary>
    private async Task AdvanceUntilAsync(Func<Task<bool>> done, TimeSpan limit)
    {
        for (var moved = TimeSpan.Zero; moved < limit; moved += TimeSpan.FromMinutes(1))
        {
            if (await done())
                return;
            _time.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(50);
        }
        Assert.True(await done(), $"not done within {limit} of the test's clock");
    }

    [Fact]
    public async Task An_outage_longer_than_five_minutes_is_told_once_and_its_end_once()
    {
        var listener = _services.GetRequiredService<PaymentListener>();
        await listener.StartAsync(default);
        try
        {
            // Down: four minutes in, nobody has been told (the control: the listener has failed and retried by then).
            await AdvanceUntilAsync(async () => _backend.Attempts >= 2, TimeSpan.FromMinutes(4));
            Assert.Empty(await ToldAsync("@op:hs"));

            await AdvanceUntilAsync(async () => (await ToldAsync("@op:hs")).Count > 0, TimeSpan.FromMinutes(15));
            var attemptsAtAlert = _backend.Attempts;
            await AdvanceUntilAsync(async () => _backend.Attempts >= attemptsAtAlert + 2, TimeSpan.FromMinutes(15));
            var op = Assert.Single(await ToldAsync("@op:hs"));
            Assert.Contains("payment node (lnd) has not answered since", op, StringComparison.Ordinal);
            Assert.Single(await ToldAsync("@owner:hs"));

            // Back: one more message each.
            _backend.Up = true;
            await AdvanceUntilAsync(async () => (await ToldAsync("@op:hs")).Count == 2, TimeSpan.FromMinutes(10));
            Assert.Contains("answers again", (await ToldAsync("@owner:hs"))[1], StringComparison.Ordinal);
        }
        finally
        {
            await listener.StopAsync(default);
        }
    }

    /// <summary>A node that refuses the settlement feed until <see cref="Up"/>; then opens one that stays quiet.</summary>
    private sealed class SwitchableBackend : IPaymentBackend
    {
        private int _attempts;

        public volatile bool Up;

        public int Attempts => _attempts;

        public string Name => "lnd";

        public Task<CreatedInvoice> CreateInvoiceAsync(InvoiceRequest request, CancellationToken cancellationToken) => throw new InvalidOperationException("unused");

        public Task<InvoiceUpdate> LookupInvoiceAsync(string reference, CancellationToken cancellationToken) => throw new InvalidOperationException("unused");

        public Task<ISettlementFeed> OpenSettlementFeedAsync(string? cursor, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            return Up ? Task.FromResult<ISettlementFeed>(new QuietFeed())
                : Task.FromException<ISettlementFeed>(new PaymentBackendException("connection refused", isTransient: true));
        }

        public Task CheckHealthAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class QuietFeed : ISettlementFeed
    {
        public async IAsyncEnumerable<InvoiceUpdate> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
