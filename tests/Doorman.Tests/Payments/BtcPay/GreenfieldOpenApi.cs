using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace Doorman.Tests.Payments.BtcPay;

/// <summary>
/// BTCPay's Greenfield OpenAPI 3.0 document (v2.4.1, merged as BTCPay serves it) as a validator of JSON bodies.
/// Each schema is turned into a self-contained JSON Schema 2020-12 document that JsonSchema.Net evaluates:
/// <list type="bullet">
/// <item><c>$ref</c>s are inlined;</item>
/// <item><c>allOf</c> is merged into one schema, as BTCPay's (NSwag-style) documents mean it: their branches put
/// <c>additionalProperties: false</c> on one part of a type, which read literally would refuse the other part's
/// properties (InvoiceData, WebhookData…), so the merged schema allows exactly the union of properties;</item>
/// <item><c>nullable: true</c> becomes "null or …"; <c>number</c> with format int32/int64 becomes <c>integer</c>;
/// a <c>decimal</c>-format string must look like a decimal number (BTCPay writes them so).</item>
/// </list>
/// </summary>
internal sealed partial class GreenfieldOpenApi
{
    private static readonly Lazy<GreenfieldOpenApi> Shared = new(() => new GreenfieldOpenApi(
        Path.Combine(AppContext.BaseDirectory, "Payments", "BtcPay", "greenfield-v2.4.1.json")));

    private readonly JsonObject document;
    private readonly List<(Regex Pattern, string Template)> paths;

    private GreenfieldOpenApi(string file)
    {
        document = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        paths = [.. document["paths"]!.AsObject().Select(p => (new Regex("^" + Regex.Replace(Regex.Escape(p.Key), @"\\\{[^}]+}", "[^/]+") + "$"), p.Key))];
    }

    public static GreenfieldOpenApi Instance => Shared.Value;

    /// <summary>A named component schema, e.g. "InvoiceData".</summary>
    public JsonSchema Component(string name) => Build(new JsonObject { ["$ref"] = "#/components/schemas/" + name });

    /// <summary>The request body schema of the x-webhooks entry for an event type, e.g. "InvoiceSettled".</summary>
    public JsonSchema WebhookEvent(string type) =>
        Build(document["x-webhooks"]?[type]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"]
            ?? throw new KeyNotFoundException($"x-webhooks has no {type}"));

    /// <summary>
    /// The operation for <paramref name="method"/> on a concrete <paramref name="path"/>. The document lists the invoice
    /// and webhook routes in their 2.4 storeless form (/api/v1/invoices/{invoiceId}); BTCPay serves the same operation
    /// under /api/v1/stores/{storeId}/…, the form the bot calls, so that form is matched to it.
    /// </summary>
    public (string Template, JsonObject Operation) Operation(string method, string path)
    {
        foreach (var candidate in new[] { path, StorePrefix().Replace(path, "/api/v1/") })
        {
            foreach (var (pattern, template) in paths)
            {
                if (pattern.IsMatch(candidate) && document["paths"]![template]![method.ToLowerInvariant()] is JsonObject operation)
                    return (template, operation);
            }
        }
        throw new KeyNotFoundException($"The Greenfield document has no operation {method} {path}");
    }

    public JsonSchema? RequestSchema(JsonObject operation) =>
        operation["requestBody"]?["content"]?["application/json"]?["schema"] is { } schema ? Build(schema) : null;

    /// <summary>
    /// The schema of the answer with <paramref name="status"/>; an error status the operation does not document is
    /// held to BTCPay's error shapes (ProblemDetails, or ValidationProblemDetails for a list). Null: no body documented.
    /// </summary>
    public JsonSchema? ResponseSchema(JsonObject operation, int status, string body)
    {
        var responses = operation["responses"]!.AsObject();
        var response = responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] ?? (status >= 400 ? responses["default"] : null);
        if (response?["content"]?["application/json"]?["schema"] is { } schema)
            return Build(schema);
        if (status >= 400 && body.Length > 0)
            return Component(body.TrimStart().StartsWith('[') ? "ValidationProblemDetails" : "ProblemDetails");
        return null;
    }

    /// <summary>Null when <paramref name="json"/> is valid; otherwise what is wrong, one problem per line.</summary>
    public static string? Problems(JsonSchema schema, string json)
    {
        using var instance = JsonDocument.Parse(json);
        var result = schema.Evaluate(instance.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
            return null;
        var lines = (result.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))
            .Distinct()
            .ToList();
        return lines.Count > 0 ? string.Join("\n", lines) : "invalid";
    }

    private JsonSchema Build(JsonNode schema)
    {
        var converted = Translate(Flatten(schema, 0));
        converted["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        return JsonSchema.FromText(converted.ToJsonString());
    }

    private JsonObject Resolve(JsonNode node)
    {
        var current = node.AsObject();
        for (var hops = 0; current["$ref"] is JsonValue reference; hops++)
        {
            if (hops > 20)
                throw new InvalidOperationException("$ref cycle");
            var pointer = reference.GetValue<string>();
            if (!pointer.StartsWith("#/", StringComparison.Ordinal))
                throw new NotSupportedException($"external $ref {pointer}");
            JsonNode? target = document;
            foreach (var part in pointer[2..].Split('/'))
                target = target?[part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)];
            current = target?.AsObject() ?? throw new KeyNotFoundException($"unresolved $ref {pointer}");
        }
        return current;
    }

    /// <summary>Inlines $refs and merges allOf, recursively; the result is still OpenAPI-flavoured.</summary>
    private JsonObject Flatten(JsonNode node, int depth)
    {
        if (depth > 40)
            throw new InvalidOperationException("schema nesting too deep (a recursive schema?)");
        var source = Resolve(node);
        var result = new JsonObject();
        foreach (var (key, value) in source)
        {
            switch (key)
            {
                case "allOf":
                    break;
                case "properties":
                    var properties = new JsonObject();
                    foreach (var (name, property) in value!.AsObject())
                        properties[name] = Flatten(property!, depth + 1);
                    result["properties"] = properties;
                    break;
                case "items":
                    result["items"] = Flatten(value!, depth + 1);
                    break;
                case "additionalProperties" when value is JsonObject:
                    result["additionalProperties"] = Flatten(value, depth + 1);
                    break;
                case "anyOf" or "oneOf":
                    result[key] = new JsonArray([.. value!.AsArray().Select(b => (JsonNode)Flatten(b!, depth + 1))]);
                    break;
                default:
                    result[key] = value?.DeepClone();
                    break;
            }
        }
        if (source["allOf"] is JsonArray branches)
        {
            foreach (var branch in branches)
                Merge(result, Flatten(branch!, depth + 1));
        }
        return result;
    }

    private static void Merge(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source)
        {
            switch (key)
            {
                case "properties":
                    var properties = target["properties"] as JsonObject ?? [];
                    target["properties"] = properties;
                    foreach (var (name, property) in value!.AsObject())
                    {
                        if (properties[name] is JsonObject existing)
                            Merge(existing, property!.AsObject());
                        else
                            properties[name] = property!.DeepClone();
                    }
                    break;
                case "required":
                    var required = target["required"] as JsonArray ?? [];
                    target["required"] = required;
                    foreach (var name in value!.AsArray().Select(n => n!.GetValue<string>()))
                        if (!required.Any(r => r!.GetValue<string>() == name))
                            required.Add(name);
                    break;
                case "additionalProperties" when value is JsonValue v && !v.GetValue<bool>():
                    target["additionalProperties"] = false;
                    break;
                case "nullable" when value is JsonValue v && v.GetValue<bool>() && target["nullable"] is null:
                    target["nullable"] = true;
                    break;
                default:
                    if (!target.ContainsKey(key))
                        target[key] = value?.DeepClone();
                    break;
            }
        }
    }

    /// <summary>OpenAPI 3.0 → JSON Schema 2020-12, keeping only the keywords that constrain instances.</summary>
    private static JsonObject Translate(JsonObject schema)
    {
        var result = new JsonObject();
        var type = schema["type"]?.GetValue<string>();
        var format = schema["format"]?.GetValue<string>();
        if (type is not null)
            result["type"] = type == "number" && format is "int32" or "int64" ? "integer" : type;
        if (type == "string" && format == "decimal")
            result["pattern"] = "^-?[0-9]+(\\.[0-9]+)?$";
        foreach (var keyword in new[] { "enum", "minimum", "maximum", "required", "minItems", "maxItems", "minLength", "maxLength", "pattern" })
        {
            if (schema[keyword] is { } value)
                result[keyword] = value.DeepClone();
        }
        if (schema["properties"] is JsonObject properties)
        {
            var translated = new JsonObject();
            foreach (var (name, property) in properties)
                translated[name] = Translate(property!.AsObject());
            result["properties"] = translated;
        }
        if (schema["additionalProperties"] is JsonValue additional && !additional.GetValue<bool>())
            result["additionalProperties"] = false;
        else if (schema["additionalProperties"] is JsonObject additionalSchema)
            result["additionalProperties"] = Translate(additionalSchema);
        if (schema["items"] is JsonObject items)
            result["items"] = Translate(items);
        foreach (var keyword in new[] { "anyOf", "oneOf" })
        {
            if (schema[keyword] is JsonArray branches)
                result[keyword] = new JsonArray([.. branches.Select(b => (JsonNode)Translate(b!.AsObject()))]);
        }
        if (schema["nullable"] is JsonValue nullable && nullable.GetValue<bool>())
            return new JsonObject { ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "null" }, result) };
        return result;
    }

    [GeneratedRegex("^/api/v1/stores/[^/]+/(?=(invoices|webhooks)/[^/]+)")]
    private static partial Regex StorePrefix();
}
