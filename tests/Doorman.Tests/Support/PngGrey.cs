using System.Buffers.Binary;
using System.IO.Compression;

namespace Doorman.Tests.Support;

/// <summary>An image as one luminance byte per pixel (0 black, 255 white), row by row from the top.</summary>
public sealed record GreyImage(int Width, int Height, byte[] Pixels);

/// <summary>
/// Just enough of a PNG reader (PNG spec, W3C 2nd edition) to read back the QR codes the bot sends, so that a
/// barcode reader can scan them. QRCoder's <c>PngByteQRCode</c> (src/Doorman/Messaging/QrCodes.cs) writes
/// 1-bit greyscale, or 1-bit palette when given colours, non-interlaced, in one IDAT. This reads greyscale and
/// palette images of 1, 2, 4 or 8 bits, non-interlaced, with any of the five filter types, the IDAT data split
/// over any number of chunks. Anything else throws <see cref="NotSupportedException"/>; chunk CRCs are not
/// checked (the zlib stream's Adler-32 is).
/// </summary>
public static class PngGrey
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private const byte Greyscale = 0, Palette = 3;

    public static GreyImage Read(ReadOnlySpan<byte> png)
    {
        if (png.Length < Signature.Length || !png[..Signature.Length].SequenceEqual(Signature))
            throw new InvalidDataException("not a PNG: the signature is wrong");

        int width = 0, height = 0;
        byte bitDepth = 0, colourType = 0;
        byte[]? paletteLuminance = null;
        using var idat = new MemoryStream();
        var at = Signature.Length;
        while (true)
        {
            // §5.3: length (4, big-endian), type (4), data, CRC (4).
            if (at + 8 > png.Length)
                throw new InvalidDataException("the PNG ends before its IEND chunk");
            var length = checked((int)BinaryPrimitives.ReadUInt32BigEndian(png[at..]));
            var type = System.Text.Encoding.ASCII.GetString(png.Slice(at + 4, 4));
            var data = png.Slice(at + 8, length);
            at += 12 + length;
            switch (type)
            {
                case "IHDR":
                    // §11.2.2: width, height, bit depth, colour type, compression, filter, interlace.
                    width = checked((int)BinaryPrimitives.ReadUInt32BigEndian(data));
                    height = checked((int)BinaryPrimitives.ReadUInt32BigEndian(data[4..]));
                    bitDepth = data[8];
                    colourType = data[9];
                    if (colourType is not (Greyscale or Palette) || bitDepth is not (1 or 2 or 4 or 8))
                        throw new NotSupportedException($"PNG colour type {colourType} at {bitDepth} bits (only greyscale or palette, 1 to 8 bits)");
                    if (data[10] != 0 || data[11] != 0 || data[12] != 0)
                        throw new NotSupportedException("only deflate, filter method 0 and no interlacing are read");
                    break;
                case "PLTE":
                    // §11.2.3: RGB triples; the luminance weights are ITU-R BT.601's.
                    paletteLuminance = new byte[length / 3];
                    for (var i = 0; i < paletteLuminance.Length; i++)
                        paletteLuminance[i] = (byte)((299 * data[3 * i] + 587 * data[3 * i + 1] + 114 * data[3 * i + 2]) / 1000);
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
                case "IEND":
                    if (width == 0)
                        throw new InvalidDataException("the PNG has no IHDR chunk");
                    if (colourType == Palette && paletteLuminance is null)
                        throw new InvalidDataException("a palette PNG without a PLTE chunk");
                    return Expand(Unfilter(idat.ToArray(), width, height, bitDepth), width, height, bitDepth, paletteLuminance);
                default:
                    break; // Ancillary chunks (tRNS, pHYs, text…) do not change which pixels are dark.
            }
        }
    }

    /// <summary>§9: each scanline is a filter-type byte and then the filtered bytes; undoes the filters in place.</summary>
    private static byte[] Unfilter(byte[] zlib, int width, int height, int bitDepth)
    {
        var stride = (width * bitDepth + 7) / 8;
        var raw = new byte[height * (stride + 1)];
        using (var inflate = new ZLibStream(new MemoryStream(zlib), CompressionMode.Decompress))
            inflate.ReadExactly(raw);

        // §9.2: filters work on bytes, comparing with the byte of the pixel to the left, or the byte before for
        // images of less than one byte per pixel.
        const int bytesPerPixel = 1;
        var rows = new byte[height * stride];
        for (var y = 0; y < height; y++)
        {
            var filter = raw[y * (stride + 1)];
            var line = raw.AsSpan(y * (stride + 1) + 1, stride);
            var row = rows.AsSpan(y * stride, stride);
            var above = y == 0 ? new byte[stride] : rows.AsSpan((y - 1) * stride, stride);
            for (var x = 0; x < stride; x++)
            {
                int a = x >= bytesPerPixel ? row[x - bytesPerPixel] : 0, b = above[x], c = x >= bytesPerPixel ? above[x - bytesPerPixel] : 0;
                row[x] = (byte)(line[x] + filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"PNG filter type {filter} on row {y}"),
                });
            }
        }
        return rows;
    }

    /// <summary>§9.4: whichever of left, above and upper-left is nearest to left + above − upper-left.</summary>
    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>§7.2: samples are packed from the high bits of each byte; each becomes a luminance.</summary>
    private static GreyImage Expand(byte[] rows, int width, int height, int bitDepth, byte[]? paletteLuminance)
    {
        var stride = (width * bitDepth + 7) / 8;
        var max = (1 << bitDepth) - 1;
        var pixels = new byte[width * height];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var bit = x * bitDepth;
                var sample = (rows[y * stride + bit / 8] >> (8 - bitDepth - bit % 8)) & max;
                pixels[y * width + x] = paletteLuminance is null ? (byte)(sample * 255 / max)
                    : sample < paletteLuminance.Length ? paletteLuminance[sample]
                    : throw new InvalidDataException($"palette index {sample} past the {paletteLuminance.Length}-entry palette");
            }
        }
        return new GreyImage(width, height, pixels);
    }
}
