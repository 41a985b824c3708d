using Doorman.Payments;

namespace Doorman.Storage;

/// <summary><see cref="IPaymentState"/> in the cursors table, under <c>payments.state.&lt;key&gt;</c>.</summary>
public sealed class PaymentState(Database database, Cursors cursors) : IPaymentState
{
    public Task<string?> GetAsync(string key, CancellationToken cancellationToken) =>
        database.ReadAsync(tx => cursors.GetAsync(tx, "payments.state." + key), cancellationToken);

    public Task SetAsync(string key, string? value, CancellationToken cancellationToken) =>
        database.WriteAsync(tx => cursors.SetAsync(tx, "payments.state." + key, value), cancellationToken);
}
