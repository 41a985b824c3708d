using System.Threading.Channels;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// Invoice ids the webhook endpoint accepted, waiting for the settlement feed to re-read them. Only a trigger: when
/// it overflows (the feed is away for a long time) the oldest ids are dropped, and the bot's lookups of every
/// pending order at each reconnect (and every <see cref="BtcPayOptions.PollInterval"/>) find those payments instead.
/// </summary>
public sealed class BtcPayWebhookInbox
{
    internal const int Capacity = 10_000;

    private readonly Channel<string> channel = Channel.CreateBounded<string>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleWriter = false,
        SingleReader = false,
    });

    /// <summary>How many ids wait to be read.</summary>
    public int Pending => channel.Reader.Count;

    internal ChannelReader<string> Reader => channel.Reader;

    internal void Post(string invoiceId) => channel.Writer.TryWrite(invoiceId);
}
