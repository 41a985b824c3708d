namespace Doorman.Matrix;

/// <summary>
/// Where the homeserver's client API is. Configured, or discovered at start-up from the user id's server name
/// (<see cref="Discovery"/>), after the clients that use it were made; hence a holder rather than a value.
/// </summary>
public sealed class HomeserverAddress
{
    private Uri? _baseUrl;

    public HomeserverAddress()
    {
    }

    public HomeserverAddress(Uri baseUrl) => BaseUrl = baseUrl;

    /// <summary>Always ends with '/', so relative API paths append to it.</summary>
    public Uri BaseUrl
    {
        get => _baseUrl ?? throw new InvalidOperationException("The homeserver's address is not known yet: configure it or discover it first.");
        set => _baseUrl = new Uri(value.ToString().TrimEnd('/') + "/");
    }

    public bool IsKnown => _baseUrl is not null;
}
