namespace Doorman.Matrix.Crypto.Megolm;

/// <summary>
/// Any Megolm input that cannot be used: malformed base64 or layout, a wrong version, a bad signature or MAC, an
/// index before the session's first known one. Every such input comes from another party, so this is the only
/// exception Megolm throws for it.
/// </summary>
public sealed class MegolmException(string message) : Exception(message);

/// <summary>A decrypted Megolm message and the ratchet index it was encrypted at (for the caller's replay check).</summary>
public sealed record MegolmDecryption(byte[] Plaintext, uint MessageIndex);
