using System.Net;
using System.Net.Http.Headers;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>The content repository with authenticated media enforced (CS API v1.11 §"Content repository").</summary>
public sealed class MediaTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

    private static async Task<(string ServerName, string MediaId)> UploadAsync(MatrixTestClient client, TestUser user)
    {
        var content = new ByteArrayContent(Png);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var uri = (await client.SendAsync(HttpMethod.Post, "/_matrix/media/v3/upload?filename=qr.png", user: user, content: content)).Ok()["content_uri"]!.GetValue<string>();
        Assert.StartsWith("mxc://", uri, StringComparison.Ordinal);
        var parts = uri["mxc://".Length..].Split('/');
        return (parts[0], parts[1]);
    }

    [Fact]
    public async Task Uploaded_media_downloads_through_the_authenticated_endpoint_with_its_content_type()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var (server, mediaId) = await UploadAsync(hs.Client, alice);

        var download = await hs.Client.GetAsync($"/_matrix/client/v1/media/download/{server}/{mediaId}", alice);

        Assert.Equal(HttpStatusCode.OK, download.Status);
        Assert.Equal(Png, download.Bytes);
        Assert.Equal("image/png", download.ContentHeaders.ContentType?.MediaType);
    }

    [Fact]
    public async Task Downloads_need_a_token_and_the_legacy_path_finds_nothing()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var (server, mediaId) = await UploadAsync(hs.Client, alice);

        (await hs.Client.GetAsync($"/_matrix/client/v1/media/download/{server}/{mediaId}")).Refused(HttpStatusCode.Unauthorized, "M_MISSING_TOKEN");
        (await hs.Client.GetAsync($"/_matrix/media/v3/download/{server}/{mediaId}", alice)).Refused(HttpStatusCode.NotFound, "M_NOT_FOUND");
        (await hs.Client.GetAsync($"/_matrix/client/v1/media/download/{server}/nosuchmedia", alice)).Refused(HttpStatusCode.NotFound, "M_NOT_FOUND");
    }

    [Fact]
    public async Task The_media_config_reports_the_upload_size_limit()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        Assert.True((await hs.Client.GetAsync("/_matrix/client/v1/media/config", alice)).Ok()["m.upload.size"]!.GetValue<long>() > 0);
    }
}
