using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Matrix.Sync;

namespace Doorman.Matrix;

/// <summary>Source-generated (de)serialization for everything the client sends and reads.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(SyncResponse))]
[JsonSerializable(typeof(ClientEvent))]
[JsonSerializable(typeof(List<ClientEvent>))]
[JsonSerializable(typeof(UnsignedData))]
[JsonSerializable(typeof(MessageContent))]
[JsonSerializable(typeof(PowerLevelsContent))]
[JsonSerializable(typeof(CreateContent))]
[JsonSerializable(typeof(CreateRoomRequest))]
[JsonSerializable(typeof(CreateRoomResponse))]
[JsonSerializable(typeof(RoomIdResponse))]
[JsonSerializable(typeof(EventIdResponse))]
[JsonSerializable(typeof(FilterIdResponse))]
[JsonSerializable(typeof(ContentUriResponse))]
[JsonSerializable(typeof(JoinedRoomsResponse))]
[JsonSerializable(typeof(MembersResponse))]
[JsonSerializable(typeof(UserReason))]
[JsonSerializable(typeof(Reason))]
[JsonSerializable(typeof(AliasResolution))]
[JsonSerializable(typeof(WhoAmI))]
[JsonSerializable(typeof(VersionsResponse))]
[JsonSerializable(typeof(CapabilitiesResponse))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(LoginResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Dictionary<string, List<string>>))]
internal sealed partial class MatrixJsonContext : JsonSerializerContext;

/// <summary>Type information for the public types, for callers that store or read them as JSON.</summary>
public static class MatrixJson
{
    public static JsonTypeInfo<MessageContent> MessageContent => MatrixJsonContext.Default.MessageContent;

    public static JsonTypeInfo<SyncResponse> SyncResponse => MatrixJsonContext.Default.SyncResponse;

    public static JsonTypeInfo<ClientEvent> ClientEvent => MatrixJsonContext.Default.ClientEvent;

    public static JsonTypeInfo<CreateContent> CreateContent => MatrixJsonContext.Default.CreateContent;
}
