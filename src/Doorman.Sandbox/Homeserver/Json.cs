using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>Reading request bodies the way Synapse does (synapse/http/servlet.py): errors name the problem.</summary>
internal static class Json
{
    /// <summary>
    /// The body as a JSON object: not JSON is 400 <c>M_NOT_JSON</c>, JSON that is not an object is 400
    /// <c>M_BAD_JSON</c>. An empty body counts as <c>{}</c> only where <paramref name="allowEmpty"/> says so.
    /// </summary>
    public static JsonObject ParseObject(ReadOnlySpan<byte> body, bool allowEmpty)
    {
        if (body.IsEmpty && allowEmpty)
        {
            return [];
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            throw MatrixErrorException.NotJson();
        }

        return node as JsonObject ?? throw MatrixErrorException.NotAnObject();
    }

    public static string? OptionalString(JsonObject obj, string key) =>
        obj[key] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    public static string RequiredString(JsonObject obj, string key) =>
        OptionalString(obj, key) ?? throw MatrixErrorException.MissingParams(key);

    public static JsonObject? OptionalObject(JsonObject obj, string key) => obj[key] as JsonObject;

    /// <summary>
    /// A JSON number as a double, whether it was parsed from text or built from a CLR integer (which
    /// GetValue of double will not widen).
    /// </summary>
    public static bool TryGetNumber(JsonNode? node, out double value)
    {
        value = 0;
        return node is JsonValue && node.GetValueKind() == JsonValueKind.Number
            && double.TryParse(node.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
