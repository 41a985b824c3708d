using QRCoder;

namespace Doorman.Messaging;

/// <summary>QR code images for invoices.</summary>
public static class QrCodes
{
    /// <summary>
    /// A PNG of <paramref name="data"/>. Wallets scan <c>LIGHTNING:LNBC…</c> in upper case: QR's alphanumeric mode
    /// then applies, which makes the code markedly smaller than mixed case would.
    /// </summary>
    public static (byte[] Png, int Size) Render(string data, int pixelsPerModule = 6)
    {
        using var generator = new QRCodeGenerator();
        using var code = generator.CreateQrCode(data, QRCodeGenerator.ECCLevel.M);
        var png = new PngByteQRCode(code).GetGraphic(pixelsPerModule);
        return (png, code.ModuleMatrix.Count * pixelsPerModule);
    }
}
