using System.Text.Json.Serialization;
using Doorman.Matrix.Crypto.Megolm;
using Doorman.Matrix.Crypto.Olm;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// The bot's device and user identity: the device id and its Olm account, the user's cross-signing keys, and what of
/// them the server has. A new device (a new login) gets a new account; the cross-signing keys are the user's and
/// stay, signing the new device.
/// </summary>
internal sealed record IdentityRecord(string DeviceId, AccountPickle Account, CrossSigningSeeds CrossSigning, bool DeviceKeysPublished,
    bool CrossSigningPublished, bool DeviceSigned);

/// <summary>An Olm session with one device (by its Curve25519 key); the newest used one is the one we send with.</summary>
internal sealed record OlmSessionRecord(string TheirIdentityKey, SessionPickle Session, long LastUsedMs);

/// <summary>
/// A Megolm session someone shared with us, with who shared it: the Curve25519 key the Olm message came from and the
/// Ed25519 key the sender claimed in it (CS API "m.room_key": the keys are bound to the Olm session).
/// </summary>
internal sealed record InboundRecord(string RoomId, string SenderKey, string SenderEd25519, string SenderUserId, GroupSessionPickle Session);

/// <summary>
/// The bot's Megolm session in a room: when it began, how many messages it has sent, and which devices have it
/// (user → device → Curve25519 key they were sent it under), so that a member or device that leaves makes a new one.
/// </summary>
internal sealed record OutboundRecord(string RoomId, GroupSessionPickle Session, long CreatedMs, int Messages,
    Dictionary<string, Dictionary<string, string>> SharedWith);

/// <summary>Why a room key was withheld from us (<c>m.room_key.withheld</c>), to tell the sender.</summary>
internal sealed record WithheldRecord(string Code, string? Reason);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(IdentityRecord))]
[JsonSerializable(typeof(OlmSessionRecord))]
[JsonSerializable(typeof(InboundRecord))]
[JsonSerializable(typeof(OutboundRecord))]
[JsonSerializable(typeof(WithheldRecord))]
[JsonSerializable(typeof(UserDevices))]
internal sealed partial class CryptoStateJson : JsonSerializerContext;
