using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Matrix.Sync;

namespace Doorman.Matrix;

/// <summary>
/// Source-generated (de)serialization for everything the client sends and reads. <see cref="MaxDepth"/>: an event's
/// content comes from other servers and may nest deeper than the reader's default 64 levels, which counts from the
/// top of the /sync body (an event's content starts 8 levels down) and, exceeded, fails the whole body, not the one
/// event. Synapse parses and re-encodes every event with Python's json module, which stops near 1,000 levels (its
/// recursion limit); the reader and JsonDocument keep their own stacks, so a deep limit costs nothing until used.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never, NumberHandling = JsonNumberHandling.Strict, MaxDepth = MaxDepth)]
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
[JsonSerializable(typeof(MessagesResponse))]
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
[JsonSerializable(typeof(System.Text.Json.Nodes.JsonObject))]
[JsonSerializable(typeof(Dictionary<string, List<string>>))]
internal sealed partial class MatrixJsonContext : JsonSerializerContext
{
    private const int MaxDepth = 2048;
}

/// <summary>Type information for the public types, for callers that store or read them as JSON.</summary>
public static class MatrixJson
{
    public static JsonTypeInfo<MessageContent> MessageContent => MatrixJsonContext.Default.MessageContent;

    public static JsonTypeInfo<SyncResponse> SyncResponse => MatrixJsonContext.Default.SyncResponse;

    public static JsonTypeInfo<ClientEvent> ClientEvent => MatrixJsonContext.Default.ClientEvent;

    public static JsonTypeInfo<CreateContent> CreateContent => MatrixJsonContext.Default.CreateContent;
}
