using System.Net.Http.Headers;

namespace Doorman.Matrix.Http;

/// <summary>Where the current access token comes from: fixed from configuration, or set after a login.</summary>
public sealed class AccessTokenSource
{
    private volatile string? _token;

    public AccessTokenSource(string? token = null) => _token = token;

    public string? Token => _token;

    public void Set(string token) => _token = token;
}

/// <summary>Adds <c>Authorization: Bearer</c> (CS API §"Using access tokens"); never logs the token.</summary>
public sealed class AccessTokenHandler(AccessTokenSource tokens) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (tokens.Token is { } token)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return base.SendAsync(request, cancellationToken);
    }
}
