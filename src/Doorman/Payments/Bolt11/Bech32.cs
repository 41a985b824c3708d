namespace Doorman.Payments.Bolt11;

/// <summary>
/// Bech32 as BIP-173 defines it, with BOLT #11's one change: no 90-character limit ("Encoding Overview":
/// a reader MUST parse the address as Bech32 "also without the character limit"). Bech32m (BIP-350) is
/// recognised only to name it in the error, because BOLT #11 invoices use the original constant.
/// </summary>
internal static class Bech32
{
    public const string Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    private const uint Bech32Constant = 1;
    private const uint Bech32mConstant = 0x2bc830a3;
    private const int ChecksumLength = 6;

    private static readonly sbyte[] CharsetReverse = BuildReverse();

    /// <summary>Splits and verifies a bech32 string; returns the lowercase human-readable part and the 5-bit data words without the checksum.</summary>
    public static (string Hrp, byte[] Words) Decode(string text)
    {
        if (text.Length == 0)
            throw new FormatException("the invoice is empty");
        bool hasLower = false, hasUpper = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < 33 || c > 126)
                throw new FormatException($"invalid character (code {(int)c}) at position {i}");
            hasLower |= c is >= 'a' and <= 'z';
            hasUpper |= c is >= 'A' and <= 'Z';
        }
        if (hasLower && hasUpper)
            throw new FormatException("mixes upper and lower case (BIP-173 forbids it)");

        var lower = text.ToLowerInvariant();
        var separator = lower.LastIndexOf('1');
        if (separator < 0)
            throw new FormatException("has no '1' separating the human-readable part from the data");
        if (separator == 0)
            throw new FormatException("has an empty human-readable part");
        if (lower.Length - separator - 1 < ChecksumLength)
            throw new FormatException("is too short to hold a bech32 checksum");

        var hrp = lower[..separator];
        var data = new byte[lower.Length - separator - 1];
        for (var i = 0; i < data.Length; i++)
        {
            var c = lower[separator + 1 + i];
            var value = c < 128 ? CharsetReverse[c] : (sbyte)-1;
            if (value < 0)
                throw new FormatException($"has '{c}' at position {separator + 1 + i}, which is not a bech32 character");
            data[i] = (byte)value;
        }

        var check = Polymod(HrpExpand(hrp), data);
        if (check == Bech32mConstant)
            throw new FormatException("has a bech32m checksum; BOLT #11 invoices use bech32");
        if (check != Bech32Constant)
            throw new FormatException("has a bad bech32 checksum");
        return (hrp, data[..^ChecksumLength]);
    }

    /// <summary>Encodes lowercase <paramref name="hrp"/> and 5-bit <paramref name="words"/> with a bech32 checksum.</summary>
    public static string Encode(string hrp, ReadOnlySpan<byte> words)
    {
        var values = new byte[words.Length + ChecksumLength];
        words.CopyTo(values);
        var mod = Polymod(HrpExpand(hrp), values) ^ Bech32Constant;
        for (var i = 0; i < ChecksumLength; i++)
            values[words.Length + i] = (byte)((mod >> (5 * (5 - i))) & 31);

        var chars = new char[hrp.Length + 1 + values.Length];
        hrp.CopyTo(chars);
        chars[hrp.Length] = '1';
        for (var i = 0; i < values.Length; i++)
            chars[hrp.Length + 1 + i] = Charset[values[i]];
        return new string(chars);
    }

    /// <summary>
    /// Regroups bits (BIP-173's convertbits). With <paramref name="pad"/> the last group is zero-filled;
    /// without it, leftover bits must be fewer than <paramref name="fromBits"/> and all zero.
    /// </summary>
    public static byte[]? ConvertBits(ReadOnlySpan<byte> data, int fromBits, int toBits, bool pad)
    {
        var result = new List<byte>(data.Length * fromBits / toBits + 1);
        int accumulator = 0, bits = 0;
        var maxValue = (1 << toBits) - 1;
        foreach (var value in data)
        {
            if (value >> fromBits != 0)
                return null;
            accumulator = ((accumulator << fromBits) | value) & 0xFFFFFF;
            bits += fromBits;
            while (bits >= toBits)
            {
                bits -= toBits;
                result.Add((byte)((accumulator >> bits) & maxValue));
            }
        }
        if (pad)
        {
            if (bits > 0)
                result.Add((byte)((accumulator << (toBits - bits)) & maxValue));
        }
        else if (bits >= fromBits || ((accumulator << (toBits - bits)) & maxValue) != 0)
        {
            return null;
        }
        return [.. result];
    }

    private static byte[] HrpExpand(string hrp)
    {
        var result = new byte[hrp.Length * 2 + 1];
        for (var i = 0; i < hrp.Length; i++)
        {
            result[i] = (byte)(hrp[i] >> 5);
            result[hrp.Length + 1 + i] = (byte)(hrp[i] & 31);
        }
        return result;
    }

    private static uint Polymod(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> values)
    {
        uint chk = 1;
        foreach (var v in prefix)
            chk = Step(chk, v);
        foreach (var v in values)
            chk = Step(chk, v);
        return chk;

        static uint Step(uint chk, byte v)
        {
            var top = chk >> 25;
            chk = ((chk & 0x1ffffff) << 5) ^ v;
            if ((top & 1) != 0) chk ^= 0x3b6a57b2;
            if ((top & 2) != 0) chk ^= 0x26508e6d;
            if ((top & 4) != 0) chk ^= 0x1ea119fa;
            if ((top & 8) != 0) chk ^= 0x3d4233dd;
            if ((top & 16) != 0) chk ^= 0x2a1462b3;
            return chk;
        }
    }

    private static sbyte[] BuildReverse()
    {
        var reverse = new sbyte[128];
        Array.Fill(reverse, (sbyte)-1);
        for (var i = 0; i < Charset.Length; i++)
            reverse[Charset[i]] = (sbyte)i;
        return reverse;
    }
}
