namespace Doorman.Hosting;

/// <summary>
/// <c>Doorman --healthcheck</c>: asks the running bot's <c>/healthz</c> on this machine and exits 0 when healthy.
/// For Docker's HEALTHCHECK, since the runtime image has no curl.
/// </summary>
public static class HealthProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables().AddCommandLine(args.Where(a => a != "--healthcheck").ToArray()).Build();
        var urls = configuration.GetSection(HttpOptions.Section).Get<HttpOptions>()?.Urls ?? new HttpOptions().Urls;
        var url = new Uri(urls.Split(';')[0].Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal)
            .Replace("*", "127.0.0.1", StringComparison.Ordinal).Replace("+", "127.0.0.1", StringComparison.Ordinal));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(new Uri(url, "/healthz"));
            Console.WriteLine($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.WriteLine("unreachable: " + e.Message);
            return 1;
        }
    }
}
