namespace Doorman.Access;

/// <summary>
/// What the core counts for monitoring (the bot's <c>/metrics</c>; Metrics/DoormanMetrics.cs implements it). Labels
/// are the payment backend's name and nothing about members or rooms.
/// </summary>
public interface IAccessMetrics
{
    /// <summary>A new invoice was created at <paramref name="backend"/> for an order (not an open one sent again).</summary>
    void InvoiceCreated(string backend);

    /// <summary>A settlement changed an order: paid (with what was paid), underpaid or expired.</summary>
    void Settled(string backend, SettlementOutcome outcome, long paidMsat);

    /// <summary>A renewal reminder was queued to a member.</summary>
    void ReminderQueued();
}

/// <summary>Counts nothing: the core's default when no monitoring is wired.</summary>
public sealed class NoAccessMetrics : IAccessMetrics
{
    public void InvoiceCreated(string backend)
    {
    }

    public void Settled(string backend, SettlementOutcome outcome, long paidMsat)
    {
    }

    public void ReminderQueued()
    {
    }
}
