namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// An Olm operation failed: a malformed or forged message, an unknown one-time key, a message key already used
/// or too far ahead. The message says which; the session or account it came from is unchanged.
/// </summary>
public sealed class OlmException(string message) : Exception(message);
