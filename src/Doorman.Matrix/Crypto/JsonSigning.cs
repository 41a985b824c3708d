using System.Text.Json.Nodes;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// Signing JSON (spec appendix "Signing JSON"): the signature covers the canonical JSON of the object without
/// its <c>signatures</c> and <c>unsigned</c> members, and is stored under
/// <c>signatures.&lt;user or server&gt;.ed25519:&lt;key id&gt;</c> as unpadded base64.
/// </summary>
public static class JsonSigning
{
    /// <summary>The bytes a signature covers.</summary>
    public static byte[] SignedBytes(JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        copy.Remove("signatures");
        copy.Remove("unsigned");
        return CanonicalJson.Encode(copy);
    }

    /// <summary>Adds a signature to <paramref name="obj"/>, keeping any signatures it already carries.</summary>
    public static JsonObject Sign(JsonObject obj, string signer, string keyId, Ed25519KeyPair key)
    {
        var signature = Base64Unpadded.Encode(key.Sign(SignedBytes(obj)));
        if (obj["signatures"] is not JsonObject signatures)
            obj["signatures"] = signatures = [];
        if (signatures[signer] is not JsonObject mine)
            signatures[signer] = mine = [];
        mine[$"ed25519:{keyId}"] = signature;
        return obj;
    }

    /// <summary>
    /// Whether <paramref name="obj"/> carries a valid signature by <paramref name="signer"/> under
    /// <c>ed25519:<paramref name="keyId"/></c> for <paramref name="publicKey"/>. Anything malformed is false.
    /// </summary>
    public static bool Verify(JsonObject obj, string signer, string keyId, ReadOnlySpan<byte> publicKey)
    {
        // Indexing a node that is not an object throws: signatures from other parties may be any shape.
        var signature = Base64Unpadded.TryDecode(JsonText.Of(((obj["signatures"] as JsonObject)?[signer] as JsonObject)?[$"ed25519:{keyId}"]));
        if (signature is null)
            return false;
        byte[] bytes;
        try
        {
            bytes = SignedBytes(obj);
        }
        catch (FormatException)
        {
            return false;
        }
        return Ed25519KeyPair.Verify(publicKey, bytes, signature);
    }
}
