using System.Buffers.Binary;
using System.IO.Compression;
using Doorman.Messaging;
using QRCoder;

namespace Doorman.Tests.Support;

/// <summary>The test-side PNG reader reads what QRCoder writes, and undoes every PNG filter.</summary>
public sealed class PngGreyTests
{
    private const string Invoice = "LIGHTNING:LNBCRT100N1PNG0TEST";

    [Fact]
    public void The_bots_QR_PNG_reads_as_black_modules_on_white_and_scans_back()
    {
        var (png, size) = QrCodes.Render(Invoice);
        var image = PngGrey.Read(png);

        Assert.Equal((size, size), (image.Width, image.Height));
        Assert.Equal(255, image.Pixels[0]); // The quiet zone is light.
        Assert.Equal(0, image.Pixels[(4 * 6 * image.Width) + (4 * 6)]); // The finder pattern's corner is dark.
        Assert.Equal(Invoice, QrScanner.Scan(png));
    }

    [Fact]
    public void A_palette_QR_PNG_scans_back_too()
    {
        using var generator = new QRCodeGenerator();
        using var code = generator.CreateQrCode(Invoice, QRCodeGenerator.ECCLevel.M);
        var png = new PngByteQRCode(code).GetGraphic(4, [0, 0, 128], [255, 255, 160]);

        Assert.Equal(Invoice, QrScanner.Scan(png));
    }

    [Fact]
    public void A_PNG_without_a_QR_code_scans_as_nothing()
    {
        byte[] whiteRow = [0, .. Enumerable.Repeat((byte)255, 40)];
        var blank = Png(width: 40, height: 40, [.. Enumerable.Repeat(whiteRow, 40).SelectMany(row => row)]);
        Assert.Null(QrScanner.Scan(blank));
    }

    [Fact]
    public void Sub_up_average_and_paeth_rows_are_unfiltered()
    {
        // 8-bit grey, 3×4; each row filtered with another type (PNG spec §9.2), worked out by hand.
        byte[] filtered =
        [
            1, 10, 10, 10, // Sub:     10 20 30
            2, 5, 5, 5, // Up:      15 25 35
            3, 13, 8, 8, // Average: 20 30 40
            4, 5, 5, 5, // Paeth:   25 35 45
        ];
        var image = PngGrey.Read(Png(width: 3, height: 4, filtered));
        Assert.Equal([10, 20, 30, 15, 25, 35, 20, 30, 40, 25, 35, 45], image.Pixels);
    }

    [Fact]
    public void A_colour_PNG_is_refused_rather_than_misread()
    {
        var rgb = Png(width: 1, height: 1, [0, 1, 2, 3], colourType: 2);
        Assert.Throws<NotSupportedException>(() => PngGrey.Read(rgb));
    }

    /// <summary>A PNG of already filtered scanlines, 8 bits deep; CRCs are left zero (the reader does not check them).</summary>
    private static byte[] Png(int width, int height, byte[] scanlines, byte colourType = 0)
    {
        using var zlib = new MemoryStream();
        using (var deflate = new ZLibStream(zlib, CompressionLevel.Optimal, leaveOpen: true))
            deflate.Write(scanlines);
        var header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)height);
        header[8] = 8;
        header[9] = colourType;
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", zlib.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(MemoryStream png, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)data.Length);
        png.Write(length);
        png.Write(System.Text.Encoding.ASCII.GetBytes(type));
        png.Write(data);
        png.Write([0, 0, 0, 0]);
    }
}
