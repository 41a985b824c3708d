using System.Globalization;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// Money conversions, in <see cref="decimal"/> so nothing is rounded on the way: BTCPay writes amounts as decimal
/// strings, invoice amounts in the invoice's currency (SATS for ours) and payment-method amounts in the payment
/// method's currency, BTC, even for a SATS invoice (payments.md B7).
/// </summary>
internal static class BtcPayAmounts
{
    private const decimal MsatPerBtc = 100_000_000_000m;
    private const decimal MsatPerSat = 1_000m;

    /// <summary>Millisatoshis in <paramref name="btc"/> bitcoin; a fraction of a millisatoshi is dropped (never credited).</summary>
    public static long BtcToMsat(decimal btc) => ToMsat(btc, MsatPerBtc);

    /// <summary>Millisatoshis in <paramref name="sats"/> satoshis; a fraction of a millisatoshi is dropped.</summary>
    public static long SatsToMsat(decimal sats) => ToMsat(sats, MsatPerSat);

    /// <summary>An invoice amount in <paramref name="currency"/> ("SATS" or "BTC") as millisatoshis; null for any other currency.</summary>
    public static long? InvoiceAmountToMsat(decimal amount, string? currency) => currency?.ToUpperInvariant() switch
    {
        "SATS" => SatsToMsat(amount),
        "BTC" => BtcToMsat(amount),
        _ => null,
    };

    /// <summary>Whole satoshis as Greenfield's decimal string, e.g. 21000000 msat → "21000".</summary>
    public static string MsatToSatsString(long msat)
    {
        if (msat % 1000 != 0)
            throw new ArgumentException($"{msat} msat is not a whole number of satoshis.", nameof(msat));
        return (msat / 1000).ToString(CultureInfo.InvariantCulture);
    }

    private static long ToMsat(decimal amount, decimal factor)
    {
        if (amount <= 0)
            return 0;
        try
        {
            return decimal.ToInt64(decimal.Floor(amount * factor));
        }
        catch (OverflowException e)
        {
            throw new FormatException($"{amount.ToString(CultureInfo.InvariantCulture)} is more money than exists.", e);
        }
    }
}
