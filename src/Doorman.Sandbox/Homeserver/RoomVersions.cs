namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// What differs between the room versions we host (rooms spec, "Room Versions"): 10 enforces integer power
/// levels and adds <c>knock_restricted</c>; 11 drops <c>creator</c> from <c>m.room.create</c> (the sender is
/// the creator); 12 gives creators infinite power and makes the room id a hash of the create event.
/// </summary>
internal sealed record RoomVersion(string Id, bool ImplicitCreator, bool CreatorsHaveInfinitePower, bool RoomIdIsCreateEventHash)
{
    public static readonly RoomVersion V10 = new("10", ImplicitCreator: false, CreatorsHaveInfinitePower: false, RoomIdIsCreateEventHash: false);
    public static readonly RoomVersion V11 = new("11", ImplicitCreator: true, CreatorsHaveInfinitePower: false, RoomIdIsCreateEventHash: false);
    public static readonly RoomVersion V12 = new("12", ImplicitCreator: true, CreatorsHaveInfinitePower: true, RoomIdIsCreateEventHash: true);

    public static readonly IReadOnlyList<RoomVersion> Supported = [V10, V11, V12];

    public static RoomVersion? Find(string id) => Supported.FirstOrDefault(v => v.Id == id);
}
