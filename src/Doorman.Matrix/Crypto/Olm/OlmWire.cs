namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// The protobuf subset Olm messages use (spec: Olm, "Olm message format"): a version byte, then fields as a key
/// (tag &lt;&lt; 3 | wire type) varint followed by a varint (type 0) or a length-prefixed byte string (type 2).
/// Unknown fields of those two types are skipped, as libolm skips them; anything else is malformed.
/// </summary>
internal static class OlmWire
{
    private const int WireVarint = 0;
    private const int WireBytes = 2;

    public static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }
        output.Add((byte)value);
    }

    public static void WriteBytesField(List<byte> output, int tag, ReadOnlySpan<byte> value)
    {
        WriteVarint(output, (ulong)(tag << 3 | WireBytes));
        WriteVarint(output, (ulong)value.Length);
        foreach (var b in value)
            output.Add(b);
    }

    public static void WriteVarintField(List<byte> output, int tag, ulong value)
    {
        WriteVarint(output, (ulong)(tag << 3 | WireVarint));
        WriteVarint(output, value);
    }

    /// <summary>Reads every field; a byte-string field is reported with its bytes, a varint one with its value.</summary>
    public static List<Field> ReadFields(ReadOnlySpan<byte> input)
    {
        var fields = new List<Field>();
        var position = 0;
        while (position < input.Length)
        {
            var key = ReadVarint(input, ref position);
            if (key >> 3 is 0 or > int.MaxValue)
                throw new OlmException("Malformed Olm message: a field with an invalid tag.");
            var tag = (int)(key >> 3);
            switch ((int)(key & 7))
            {
                case WireVarint:
                    fields.Add(new Field(tag, ReadVarint(input, ref position), null));
                    break;
                case WireBytes:
                    var length = ReadVarint(input, ref position);
                    if (length > (ulong)(input.Length - position))
                        throw new OlmException("Malformed Olm message: a field runs past the end.");
                    fields.Add(new Field(tag, 0, input.Slice(position, (int)length).ToArray()));
                    position += (int)length;
                    break;
                default:
                    throw new OlmException($"Malformed Olm message: unsupported wire type {key & 7}.");
            }
        }
        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> input, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= input.Length)
                throw new OlmException("Malformed Olm message: truncated varint.");
            var b = input[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw new OlmException("Malformed Olm message: varint longer than 64 bits.");
    }

    public static byte[] DecodeBody(string body)
    {
        if (string.IsNullOrEmpty(body))
            throw new OlmException("Malformed Olm message: empty body.");
        return Base64Unpadded.TryDecode(body) ?? throw new OlmException("Malformed Olm message: the body is not base64.");
    }

    /// <summary>A decoded field: <see cref="Bytes"/> for a byte string, else <see cref="Value"/>.</summary>
    internal sealed record Field(int Tag, ulong Value, byte[]? Bytes);
}
