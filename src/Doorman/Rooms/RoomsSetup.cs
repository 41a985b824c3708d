using Doorman.Access;

namespace Doorman.Rooms;

public static class RoomsSetup
{
    /// <summary>Facts about rooms, read live from the homeserver.</summary>
    public static IServiceCollection AddRooms(this IServiceCollection services)
    {
        services.AddSingleton<RoomDirectory>();
        services.AddSingleton<IRoomFacts, LiveRoomFacts>();
        return services;
    }
}
