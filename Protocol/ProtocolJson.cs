using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireChat.Protocol;

/// <summary>Source-generated JSON metadata for every frame of protocol v1.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(HelloFrame))]
[JsonSerializable(typeof(SendFrame))]
[JsonSerializable(typeof(AckFrame))]
[JsonSerializable(typeof(SyncFrame))]
[JsonSerializable(typeof(GsyncFrame))]
[JsonSerializable(typeof(PingFrame))]
[JsonSerializable(typeof(ReadFrame))]
[JsonSerializable(typeof(TypingFrame))]
[JsonSerializable(typeof(ReceiptFrame))]
[JsonSerializable(typeof(ConversationPage))]
[JsonSerializable(typeof(ReceiptsPage))]
[JsonSerializable(typeof(ConversationSettings))]
[JsonSerializable(typeof(BlockRequest))]
[JsonSerializable(typeof(BlocksPage))]
[JsonSerializable(typeof(WelcomeFrame))]
[JsonSerializable(typeof(SendAckFrame))]
[JsonSerializable(typeof(MsgFrame))]
[JsonSerializable(typeof(SyncReplyFrame))]
[JsonSerializable(typeof(GsyncReplyFrame))]
[JsonSerializable(typeof(PongFrame))]
[JsonSerializable(typeof(ErrorFrame))]
[JsonSerializable(typeof(List<MsgFrame>))]
[JsonSerializable(typeof(TokenRequest))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(HistoryPage))]
[JsonSerializable(typeof(CreateGroupRequest))]
[JsonSerializable(typeof(CreateGroupResponse))]
[JsonSerializable(typeof(GroupInfoResponse))]
[JsonSerializable(typeof(AddMembersRequest))]
[JsonSerializable(typeof(List<PresenceInfo>))]
[JsonSerializable(typeof(PushSubscriptionRequest))]
[JsonSerializable(typeof(List<PushSubscriptionInfo>))]
[JsonSerializable(typeof(VapidKeyResponse))]
[JsonSerializable(typeof(EditFrame))]
[JsonSerializable(typeof(RecallFrame))]
[JsonSerializable(typeof(ReactFrame))]
[JsonSerializable(typeof(PinFrame))]
[JsonSerializable(typeof(PinsPage))]
public sealed partial class ProtocolJson : JsonSerializerContext;
