using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>Discovery, authentication, error shapes, filters and account data: the contract every call relies on.</summary>
public sealed class EndpointTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task Versions_lists_v1_12_without_authentication()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var versions = (await hs.Client.GetAsync("/_matrix/client/versions")).Ok()["versions"]!.AsArray().Select(v => v!.GetValue<string>());
        Assert.Contains("v1.12", versions);
    }

    [Fact]
    public async Task A_request_without_a_token_is_refused_with_M_MISSING_TOKEN()
    {
        await using var hs = await TestHomeserver.StartAsync();
        (await hs.Client.GetAsync(V3 + "/account/whoami")).Refused(HttpStatusCode.Unauthorized, "M_MISSING_TOKEN");
    }

    [Fact]
    public async Task An_unknown_token_is_refused_with_M_UNKNOWN_TOKEN_and_no_soft_logout()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var stranger = new TestUser("@nobody:localhost", "not-a-token", "X", "");
        var response = (await hs.Client.GetAsync(V3 + "/account/whoami", stranger)).Refused(HttpStatusCode.Unauthorized, "M_UNKNOWN_TOKEN");
        Assert.False(response.Body!["soft_logout"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Whoami_names_the_user_and_device_of_the_token()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var body = (await hs.Client.GetAsync(V3 + "/account/whoami", alice)).Ok();
        Assert.Equal(alice.UserId, body["user_id"]!.GetValue<string>());
        Assert.Equal(alice.DeviceId, body["device_id"]!.GetValue<string>());
        Assert.False(body["is_guest"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_deprecated_access_token_query_parameter_still_authenticates()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var body = (await hs.Client.GetAsync(V3 + "/account/whoami?access_token=" + Uri.EscapeDataString(alice.AccessToken))).Ok();
        Assert.Equal(alice.UserId, body["user_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Password_login_reuses_the_given_device_id_and_issues_a_working_token()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var login = new JsonObject
        {
            ["type"] = "m.login.password",
            ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = alice.Localpart },
            ["password"] = alice.Password,
            ["device_id"] = "DOORMANBOT",
        };
        var first = (await hs.Client.PostAsync(V3 + "/login", login)).Ok();
        var second = (await hs.Client.PostAsync(V3 + "/login", login)).Ok();

        Assert.Equal(alice.UserId, first["user_id"]!.GetValue<string>());
        Assert.Equal("DOORMANBOT", first["device_id"]!.GetValue<string>());
        Assert.Equal("DOORMANBOT", second["device_id"]!.GetValue<string>());
        var token = first["access_token"]!.GetValue<string>();
        var whoami = (await hs.Client.GetAsync(V3 + "/account/whoami", alice with { AccessToken = token })).Ok();
        Assert.Equal("DOORMANBOT", whoami["device_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Login_with_a_wrong_password_is_refused_with_M_FORBIDDEN()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        (await hs.Client.PostAsync(V3 + "/login", new JsonObject
        {
            ["type"] = "m.login.password",
            ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = alice.UserId },
            ["password"] = "wrong",
        })).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task Unknown_endpoints_are_404_and_wrong_methods_405_both_M_UNRECOGNIZED()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        (await hs.Client.GetAsync(V3 + "/no/such/endpoint", alice)).Refused(HttpStatusCode.NotFound, "M_UNRECOGNIZED");
        (await hs.Client.SendAsync(HttpMethod.Delete, V3 + "/account/whoami", user: alice)).Refused(HttpStatusCode.MethodNotAllowed, "M_UNRECOGNIZED");
        (await hs.Client.GetAsync(V3 + "/createRoom", alice)).Refused(HttpStatusCode.MethodNotAllowed, "M_UNRECOGNIZED");
    }

    [Fact]
    public async Task Bodies_that_are_not_JSON_objects_or_lack_fields_are_refused_by_kind()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        var invite = MatrixTestClient.Room(room, "invite");

        (await hs.Client.SendAsync(HttpMethod.Post, invite, user: alice, content: new StringContent("{nope", Encoding.UTF8, "application/json")))
            .Refused(HttpStatusCode.BadRequest, "M_NOT_JSON");
        (await hs.Client.SendAsync(HttpMethod.Post, invite, user: alice, content: new StringContent("[]", Encoding.UTF8, "application/json")))
            .Refused(HttpStatusCode.BadRequest, "M_BAD_JSON");
        (await hs.Client.PostAsync(invite, new JsonObject(), alice)).Refused(HttpStatusCode.BadRequest, "M_MISSING_PARAM");
    }

    [Fact]
    public async Task Shared_secret_registration_rejects_a_wrong_mac_a_reused_nonce_and_a_taken_name()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var nonce = (await hs.Client.GetAsync("/_synapse/admin/v1/register")).Ok()["nonce"]!.GetValue<string>();
        var wrongMac = await hs.Client.PostAsync("/_synapse/admin/v1/register", new JsonObject
        {
            ["nonce"] = nonce, ["username"] = "mallory" + Guid.NewGuid().ToString("N")[..8], ["password"] = "x", ["mac"] = "00",
        });
        Assert.Equal(HttpStatusCode.Forbidden, wrongMac.Status);

        var reused = await hs.Client.PostAsync("/_synapse/admin/v1/register", new JsonObject
        {
            ["nonce"] = nonce, ["username"] = "mallory", ["password"] = "x", ["mac"] = "00",
        });
        Assert.Equal(HttpStatusCode.BadRequest, reused.Status);

        var taken = await RegisterExactAsync(hs.Client, alice.Localpart);
        taken.Refused(HttpStatusCode.BadRequest, "M_USER_IN_USE");
    }

    [Fact]
    public async Task Capabilities_offer_room_versions_10_to_12_with_11_as_default()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var versions = (await hs.Client.GetAsync(V3 + "/capabilities", alice)).Ok()["capabilities"]!["m.room_versions"]!;
        Assert.Equal("11", versions["default"]!.GetValue<string>());
        foreach (var version in (string[])["10", "11", "12"])
        {
            Assert.Equal("stable", versions["available"]![version]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Push_rules_are_a_global_ruleset_with_the_five_kinds_and_need_a_token()
    {
        // matrix-js-sdk reads GET /pushrules/ before its first sync and does not sync without it.
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var global = (await hs.Client.GetAsync(V3 + "/pushrules/", alice)).Ok()["global"]!.AsObject();
        foreach (var kind in (string[])["override", "content", "room", "sender", "underride"])
        {
            Assert.Equal(System.Text.Json.JsonValueKind.Array, global[kind]!.GetValueKind());
        }

        (await hs.Client.GetAsync(V3 + "/pushrules/")).Refused(HttpStatusCode.Unauthorized, "M_MISSING_TOKEN");
    }

    [Fact]
    public async Task Filters_get_string_ids_and_belong_to_their_user_alone()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var filter = new JsonObject { ["room"] = new JsonObject { ["timeline"] = new JsonObject { ["limit"] = 5 } } };

        var id = (await hs.Client.PostAsync($"{V3}/user/{alice.UserId}/filter", filter, alice)).Ok()["filter_id"]!.GetValue<string>();
        var stored = (await hs.Client.GetAsync($"{V3}/user/{alice.UserId}/filter/{id}", alice)).Ok();

        Assert.Equal(5, stored["room"]!["timeline"]!["limit"]!.GetValue<int>());
        (await hs.Client.GetAsync($"{V3}/user/{alice.UserId}/filter/{id}", bob)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.PostAsync($"{V3}/user/{alice.UserId}/filter", filter, bob)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.GetAsync($"{V3}/user/{alice.UserId}/filter/9999", alice)).Refused(HttpStatusCode.NotFound, "M_NOT_FOUND");
    }

    [Fact]
    public async Task Account_data_is_404_until_set_and_private_to_its_user()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var path = $"{V3}/user/{alice.UserId}/account_data/m.direct";

        (await hs.Client.GetAsync(path, alice)).Refused(HttpStatusCode.NotFound, "M_NOT_FOUND");
        (await hs.Client.PutAsync(path, new JsonObject { [bob.UserId] = new JsonArray("!dm:localhost") }, alice)).Ok();
        var stored = (await hs.Client.GetAsync(path, alice)).Ok();

        Assert.Equal("!dm:localhost", stored[bob.UserId]![0]!.GetValue<string>());
        (await hs.Client.GetAsync(path, bob)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.PutAsync(path, new JsonObject(), bob)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task Typing_and_read_receipts_are_accepted_from_members()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        var eventId = await hs.Client.SendTextAsync(alice, room, "hello");

        (await hs.Client.PutAsync(MatrixTestClient.Room(room, $"typing/{alice.UserId}"), new JsonObject { ["typing"] = true, ["timeout"] = 3000 }, alice)).Ok();
        (await hs.Client.PostAsync(MatrixTestClient.Room(room, $"receipt/m.read/{MatrixTestClient.Esc(eventId)}"), new JsonObject(), alice)).Ok();
    }

    private static async Task<MatrixResponse> RegisterExactAsync(MatrixTestClient client, string localpart)
    {
        var nonce = (await client.GetAsync("/_synapse/admin/v1/register")).Ok()["nonce"]!.GetValue<string>();
        var mac = Convert.ToHexStringLower(HmacSha1(Encoding.UTF8.GetBytes(TestHomeserver.SharedSecret),
            Encoding.UTF8.GetBytes($"{nonce}\0{localpart}\0pw\0notadmin")));
        return await client.PostAsync("/_synapse/admin/v1/register", new JsonObject
        {
            ["nonce"] = nonce, ["username"] = localpart, ["password"] = "pw", ["admin"] = false, ["mac"] = mac,
        });
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "Synapse's shared-secret registration is defined with HMAC-SHA1.")]
    private static byte[] HmacSha1(byte[] key, byte[] message) => System.Security.Cryptography.HMACSHA1.HashData(key, message);
}
