using System.Text.Json.Nodes;

namespace Doorman.Matrix;

/// <summary>Reading strings out of JSON that other parties wrote: anything that is not a JSON string is null, never an exception.</summary>
internal static class JsonText
{
    public static string? Of(JsonNode? node) => node is JsonValue value && value.TryGetValue(out string? text) ? text : null;
}
