namespace Doorman.Hosting;

/// <summary><c>Http:*</c>: the bot's own HTTP listener (<c>/healthz</c>).</summary>
public sealed class HttpOptions
{
    public const string Section = "Http";

    public string Urls { get; set; } = "http://0.0.0.0:8080";
}
