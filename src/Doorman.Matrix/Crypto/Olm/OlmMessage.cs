namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// An Olm message as <c>m.olm.v1.curve25519-aes-sha2</c> to-device content carries it under <c>ciphertext</c>:
/// the type (0 = pre-key, 1 = normal) and the body in unpadded base64 (spec: Olm, "Olm message format").
/// </summary>
public sealed record OlmMessage(int Type, string Body)
{
    public const int PreKeyType = 0;
    public const int NormalType = 1;
}
