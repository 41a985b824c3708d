namespace Doorman.Sandbox.Homeserver;

/// <summary>How a <see cref="SandboxHomeserver"/> is started.</summary>
public sealed class SandboxHomeserverOptions
{
    /// <summary>The server name in user ids, room ids and <c>mxc://</c> URIs; our test Synapse uses <c>localhost</c>.</summary>
    public string ServerName { get; set; } = "localhost";

    /// <summary>The loopback port to listen on; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>
    /// Every timestamp, the rate limiter and every long-poll timeout read this clock. With a fake clock a
    /// <c>/sync?timeout=N</c> long-poll ends only when the clock is advanced past N (or something happens).
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Synapse's <c>rc_message</c>: one bucket per user shared by every event a client sends (messages, state,
    /// membership changes including join and leave) and by <c>createRoom</c>. Null means unlimited.
    /// </summary>
    public RateLimit? MessageRateLimit { get; set; }

    /// <summary>The room version <c>createRoom</c> uses when none is asked for; Synapse 1.160 defaults to 11.</summary>
    public string DefaultRoomVersion { get; set; } = "11";

    /// <summary>Enables <c>/_synapse/admin/v1/register</c> (shared-secret registration) as Synapse does.</summary>
    public string? RegistrationSharedSecret { get; set; }

    /// <summary>Where the server logs (one Debug line per request, failures at Warning); none when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

/// <summary>A leaky-bucket limit as Synapse configures it: <paramref name="PerSecond"/> drains, <paramref name="Burst"/> fits.</summary>
public sealed record RateLimit(double PerSecond, int Burst);

/// <summary>A registered account with one logged-in device.</summary>
public sealed record SandboxUser(string UserId, string AccessToken, string DeviceId);
