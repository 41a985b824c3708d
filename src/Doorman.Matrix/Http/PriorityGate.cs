using Microsoft.Extensions.Logging;

namespace Doorman.Matrix.Http;

/// <summary>
/// Membership changes go before other writes when the homeserver rate-limits us. Synapse counts messages and
/// membership changes (invite, kick, ban, unban) of a user in one <c>rc_message</c> bucket
/// (src/Doorman.Sandbox/README.md, "Rate limits"), so a paying member's invite can otherwise wait behind a queue of
/// chat replies, each retrying its own 429. While any membership change is pending — from its first attempt,
/// through every 429 it waits out, until it completes — other writes wait before each attempt, for at most
/// <see cref="MaxHold"/> so nothing starves. Reads (GET, HEAD) never wait: the bucket does not count them.
/// One gate per client pipeline, used by two handlers: <see cref="UrgentRequestHandler"/> outside the resilience
/// pipeline (it sees the whole request, retries included) and <see cref="PriorityGateHandler"/> inside it (it sees
/// each attempt).
/// </summary>
public sealed class PriorityGate(TimeProvider time, ILogger? logger = null)
{
    private static readonly HashSet<string> MembershipActions = new(["invite", "kick", "ban", "unban"], StringComparer.Ordinal);

    private readonly Lock _lock = new();
    private int _urgent;
    private TaskCompletionSource? _clear; // completes when the last pending urgent request does; null when none is pending

    /// <summary>The longest one attempt of an ordinary write waits for urgent requests to finish.</summary>
    public TimeSpan MaxHold { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>POST /_matrix/client/{version}/rooms/{roomId}/invite|kick|ban|unban</c> (CS API §"Room membership").</summary>
    public static bool IsUrgent(HttpRequestMessage request)
    {
        if (request.Method != HttpMethod.Post || request.RequestUri is not { IsAbsoluteUri: true } uri)
            return false;
        // Room ids are escaped into one segment, so the shape is …/rooms/{roomId}/{action}.
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Length >= 3 && segments[^3] == "rooms" && MembershipActions.Contains(segments[^1]);
    }

    /// <summary>Writes that are not urgent wait; reads do not cost a rate-limit token and pass.</summary>
    private static bool MayWait(HttpRequestMessage request) =>
        request.Method != HttpMethod.Get && request.Method != HttpMethod.Head && !IsUrgent(request);

    internal void Enter()
    {
        lock (_lock)
        {
            if (_urgent++ == 0)
                _clear = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    internal void Exit()
    {
        TaskCompletionSource? clear = null;
        lock (_lock)
        {
            if (--_urgent == 0)
                (clear, _clear) = (_clear, null);
        }
        clear?.TrySetResult();
    }

    /// <summary>Returns when no urgent request is pending, or after <see cref="MaxHold"/>; at once for reads and urgent requests.</summary>
    internal async ValueTask WaitTurnAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Task? clear;
        lock (_lock)
            clear = _clear?.Task;
        if (clear is null || !MayWait(request))
            return;

        var started = time.GetTimestamp();
        try
        {
            await clear.WaitAsync(MaxHold, time, cancellationToken);
            if (logger?.IsEnabled(LogLevel.Debug) == true)
                Log.HeldBehindMembership(logger, request.RequestUri?.AbsolutePath, time.GetElapsedTime(started));
        }
        catch (TimeoutException)
        {
            if (logger is not null)
                Log.HeldTooLong(logger, request.RequestUri?.AbsolutePath, MaxHold);
        }
    }
}

/// <summary>
/// Marks a membership change pending at <see cref="PriorityGate"/> for as long as the whole request takes. Registered
/// outside the resilience pipeline, so the 429s it waits out count as pending.
/// </summary>
public sealed class UrgentRequestHandler(PriorityGate gate) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!PriorityGate.IsUrgent(request))
            return await base.SendAsync(request, cancellationToken);
        gate.Enter();
        try
        {
            return await base.SendAsync(request, cancellationToken);
        }
        finally
        {
            gate.Exit();
        }
    }
}

/// <summary>
/// Holds each attempt of an ordinary write at <see cref="PriorityGate"/> while a membership change is pending.
/// Registered inside the resilience pipeline, so a retry after a 429 waits its turn again.
/// </summary>
public sealed class PriorityGateHandler(PriorityGate gate) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await gate.WaitTurnAsync(request, cancellationToken);
        return await base.SendAsync(request, cancellationToken);
    }
}

internal static partial class Log
{
    [LoggerMessage(LogLevel.Debug, "{Path} waited {Waited} for a membership change to go first")]
    public static partial void HeldBehindMembership(ILogger logger, string? path, TimeSpan waited);

    [LoggerMessage(LogLevel.Debug, "{Path} waited {MaxHold} for a membership change and goes ahead anyway")]
    public static partial void HeldTooLong(ILogger logger, string? path, TimeSpan maxHold);
}
