using Doorman.Access;
using Prometheus;

namespace Doorman.Metrics;

/// <summary>
/// The bot's counters for <c>GET /metrics</c> (Prometheus text format), in a registry of this instance's own, so two
/// bots in one process (the tests) count apart. Labels come from small fixed sets (backend, source, action, outcome,
/// kind, queue); never a user or room id. The gauges read at scrape time are Hosting/MetricsSampler.cs's.
/// </summary>
public sealed class DoormanMetrics : IAccessMetrics
{
    private static readonly string[] ByBackend = ["backend"];
    private static readonly string[] ByActionAndOutcome = ["action", "outcome"];
    private static readonly string[] ByKind = ["kind"];

    private readonly Counter _invoicesCreated;
    private readonly Counter _invoicesPaid;
    private readonly Counter _invoicesUnderpaid;
    private readonly Counter _invoicesExpired;
    private readonly Counter _receivedSats;
    private readonly Counter _remindersSent;
    private readonly Counter _membershipActions;
    private readonly Counter _eventsHandled;
    private readonly Counter _eventsQuarantined;
    private readonly Histogram _commandDuration;

    public DoormanMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _invoicesCreated = Factory.CreateCounter("doorman_invoices_created_total", "Invoices created at the payment backend.", ByBackend);
        _invoicesPaid = Factory.CreateCounter("doorman_invoices_paid_total", "Invoices paid in full and applied.", ByBackend);
        _invoicesUnderpaid = Factory.CreateCounter("doorman_invoices_underpaid_total", "Invoices settled for less than asked (nothing granted).", ByBackend);
        _invoicesExpired = Factory.CreateCounter("doorman_invoices_expired_total", "Invoices that expired or were canceled unpaid.", ByBackend);
        _receivedSats = Factory.CreateCounter("doorman_received_sats_total", "Sats received by invoices paid in full.", ByBackend);
        _remindersSent = Factory.CreateCounter("doorman_reminders_sent_total", "Renewal reminders queued to members.");
        _membershipActions = Factory.CreateCounter("doorman_membership_actions_total",
            "Invites and kicks carried out: done, skipped (nothing to do) or failed (given up or waiting for power).", ByActionAndOutcome);
        _eventsHandled = Factory.CreateCounter("doorman_events_handled_total", "Inbox items (events from /sync) handled.", ByKind);
        _eventsQuarantined = Factory.CreateCounter("doorman_events_quarantined_total", "Inbox items set aside after failing.", ByKind);
        _commandDuration = Factory.CreateHistogram("doorman_command_duration_seconds", "Time to handle a chat command, from parsing to its replies queued.");
    }

    /// <summary>This instance's registry: what <c>/metrics</c> exposes.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Makes metrics in <see cref="Registry"/> (the scrape-time gauges).</summary>
    public IMetricFactory Factory { get; }

    public void InvoiceCreated(string backend) => _invoicesCreated.WithLabels(backend).Inc();

    public void Settled(string backend, SettlementOutcome outcome, long paidMsat)
    {
        switch (outcome)
        {
            case SettlementOutcome.Applied:
                _invoicesPaid.WithLabels(backend).Inc();
                _receivedSats.WithLabels(backend).Inc(paidMsat / 1000d);
                break;
            case SettlementOutcome.Underpaid:
                _invoicesUnderpaid.WithLabels(backend).Inc();
                break;
            case SettlementOutcome.Expired:
                _invoicesExpired.WithLabels(backend).Inc();
                break;
        }
    }

    public void ReminderQueued() => _remindersSent.Inc();

    /// <param name="outcome">One of <see cref="Outcomes"/>.</param>
    public void MembershipAction(MembershipActionKind action, string outcome) =>
        _membershipActions.WithLabels(action == MembershipActionKind.Invite ? "invite" : "kick", outcome).Inc();

    /// <param name="kind">The inbox item's kind, a name from a fixed set (Storage's <c>InboxKind</c>).</param>
    public void EventHandled(string kind) => _eventsHandled.WithLabels(kind).Inc();

    /// <param name="kind">The inbox item's kind, a name from a fixed set (Storage's <c>InboxKind</c>).</param>
    public void EventQuarantined(string kind) => _eventsQuarantined.WithLabels(kind).Inc();

    public void CommandHandled(TimeSpan elapsed) => _commandDuration.Observe(elapsed.TotalSeconds);

    /// <summary>The outcomes of <see cref="MembershipAction"/>.</summary>
    public static class Outcomes
    {
        public const string Done = "done";
        public const string Skipped = "skipped";
        public const string Failed = "failed";
    }
}
