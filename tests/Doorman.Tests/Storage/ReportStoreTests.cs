using Doorman.Access;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Storage;

/// <summary>The owners' reports on a real SQLite file.</summary>
public sealed class ReportStoreTests : IAsyncLifetime
{
    private const string RoomId = "!room:hs";
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), _time);
        await Db.WriteAsync(tx => _services.GetRequiredService<GateStore>().SetPriceAsync(tx, RoomId, "#room:hs", 1000, TimeSpan.FromDays(30), "@owner:hs", _time.GetUtcNow()), default);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    private Task<IReadOnlyList<MemberReport>> MembersAsync() => Db.ReadAsync(tx => _services.GetRequiredService<ReportStore>().MembersAsync(tx, RoomId), default);

    [Fact]
    public async Task A_list_that_starts_with_an_exempt_member_without_time_reads()
    {
        // The first row has no plan, no end and no payment: every computed column is NULL there.
        await Db.WriteAsync(tx => _services.GetRequiredService<ExemptionStore>().AddAsync(tx, RoomId, "@eve:hs", "@owner:hs", _time.GetUtcNow()), default);

        var eve = Assert.Single(await MembersAsync());

        Assert.Equal(new MemberReport("@eve:hs", "exempt", null, _time.GetUtcNow(), null, 0, null), eve);
    }

    [Fact]
    public async Task Members_show_source_plan_and_end_and_an_exemption_shows_over_time()
    {
        var now = _time.GetUtcNow();
        await Db.WriteAsync(async tx =>
        {
            var subscriptions = _services.GetRequiredService<SubscriptionStore>();
            await subscriptions.SetTermAsync(tx, RoomId, "@ann:hs", new Term(now.AddDays(5), SubscriptionSource.Trial, null, TimeSpan.FromDays(5), null), now);
            await subscriptions.SetTermAsync(tx, RoomId, "@bob:hs", new Term(now.AddDays(9), SubscriptionSource.Paid, "default", TimeSpan.FromDays(30), null), now);
            await subscriptions.SetTermAsync(tx, RoomId, "@eve:hs", new Term(now.AddDays(1), SubscriptionSource.Grant, null, TimeSpan.FromDays(1), null), now);
            return await _services.GetRequiredService<ExemptionStore>().AddAsync(tx, RoomId, "@eve:hs", "@owner:hs", now);
        }, default);

        var members = await MembersAsync();

        Assert.Equal(["@ann:hs trial  " + now.AddDays(5), "@bob:hs paid default " + now.AddDays(9), "@eve:hs exempt  " + now.AddDays(1)],
            members.Select(m => $"{m.UserId} {m.Source} {m.Plan} {m.ExpiresAt}"));
    }
}
