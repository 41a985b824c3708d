using System.Reflection;
using Doorman.Access;
using Doorman.Matrix;
using NetArchTest.Rules;

namespace Doorman.Tests;

/// <summary>
/// The bot's parts and which may use which (STYLE.md, "Dependencies point inward"). The core, <c>Access</c>, uses
/// none of them; every other part is an adapter that depends inward; <c>Hosting</c> wires them all and nothing uses
/// it. The table is a ladder, so no cycle can form: a part may use only parts above it. A new folder, or a new
/// dependency, fails here until it is written into the table.
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>Part → the parts it may use. Sub-namespaces belong to their part (<c>Payments.Lnd</c> is <c>Payments</c>).</summary>
    private static readonly (string Part, string[] MayUse)[] Table =
    [
        ("Access", []),
        ("Metrics", ["Access"]),
        ("Storage", ["Access"]),
        ("Homeserver", ["Access", "Storage"]),
        ("Messaging", ["Access", "Storage", "Homeserver"]),
        ("Rooms", ["Access", "Storage", "Homeserver", "Messaging"]),
        ("Payments", ["Access", "Storage"]),
        ("Commands", ["Access", "Metrics", "Storage", "Homeserver", "Messaging", "Rooms"]),
        ("Outbox", ["Access", "Metrics", "Storage", "Homeserver", "Messaging", "Rooms"]),
        ("Inbox", ["Access", "Metrics", "Storage", "Homeserver", "Messaging", "Rooms", "Commands", "Outbox"]),
        ("Scheduling", ["Access", "Storage", "Payments"]),
        ("Hosting", ["Access", "Metrics", "Storage", "Homeserver", "Messaging", "Rooms", "Payments", "Commands", "Inbox", "Outbox", "Scheduling"]),
    ];

    private static readonly Assembly Bot = typeof(Settlements).Assembly;

    public static TheoryData<string> Parts => [.. Table.Select(row => row.Part)];

    [Theory]
    [MemberData(nameof(Parts))]
    public void A_part_uses_only_the_parts_above_it(string part)
    {
        var allowed = Table.Single(row => row.Part == part).MayUse.Append(part).ToHashSet();
        var forbidden = Table.Select(row => row.Part).Where(p => !allowed.Contains(p)).Select(p => "Doorman." + p).ToArray();
        if (forbidden.Length == 0)
            return; // Hosting may use everything.

        var result = Types.InAssembly(Bot).That().ResideInNamespace("Doorman." + part).ShouldNot().HaveDependencyOnAny(forbidden).GetResult();

        Assert.True(result.IsSuccessful, $"{part} may use only {string.Join(", ", allowed.Order())}; these types use other parts: "
            + string.Join(", ", (result.FailingTypes ?? []).Select(t => t.FullName)));
    }

    [Fact]
    public void Every_namespace_of_the_bot_is_a_part_in_the_table()
    {
        var parts = Table.Select(row => "Doorman." + row.Part).ToList();
        var strays = Bot.GetTypes()
            .Where(t => t.Namespace is { } ns && ns.StartsWith("Doorman", StringComparison.Ordinal)
                && !parts.Any(p => ns == p || ns.StartsWith(p + ".", StringComparison.Ordinal)))
            .Select(t => t.FullName).Order().ToList();

        Assert.True(strays.Count == 0, "types outside every part (add their folder to the table): " + string.Join(", ", strays));
    }

    [Fact]
    public void The_core_knows_no_database_scheduler_network_or_Matrix_client()
    {
        // RoomPower (Doorman.Matrix.Rooms) is the one Matrix type the core reads: who outranks whom, from room state.
        var result = Types.InAssembly(Bot).That().ResideInNamespace("Doorman.Access").ShouldNot().HaveDependencyOnAny(
                "Dapper", "Microsoft.Data.Sqlite", "Quartz", "Grpc", "Google.Protobuf", "Microsoft.AspNetCore", "System.Net.Http",
                "Doorman.Matrix.MatrixClient", "Doorman.Matrix.Http", "Doorman.Matrix.Sync", "Doorman.Matrix.Events", "Doorman.Matrix.MatrixException")
            .GetResult();

        Assert.True(result.IsSuccessful, "the core uses infrastructure: " + string.Join(", ", (result.FailingTypes ?? []).Select(t => t.FullName)));
    }

    [Fact]
    public void The_Matrix_client_library_knows_nothing_of_the_bot()
    {
        var references = typeof(MatrixClient).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();

        Assert.DoesNotContain("Doorman", references);
        Assert.DoesNotContain("Doorman.Sandbox", references);
        var result = Types.InAssembly(typeof(MatrixClient).Assembly).ShouldNot().HaveDependencyOnAny("Doorman.Access", "Doorman.Payments").GetResult();
        Assert.True(result.IsSuccessful, "the client library uses the bot: " + string.Join(", ", (result.FailingTypes ?? []).Select(t => t.FullName)));
    }
}
