using System.Security.Cryptography;
using Doorman.Matrix.Crypto.Megolm;

namespace Doorman.Matrix.Tests.Crypto;

public class MegolmRatchetTests
{
    [Theory]
    [InlineData(0u, 1u)]
    [InlineData(0u, 255u)]
    [InlineData(0u, 256u)]
    [InlineData(0u, 1000u)]
    [InlineData(250u, 70_000u)]
    [InlineData(65_000u, 65_537u)]
    [InlineData(65_535u, 65_536u)]
    [InlineData((1u << 24) - 300, (1u << 24) + 5)]
    [InlineData((1u << 24) - 1, 1u << 24)]
    [InlineData((2u << 24) - 70_000, (2u << 24) + 700)]
    public void Jumping_ahead_gives_the_keys_stepping_does(uint start, uint target)
    {
        var stepped = new MegolmRatchet(RandomNumberGenerator.GetBytes(MegolmRatchet.Size), start);
        var jumped = stepped.Clone();

        while (stepped.Index != target)
            stepped.Advance();
        jumped.AdvanceTo(target);

        Assert.Equal(target, jumped.Index);
        Assert.Equal(Convert.ToHexString(stepped.Bytes), Convert.ToHexString(jumped.Bytes));
    }

    [Fact]
    public void Jumping_far_in_one_go_or_in_hops_arrives_at_the_same_ratchet()
    {
        var once = MegolmRatchet.Create();
        var hops = once.Clone();

        once.AdvanceTo((1u << 24) + 5);
        foreach (var index in new uint[] { 3, 256, 65_536 + 257, (1u << 24) - 1, 1u << 24, (1u << 24) + 5 })
            hops.AdvanceTo(index);

        Assert.Equal(Convert.ToHexString(once.Bytes), Convert.ToHexString(hops.Bytes));
    }

    [Fact]
    public void Each_step_changes_the_ratchet_and_keeps_the_slower_parts_until_their_boundary()
    {
        var ratchet = MegolmRatchet.Create();
        var start = ratchet.Bytes.ToArray();

        ratchet.Advance();

        Assert.Equal(start[..96], ratchet.Bytes[..96].ToArray());
        Assert.NotEqual(start[96..], ratchet.Bytes[96..].ToArray());

        ratchet.AdvanceTo(256);

        Assert.Equal(start[..64], ratchet.Bytes[..64].ToArray());
        Assert.NotEqual(start[64..96], ratchet.Bytes[64..96].ToArray());
    }

    /// <summary>
    /// A known answer from vodozemac (src/megolm/ratchet.rs, advancing_back_creates_the_correct_bytes): the
    /// all-zero ratchet stepped once, then sent "back" to 0, which wraps through 2^32.
    /// </summary>
    [Fact]
    public void A_target_below_the_index_wraps_round_the_32_bit_counter()
    {
        var ratchet = new MegolmRatchet(new byte[MegolmRatchet.Size], 0);

        ratchet.Advance();
        ratchet.AdvanceTo(0);

        Assert.Equal(0u, ratchet.Index);
        Assert.Equal(
            "17AC8AC069C0FC4415C8ED131BB7A40CADE4030777E680D9E55C53D8058316BC9FA34F8AE350133FA3247480506DEB68792C4A3ADBB2CBFA5EAD4A8D52E30697" +
            "A23504EF05F544CE66171EC6E38A3A6FAD9774DA800C310E5D86F97663108734" + "96C0B630E5A1F723D01B289DFA3F724ACF85BC2C73DC9D9A65DC4FFA18CD1A5A",
            Convert.ToHexString(ratchet.Bytes));
    }
}
