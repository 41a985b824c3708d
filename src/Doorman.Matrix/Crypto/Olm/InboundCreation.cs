namespace Doorman.Matrix.Crypto.Olm;

/// <summary>A session the other side started, with the plaintext of the pre-key message that started it.</summary>
public sealed record InboundCreation(OlmSession Session, byte[] Plaintext);
