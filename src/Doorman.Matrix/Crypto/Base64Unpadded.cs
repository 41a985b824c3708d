namespace Doorman.Matrix.Crypto;

/// <summary>
/// Matrix's key encoding: standard base64 without '=' padding (spec appendix "Unpadded Base64"). Decoding also
/// accepts padded input, as the appendix asks of receivers.
/// </summary>
public static class Base64Unpadded
{
    public static string Encode(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.TrimEnd('=');
        var padding = (4 - trimmed.Length % 4) % 4;
        if (padding == 3)
            throw new FormatException("Not unpadded base64: a length of 4n+1 characters cannot be decoded.");
        return Convert.FromBase64String(trimmed + new string('=', padding));
    }

    /// <summary>Decodes, or returns null for anything that is not base64 (for input from other parties).</summary>
    public static byte[]? TryDecode(string? text)
    {
        if (text is null)
            return null;
        try
        {
            return Decode(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
