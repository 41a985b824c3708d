using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// Matches the raw request path (percent-decoded per segment, so a state key may hold an encoded <c>/</c>)
/// against templates such as <c>/_matrix/client/v3/rooms/{roomId}/state/{type}/{stateKey?}</c>. A path that
/// matches only with another method is 405, anything else 404, both <c>M_UNRECOGNIZED</c> as Synapse answers.
/// </summary>
internal sealed class Router
{
    private readonly List<Route> _routes = [];

    public void Map(string method, string template, Func<RequestContext, Task> handler, bool requiresAuth = true) =>
        _routes.Add(new Route(method, template.Split('/', StringSplitOptions.RemoveEmptyEntries), handler, requiresAuth));

    public (Route Route, Dictionary<string, string> Values) Match(string method, string[] segments)
    {
        var pathKnown = false;
        foreach (var route in _routes)
        {
            if (route.TryMatch(segments) is { } values)
            {
                if (string.Equals(route.Method, method, StringComparison.OrdinalIgnoreCase))
                {
                    return (route, values);
                }

                pathKnown = true;
            }
        }

        throw MatrixErrorException.Unrecognized(pathKnown ? 405 : 404);
    }

    /// <summary>The path of the request target as sent, split into decoded segments; a trailing slash gives an empty last one.</summary>
    public static string[] Segments(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "/";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? raw : raw[..query];
        var parts = path.Split('/');
        return [.. parts.Skip(1).Select(Uri.UnescapeDataString)];
    }
}

internal sealed record Route(string Method, string[] Template, Func<RequestContext, Task> Handler, bool RequiresAuth)
{
    public Dictionary<string, string>? TryMatch(string[] segments)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < Template.Length; i++)
        {
            var part = Template[i];
            var optional = part.EndsWith("?}", StringComparison.Ordinal);
            if (i >= segments.Length)
            {
                if (!optional)
                {
                    return null;
                }

                values[part[1..^2]] = "";
                continue;
            }

            if (part.StartsWith('{'))
            {
                var value = segments[i];
                if (value.Length == 0 && !optional)
                {
                    return null;
                }

                values[optional ? part[1..^2] : part[1..^1]] = value;
            }
            else if (part != segments[i])
            {
                return null;
            }
        }

        return segments.Length > Template.Length ? null : values;
    }
}

/// <summary>One request on its way through a handler: route values, the caller, and the body parsed on demand.</summary>
internal sealed class RequestContext(HttpContext http, Dictionary<string, string> values, Session? session)
{
    public HttpContext Http { get; } = http;

    public Session Session => session ?? throw new InvalidOperationException("This route does not authenticate");

    public string this[string name] => values[name];

    public string? Query(string name) => Http.Request.Query.TryGetValue(name, out var value) ? value.ToString() : null;

    public async Task<JsonObject> ReadObjectAsync(bool allowEmpty = false)
    {
        using var buffer = new MemoryStream();
        await Http.Request.Body.CopyToAsync(buffer, Http.RequestAborted);
        return Json.ParseObject(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), allowEmpty);
    }

    public async Task<byte[]> ReadBytesAsync()
    {
        using var buffer = new MemoryStream();
        await Http.Request.Body.CopyToAsync(buffer, Http.RequestAborted);
        return buffer.ToArray();
    }
}
