using ZXing;
using ZXing.Common;
using ZXing.QrCode.Internal;

namespace Doorman.Tests.Support;

/// <summary>
/// Reads a QR code back as a wallet's camera would: ZXing's QR reader on the PNG's luminance. ZXing's detector
/// misses about one valid code in fifty (data that looks like a finder pattern misleads it; its decoder reads the
/// same codes), so when it finds nothing the image is read module by module, as the upright, quiet-zoned code the
/// bot draws, and that grid goes to ZXing's decoder: either way the text comes from the pixels.
/// </summary>
public static class QrScanner
{
    /// <summary>The text of the QR code in the PNG, or null when no QR code is found in it.</summary>
    public static string? Scan(byte[] png)
    {
        var image = PngGrey.Read(png);
        var reader = new BarcodeReaderGeneric { Options = { PossibleFormats = [BarcodeFormat.QR_CODE] } };
        return reader.Decode(image.Pixels, image.Width, image.Height, RGBLuminanceSource.BitmapFormat.Gray8)?.Text ?? ReadGrid(image);
    }

    /// <summary>
    /// An upright code: its dark bounds give its size, the top-left finder pattern (7 modules wide) the module
    /// size; each module is read at its centre.
    /// </summary>
    private static string? ReadGrid(GreyImage image)
    {
        bool Dark(int x, int y) => image.Pixels[y * image.Width + x] < 128;
        int left = int.MaxValue, top = int.MaxValue, right = -1, bottom = -1;
        for (var y = 0; y < image.Height; y++)
        {
            for (var x = 0; x < image.Width; x++)
            {
                if (!Dark(x, y))
                    continue;
                left = Math.Min(left, x);
                top = Math.Min(top, y);
                right = Math.Max(right, x);
                bottom = Math.Max(bottom, y);
            }
        }
        if (right < 0)
            return null;
        var finder = 0;
        while (left + finder <= right && Dark(left + finder, top))
            finder++;
        var module = finder / 7.0;
        var modules = (int)Math.Round((right - left + 1) / module);
        if (module < 1 || modules < 21 || modules != (int)Math.Round((bottom - top + 1) / module))
            return null;
        var bits = new BitMatrix(modules, modules);
        for (var row = 0; row < modules; row++)
        {
            for (var column = 0; column < modules; column++)
            {
                if (Dark(left + (int)((column + 0.5) * module), top + (int)((row + 0.5) * module)))
                    bits[column, row] = true;
            }
        }
        try
        {
            return new Decoder().decode(bits, null)?.Text;
        }
        catch (ReaderException)
        {
            return null;
        }
    }
}
