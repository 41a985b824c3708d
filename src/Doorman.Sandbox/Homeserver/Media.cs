namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// The content repository (CS API §"Content repository"): upload through the unauthenticated-era
/// <c>/_matrix/media/v3/upload</c> (still current), download only through the authenticated
/// <c>/_matrix/client/v1/media/download</c> (v1.11), as our Synapse enforces.
/// </summary>
internal sealed partial class HomeserverEngine
{
    /// <summary>Synapse's default <c>max_upload_size</c>, reported as <c>m.upload.size</c>.</summary>
    public const long MaxUploadSize = 50 * 1024 * 1024;

    private readonly Dictionary<string, StoredMedia> _media = new(StringComparer.Ordinal);

    public string Upload(byte[] content, string contentType, string? fileName)
    {
        if (content.LongLength > MaxUploadSize)
        {
            throw new MatrixErrorException(413, "M_TOO_LARGE", "Upload request body is too large");
        }

        lock (_gate)
        {
            var mediaId = Ids.NewMediaId();
            _media[mediaId] = new StoredMedia(content, contentType, fileName);
            return $"mxc://{ServerName}/{mediaId}";
        }
    }

    public StoredMedia Download(string serverName, string mediaId)
    {
        lock (_gate)
        {
            // No federation: media of other servers is as unknown as a missing id.
            return serverName == ServerName && _media.TryGetValue(mediaId, out var media)
                ? media
                : throw MatrixErrorException.NotFound("Not found");
        }
    }
}

internal sealed record StoredMedia(byte[] Content, string ContentType, string? FileName);
