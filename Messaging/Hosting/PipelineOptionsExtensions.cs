using AspireChat.Messaging.Delivery;
using AspireChat.Messaging.Groups;
using AspireChat.Messaging.Ids;
using AspireChat.Messaging.Pipeline;
using AspireChat.Messaging.Presence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AspireChat.Messaging.Hosting;

/// <summary>
/// The pipeline's settings (docs/configuration.md), each bound from its section and validated when the host starts,
/// so a bad value stops the service with a message naming the key instead of misbehaving later.
/// </summary>
public static class PipelineOptionsExtensions
{
    /// <summary><c>Delivery:*</c>, <c>Limits:*</c>, <c>Groups:*</c>, <c>Messages:*</c>.</summary>
    public static IServiceCollection AddPipelineOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DeliveryOptions>().Bind(configuration.GetSection("Delivery"))
            .Validate(o => o.AckTimeout > TimeSpan.Zero, "Delivery:AckTimeout must be positive")
            .Validate(o => o.MaxAttempts >= 1, "Delivery:MaxAttempts must be at least 1")
            .Validate(o => o.Window >= 1, "Delivery:Window must be at least 1")
            .Validate(o => o.RetryInterval > TimeSpan.Zero, "Delivery:RetryInterval must be positive")
            .ValidateOnStart();
        services.AddOptions<LimitsOptions>().Bind(configuration.GetSection("Limits"))
            .Validate(o => o.MaxFrameBytes >= 1024, "Limits:MaxFrameBytes must be at least 1024")
            .Validate(o => o.MaxBodyBytes >= 1 && o.MaxBodyBytes < o.MaxFrameBytes, "Limits:MaxBodyBytes must be positive and smaller than Limits:MaxFrameBytes")
            .Validate(o => o.SendsPerSecond > 0, "Limits:SendsPerSecond must be positive")
            .Validate(o => o.SendBurst >= 1, "Limits:SendBurst must be at least 1")
            .Validate(o => o.FramesPerSecond > 0, "Limits:FramesPerSecond must be positive")
            .Validate(o => o.FrameBurst >= 11, "Limits:FrameBurst must be at least 11 (one sync of 500)")
            .Validate(o => o.MaxDevicesPerUser >= 1, "Limits:MaxDevicesPerUser must be at least 1")
            .ValidateOnStart();
        services.AddOptions<GroupOptions>().Bind(configuration.GetSection("Groups"))
            .Validate(o => o.WriteDiffusionLimit >= 1, "Groups:WriteDiffusionLimit must be at least 1")
            .Validate(o => o.MaxMembers >= 2, "Groups:MaxMembers must be at least 2")
            .Validate(o => o.HelloPage is >= 1 and <= 500, "Groups:HelloPage must be from 1 to 500")
            .Validate(o => o.HelloCatchUpBytes >= 64 * 1024, "Groups:HelloCatchUpBytes must be at least 65536")
            .Validate(o => o.MaxAddPerRequest >= 1 && o.MaxCreatedPerHour >= 1 && o.MemberCacheSize >= 1,
                "Groups:MaxAddPerRequest, Groups:MaxCreatedPerHour and Groups:MemberCacheSize must be at least 1")
            .ValidateOnStart();
        services.AddOptions<Operations.MessageOptions>().Bind(configuration.GetSection(Operations.MessageOptions.Section))
            .Validate(o => o.EditWindow >= TimeSpan.Zero && o.RecallWindow >= TimeSpan.Zero, "Messages:EditWindow and Messages:RecallWindow must not be negative")
            .ValidateOnStart();
        return services;
    }

    /// <summary><c>Presence:*</c> and <c>Snowflake:*</c>, which every service with adapters uses.</summary>
    public static IServiceCollection AddAdapterOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PresenceOptions>().Bind(configuration.GetSection("Presence"))
            .Validate(o => o.HeartbeatInterval > TimeSpan.Zero, "Presence:HeartbeatInterval must be positive")
            .Validate(o => o.NodeTtl > o.HeartbeatInterval, "Presence:NodeTtl must be longer than Presence:HeartbeatInterval")
            .ValidateOnStart();
        services.AddOptions<SnowflakeOptions>().Bind(configuration.GetSection("Snowflake"))
            .Validate(o => o.WorkerId is >= 0 and <= SnowflakeId.MaxWorkerId, $"Snowflake:WorkerId must be from 0 to {SnowflakeId.MaxWorkerId}")
            .Validate(o => o.MaxBackwardStep >= TimeSpan.Zero, "Snowflake:MaxBackwardStep must not be negative")
            .ValidateOnStart();
        return services;
    }
}
