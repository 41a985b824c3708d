using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Doorman.Access;
using Doorman.Metrics;
using Doorman.Tests.EndToEnd;
using Doorman.Tests.Support;
using Xunit.Abstractions;

namespace Doorman.Tests.Hosting;

/// <summary><c>GET /metrics</c>: what a pay → invite story moves, in Prometheus' text format, with no ids as labels.</summary>
public sealed partial class MetricsTests(ITestOutputHelper output) : SandboxScenarioTests(output)
{
    [Fact]
    public async Task A_paid_invite_moves_the_counters_and_the_scrape_parses_without_ids()
    {
        await S.StartBotAsync();
        var (roomId, alias) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "50 sats per 30d");
        var dm = await S.MemberOpensDmAsync();
        var bolt11 = await S.MemberAsksToJoinAsync(dm, alias);
        await S.Lightning.PayAsync(bolt11);
        await S.Member.WaitForInviteAsync(roomId, Scenario.Patience);

        // The invite is counted once its outcome is written, just after the homeserver has it.
        using var http = new HttpClient();
        var samples = await ScrapeUntilAsync(http, s => Sum(s, "doorman_membership_actions_total", "action", "invite", "outcome", "done") >= 1);

        Assert.Equal(1, Sum(samples, "doorman_invoices_created_total"));
        Assert.Equal(1, Sum(samples, "doorman_invoices_paid_total"));
        Assert.Equal(0, Sum(samples, "doorman_invoices_expired_total"));
        Assert.Equal(50, Sum(samples, "doorman_received_sats_total"));
        Assert.Equal(1, Sum(samples, "doorman_membership_actions_total", "action", "invite", "outcome", "done"));
        Assert.Equal(0, Sum(samples, "doorman_membership_actions_total", "outcome", "failed"));
        Assert.True(Sum(samples, "doorman_command_duration_seconds_count") > 0, "no command timed");
        Assert.Equal(1, Sum(samples, "doorman_active_subscriptions", "source", "paid"));
        Assert.Equal(1, Sum(samples, "doorman_payment_backend_up"));
        Assert.True(Sum(samples, "doorman_events_handled_total") > 0, "no event counted as handled");
        Assert.Contains(samples, s => s.Name == "doorman_outbox_depth" && s.Labels.GetValueOrDefault("queue") == "messages");
        Assert.InRange(Sum(samples, "doorman_sync_lag_seconds"), 0, 60);

        var ids = samples.SelectMany(s => s.Labels.Values).Where(v => v.Contains('@', StringComparison.Ordinal) || v.Contains('!', StringComparison.Ordinal)).ToList();
        Assert.True(ids.Count == 0, "user or room ids as label values: " + string.Join(", ", ids));
    }

    [Fact]
    public void Two_bots_in_one_process_count_apart()
    {
        var one = new DoormanMetrics();
        var other = new DoormanMetrics();

        one.InvoiceCreated("lnd");
        one.Settled("lnd", SettlementOutcome.Applied, 21_000);

        Assert.Equal(1, Sum(Parse(Export(one)), "doorman_invoices_created_total"));
        Assert.Equal(21, Sum(Parse(Export(one)), "doorman_received_sats_total"));
        Assert.Equal(0, Sum(Parse(Export(other)), "doorman_invoices_created_total"));
    }

    private sealed record Sample(string Name, Dictionary<string, string> Labels, double Value);

    private async Task<IReadOnlyList<Sample>> ScrapeUntilAsync(HttpClient http, Func<IReadOnlyList<Sample>, bool> done)
    {
        var url = new Uri(S.Bot!.HttpUrl, "/metrics");
        IReadOnlyList<Sample> samples = [];
        await Eventually.UntilAsync(async () =>
        {
            using var response = await http.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            samples = Parse(await response.Content.ReadAsStringAsync());
            return done(samples);
        }, "/metrics to show what the story did", Scenario.Patience);
        return samples;
    }

    private static string Export(DoormanMetrics metrics)
    {
        using var stream = new MemoryStream();
        metrics.Registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>
    /// The exposition format (prometheus/docs content/docs/instrumenting/exposition_formats.md): comment lines start with
    /// <c>#</c>; every other non-empty line is <c>name{label="value",…} value [timestamp]</c>. Fails on any other line.
    /// </summary>
    private static List<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var match = SampleLine().Match(line);
            Assert.True(match.Success, "not a sample line: " + line);
            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups["name"].Value, m => Regex.Unescape(m.Groups["value"].Value), StringComparer.Ordinal);
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(match.Groups["name"].Value, labels, value));
        }
        return samples;
    }

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include every given pair.</summary>
    private static double Sum(IEnumerable<Sample> samples, string name, params string[] labelPairs) =>
        samples.Where(s => s.Name == name && Enumerable.Range(0, labelPairs.Length / 2)
            .All(i => s.Labels.GetValueOrDefault(labelPairs[2 * i]) == labelPairs[(2 * i) + 1])).Sum(s => s.Value);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*)\})? (?<value>NaN|[+-]Inf|[-+0-9.eE]+)( -?[0-9]+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(""""(?<name>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>([^"\\]|\\.)*)"""")]
    private static partial Regex LabelPair();
}
