namespace Doorman.Payments.BtcPay;

/// <summary>
/// Which Greenfield permissions an API key has for one store, with BTCPay's implications
/// (BTCPayServer.Client/Permissions.cs <c>Permission.Init</c>): <c>unrestricted</c> holds everything;
/// <c>canmodifystoresettings</c> holds <c>canmodifyinvoices</c>, <c>canviewstoresettings</c> and
/// <c>webhooks.canmodifywebhooks</c>; <c>canmodifyinvoices</c> holds <c>canviewinvoices</c> and
/// <c>cancreateinvoice</c>; <c>canviewstoresettings</c> holds <c>canviewinvoices</c>. A store permission is held
/// unscoped (every store) or scoped to one store as <c>policy:storeId</c>.
/// </summary>
internal static class BtcPayPermissions
{
    public const string Unrestricted = "unrestricted";
    public const string CanCreateInvoice = "btcpay.store.cancreateinvoice";
    public const string CanViewInvoices = "btcpay.store.canviewinvoices";
    public const string CanModifyInvoices = "btcpay.store.canmodifyinvoices";
    public const string CanModifyWebhooks = "btcpay.store.webhooks.canmodifywebhooks";
    public const string CanModifyStoreSettings = "btcpay.store.canmodifystoresettings";
    public const string CanViewStoreSettings = "btcpay.store.canviewstoresettings";

    private static readonly Dictionary<string, string[]> Children = new(StringComparer.Ordinal)
    {
        [CanModifyStoreSettings] = [CanModifyInvoices, CanViewStoreSettings, CanModifyWebhooks],
        [CanModifyInvoices] = [CanViewInvoices, CanCreateInvoice],
        [CanViewStoreSettings] = [CanViewInvoices],
    };

    /// <summary>What the bot needs: invoices created and viewed, and webhooks managed when it registers its own.</summary>
    public static IReadOnlyList<string> Required(bool registersWebhook) =>
        registersWebhook ? [CanCreateInvoice, CanViewInvoices, CanModifyWebhooks] : [CanCreateInvoice, CanViewInvoices];

    /// <summary>The <paramref name="required"/> permissions that <paramref name="granted"/> does not hold for <paramref name="storeId"/>.</summary>
    public static IReadOnlyList<string> Missing(IEnumerable<string> granted, string storeId, IEnumerable<string> required)
    {
        var held = new List<string>();
        foreach (var entry in granted)
        {
            var text = entry.Trim();
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            var policy = (colon < 0 ? text : text[..colon]).ToLowerInvariant();
            var scope = colon < 0 ? null : text[(colon + 1)..];
            // A scoped permission counts for its store only (store ids are case-sensitive in BTCPay).
            if (scope is null || string.Equals(scope, storeId, StringComparison.Ordinal))
                held.Add(policy);
        }
        return [.. required.Where(r => !held.Any(h => Holds(h, r)))];
    }

    private static bool Holds(string policy, string wanted) =>
        policy == Unrestricted || policy == wanted
        || (Children.TryGetValue(policy, out var children) && children.Any(c => Holds(c, wanted)));
}
