using System.Security.Cryptography;

namespace Doorman.Matrix.Crypto.Megolm;

/// <summary>
/// The Megolm ratchet: four 32-byte parts R(i,0)..R(i,3) and the 32-bit counter i (spec: Megolm "The Megolm
/// ratchet algorithm"). R(i,3) is rehashed every step, reseeded from R(i,2) every 2^8 steps, R(i,2) from R(i,1)
/// every 2^16 and R(i,1) from R(i,0) every 2^24, so any index ahead is reached in at most 1020 hashes.
/// </summary>
internal sealed class MegolmRatchet
{
    public const int PartSize = 32;
    public const int Size = 4 * PartSize;

    // Spec "Advancing the ratchet": H_j(A) = HMAC-SHA-256 keyed with A over the single byte j.
    private static readonly byte[][] Seeds = [[0x00], [0x01], [0x02], [0x03]];

    private readonly byte[] _parts;

    public MegolmRatchet(ReadOnlySpan<byte> parts, uint index)
    {
        if (parts.Length != Size)
            throw new ArgumentException($"A Megolm ratchet is {Size} bytes.", nameof(parts));
        _parts = parts.ToArray();
        Index = index;
    }

    /// <summary>A new ratchet at index 0 from 1024 random bits (spec: Megolm "Session setup").</summary>
    public static MegolmRatchet Create() => new(RandomNumberGenerator.GetBytes(Size), 0);

    public uint Index { get; private set; }

    /// <summary>R(i) = R(i,0) ‖ R(i,1) ‖ R(i,2) ‖ R(i,3), the input of the message keys' HKDF.</summary>
    public ReadOnlySpan<byte> Bytes => _parts;

    public MegolmRatchet Clone() => new(_parts, Index);

    /// <summary>One step: i → i+1 (wrapping at 2^32, as the counter is 32 bits).</summary>
    public void Advance()
    {
        Index = unchecked(Index + 1);
        // The slowest part that changes: 0 when i is a multiple of 2^24, 1 for 2^16, 2 for 2^8, else 3.
        var from = 3;
        for (var part = 0; part < 3; part++)
        {
            if ((Index & (0x00FFFFFFu >> (8 * part))) == 0)
            {
                from = part;
                break;
            }
        }
        Reseed(from);
    }

    /// <summary>
    /// Jumps to <paramref name="target"/> in at most 4 × 255 hashes: for each part from the slowest, rehash it
    /// in place for all but the last step its byte of the counter moves, then on the last step reseed the faster
    /// parts from it. A target below the index wraps through 2^32, as libolm's and vodozemac's do.
    /// </summary>
    public void AdvanceTo(uint target)
    {
        for (var part = 0; part < 4; part++)
        {
            var shift = (3 - part) * 8;
            var steps = ((target >> shift) - (Index >> shift)) & 0xFF;
            if (steps == 0)
            {
                // Only for R(i,0): the target is below the counter, so the 32-bit counter wraps round.
                if (target < Index)
                    steps = 0x100;
                else
                    continue;
            }
            for (; steps > 1; steps--)
                Hash(part, part);
            Reseed(part);
            Index = target & (uint.MaxValue << shift);
        }
    }

    /// <summary>R(j..3) from R(from): the faster parts first, so each still reads the old R(from).</summary>
    private void Reseed(int from)
    {
        for (var to = 3; to >= from; to--)
            Hash(from, to);
    }

    private void Hash(int from, int to)
    {
        var hash = HMACSHA256.HashData(_parts.AsSpan(from * PartSize, PartSize), Seeds[to]);
        hash.CopyTo(_parts.AsSpan(to * PartSize, PartSize));
    }
}
