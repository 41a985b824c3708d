using Doorman.Access;
using Doorman.Payments;
using Doorman.Payments.Bolt11;
using Doorman.Payments.Lnd;
using Doorman.Sandbox.Lightning;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Doorman.Tests.Payments.LndTestHarness;

namespace Doorman.Tests.Payments;

/// <summary>
/// Every invoice the bot shows must be payable to its own node (BOLT #11: the payee is the 'n' field or the key
/// recovered from the signature): checked against GetInfo's identity_pubkey, or, for a macaroon without info:read,
/// against the payee of the first invoice, pinned in the bot's database.
/// </summary>
public sealed class LndPayeeTests
{
    [Fact]
    public async Task An_invoice_from_the_node_GetInfo_names_is_accepted_and_its_key_kept()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var state = new MemoryPaymentState();
        using var backend = Backend(node, state: state);

        var created = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);

        Assert.Equal(node.IdentityPubKey, Bolt11Codec.Decode(created.Bolt11).PayeePubKey);
        Assert.Equal(node.IdentityPubKey, state.Values[LndPaymentBackend.NodeKeyState]);
    }

    [Fact]
    public async Task An_invoice_signed_by_another_key_is_refused_when_GetInfo_names_the_node()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var other = node.SignInvoicesWithAnotherKey();
        var lines = new LogLineCollection();
        using var logs = LoggerFactory.Create(b => b.AddProvider(new RecordingLoggerProvider(lines)));
        using var backend = Backend(node, logger: logs.CreateLogger<LndPaymentBackend>());

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CreateInvoiceAsync(Request(), CancellationToken.None));

        Assert.False(error.IsTransient);
        Assert.StartsWith("LND returned an invoice whose payee is not this node", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(other, error.Message, StringComparison.Ordinal);
        var logged = Assert.Single(lines, l => l.StartsWith("Error", StringComparison.Ordinal));
        Assert.Contains(other, logged, StringComparison.Ordinal);
        Assert.Contains(node.IdentityPubKey, logged, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_GetInfo_the_first_payee_is_pinned_durably_and_another_key_is_refused(bool refusalsAsLnd)
    {
        using var folder = new TempDirectory();
        var state = await DatabaseStateAsync(folder);
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { AuthFailuresAsUnknown = refusalsAsLnd });
        var lines = new LogLineCollection();
        using var logs = LoggerFactory.Create(b => b.AddProvider(new RecordingLoggerProvider(lines)));

        using (var backend = Backend(node, macaroonHex: node.InvoiceMacaroonHex, state: state, logger: logs.CreateLogger<LndPaymentBackend>()))
        {
            await backend.CheckHealthAsync(CancellationToken.None);
            await backend.CreateInvoiceAsync(Request(), CancellationToken.None);
            Assert.Equal(node.IdentityPubKey, await state.GetAsync(LndPaymentBackend.NodeKeyState, CancellationToken.None));

            var other = node.SignInvoicesWithAnotherKey();
            var error = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CreateInvoiceAsync(Request(), CancellationToken.None));

            Assert.False(error.IsTransient);
            Assert.StartsWith("LND returned an invoice whose payee is not this node (not the key pinned", error.Message, StringComparison.Ordinal);
            var logged = Assert.Single(lines, l => l.StartsWith("Error", StringComparison.Ordinal));
            Assert.Contains(other, logged, StringComparison.Ordinal);
            Assert.Contains(node.IdentityPubKey, logged, StringComparison.Ordinal);
        }

        // A restarted bot: a new backend over the same database still holds the pin, and does not re-pin.
        using var restarted = Backend(node, macaroonHex: node.InvoiceMacaroonHex, state: state);
        var again = await Assert.ThrowsAsync<PaymentBackendException>(() => restarted.CreateInvoiceAsync(Request(), CancellationToken.None));

        Assert.StartsWith("LND returned an invoice whose payee is not this node", again.Message, StringComparison.Ordinal);
        Assert.Equal(node.IdentityPubKey, await state.GetAsync(LndPaymentBackend.NodeKeyState, CancellationToken.None));
    }

    [Fact]
    public async Task Two_first_invoices_at_once_pin_one_key()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var state = new MemoryPaymentState();
        using var backend = Backend(node, macaroonHex: node.InvoiceMacaroonHex, state: state);

        var created = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => backend.CreateInvoiceAsync(Request(), CancellationToken.None)));

        Assert.Equal(4, created.Select(c => c.PaymentHash).Distinct().Count());
        Assert.Equal(node.IdentityPubKey, state.Values[LndPaymentBackend.NodeKeyState]);
    }

    [Fact]
    public async Task A_macaroon_with_info_read_re_pins_after_a_move_to_another_node()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        await using var previous = await SandboxLightningNode.StartAsync();
        var state = new MemoryPaymentState();
        await state.SetAsync(LndPaymentBackend.NodeKeyState, previous.IdentityPubKey, CancellationToken.None);
        var lines = new LogLineCollection();
        using var logs = LoggerFactory.Create(b => b.AddProvider(new RecordingLoggerProvider(lines)));
        using var pinned = Backend(node, macaroonHex: node.InvoiceMacaroonHex, state: state);
        await Assert.ThrowsAsync<PaymentBackendException>(() => pinned.CreateInvoiceAsync(Request(), CancellationToken.None));

        using var backend = Backend(node, state: state, logger: logs.CreateLogger<LndPaymentBackend>());
        await backend.CheckHealthAsync(CancellationToken.None);
        await backend.CreateInvoiceAsync(Request(), CancellationToken.None);

        Assert.Equal(node.IdentityPubKey, state.Values[LndPaymentBackend.NodeKeyState]);
        var warning = Assert.Single(lines, l => l.StartsWith("Warning", StringComparison.Ordinal));
        Assert.Contains(previous.IdentityPubKey, warning, StringComparison.Ordinal);
        using var afterwards = Backend(node, macaroonHex: node.InvoiceMacaroonHex, state: state);
        await afterwards.CreateInvoiceAsync(Request(), CancellationToken.None);
    }

    /// <summary>The bot's own <see cref="IPaymentState"/> on a migrated SQLite file in <paramref name="folder"/>.</summary>
    private static async Task<IPaymentState> DatabaseStateAsync(TempDirectory folder)
    {
        var database = new Database(folder.File("doorman.db"));
        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);
        return new PaymentState(database, new Cursors());
    }
}
