using ZXing;

namespace Doorman.Tests.Support;

/// <summary>Reads a QR code back as a wallet's camera would: ZXing's QR reader on the PNG's luminance.</summary>
public static class QrScanner
{
    /// <summary>The text of the QR code in the PNG, or null when no QR code is found in it.</summary>
    public static string? Scan(byte[] png)
    {
        var image = PngGrey.Read(png);
        var reader = new BarcodeReaderGeneric { Options = { PossibleFormats = [BarcodeFormat.QR_CODE] } };
        return reader.Decode(image.Pixels, image.Width, image.Height, RGBLuminanceSource.BitmapFormat.Gray8)?.Text;
    }
}
