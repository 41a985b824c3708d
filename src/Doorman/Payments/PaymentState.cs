using Doorman.Storage;

namespace Doorman.Payments;

/// <summary>
/// Small durable state a backend keeps in the bot's database (e.g. a webhook's id and secret), by key. Values
/// may be secrets: they are stored, never logged.
/// </summary>
public interface IPaymentState
{
    Task<string?> GetAsync(string key, CancellationToken cancellationToken);

    Task SetAsync(string key, string? value, CancellationToken cancellationToken);
}

/// <summary><see cref="IPaymentState"/> in the cursors table, under <c>payments.state.&lt;key&gt;</c>.</summary>
public sealed class PaymentState(Database database, Cursors cursors) : IPaymentState
{
    public Task<string?> GetAsync(string key, CancellationToken cancellationToken) =>
        database.ReadAsync(tx => cursors.GetAsync(tx, "payments.state." + key), cancellationToken);

    public Task SetAsync(string key, string? value, CancellationToken cancellationToken) =>
        database.WriteAsync(tx => cursors.SetAsync(tx, "payments.state." + key, value), cancellationToken);
}
