using System.Diagnostics;

namespace Doorman.Replay;

/// <summary>
/// The replay's clock and ledger: when each batch was first served, which commands were answered and how fast, and
/// what was wrong. Times are <see cref="Stopwatch"/> timestamps of this process.
/// </summary>
public sealed class Recorder(ReplayScript stream)
{
    private readonly Lock _lock = new();
    private readonly long[] _servedAt = new long[stream.Batches.Count];
    private readonly Dictionary<string, long> _latencyTicks = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Room, string Txn), string> _transactions = [];
    private readonly TaskCompletionSource _allAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _syncDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _initial = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _syncDoneAt;
    private long _lastReplyAt;
    private long _lastActivity = Stopwatch.GetTimestamp();
    private int _pendingLongPolls;

    public int Wrong { get; private set; }

    public int Duplicates { get; private set; }

    public int Retransmissions { get; private set; }

    public List<string> Problems { get; } = [];

    public Task AllAnswered => stream.Commands.Count == 0 ? Task.CompletedTask : _allAnswered.Task;

    public Task SyncDone => _syncDone.Task;

    public Task InitialSynced => _initial.Task;

    public long FirstServedAt => _servedAt.Length > 0 ? Volatile.Read(ref _servedAt[0]) : 0;

    public long SyncDoneAt => Volatile.Read(ref _syncDoneAt);

    public long LastReplyAt => Volatile.Read(ref _lastReplyAt);

    public long LastActivity => Volatile.Read(ref _lastActivity);

    public bool InLongPoll => Volatile.Read(ref _pendingLongPolls) > 0;

    public void Initial()
    {
        Touch();
        _initial.TrySetResult();
    }

    /// <summary>Called right before the batch's bytes are written: the start of every latency it carries.</summary>
    public void Serving(int batch)
    {
        var now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _lastActivity, now);
        lock (_lock)
        {
            // A batch asked for again (the bot retried) keeps its first time: the retry is the bot's delay.
            if (_servedAt[batch] == 0)
                _servedAt[batch] = now;
        }
    }

    public void EndReached()
    {
        var now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _lastActivity, now);
        Interlocked.CompareExchange(ref _syncDoneAt, now, 0);
        _syncDone.TrySetResult();
    }

    public void LongPoll(int delta) => Interlocked.Add(ref _pendingLongPolls, delta);

    /// <summary>A PUT /send arrived at <paramref name="at"/>; returns the event id to answer (the first one for a repeated transaction).</summary>
    public string Reply(string roomId, string eventType, string txnId, string? msgType, string? inReplyTo, long at)
    {
        Volatile.Write(ref _lastActivity, at);
        lock (_lock)
        {
            if (_transactions.TryGetValue((roomId, txnId), out var known))
            {
                Retransmissions++;
                return known;
            }
            var eventId = "$reply" + _transactions.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _transactions.Add((roomId, txnId), eventId);

            if (inReplyTo is null || !stream.Commands.TryGetValue(inReplyTo, out var command))
            {
                Problem($"a {eventType} in {roomId} that replies to no command (m.in_reply_to: {inReplyTo ?? "none"})");
                return eventId;
            }
            if (eventType != "m.room.message" || msgType != "m.notice" || roomId != command.RoomId)
            {
                Problem($"the reply to {inReplyTo} is a {eventType}/{msgType ?? "no msgtype"} in {roomId}; expected an m.notice in {command.RoomId}");
                return eventId;
            }
            if (_latencyTicks.ContainsKey(inReplyTo))
            {
                Duplicates++;
                return eventId;
            }
            var served = _servedAt[command.Batch];
            _latencyTicks.Add(inReplyTo, at - served);
            _lastReplyAt = Math.Max(_lastReplyAt, at);
            if (_latencyTicks.Count == stream.Commands.Count)
                _allAnswered.TrySetResult();
            return eventId;
        }
    }

    /// <summary>The slowest replies, as "milliseconds@batch", to see whether the tail is the first batches or spread out.</summary>
    public string[] Slowest(int count)
    {
        lock (_lock)
        {
            return [.. _latencyTicks.OrderByDescending(p => p.Value).Take(count)
                .Select(p => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{p.Value * 1000.0 / Stopwatch.Frequency:F1}@{stream.Commands[p.Key].Batch + 1}"))];
        }
    }

    public double[] LatenciesMs()
    {
        lock (_lock)
            return [.. _latencyTicks.Values.Select(t => t * 1000.0 / Stopwatch.Frequency).Order()];
    }

    public int Answered
    {
        get
        {
            lock (_lock)
                return _latencyTicks.Count;
        }
    }

    private void Problem(string what)
    {
        Wrong++;
        if (Problems.Count < 10)
            Problems.Add(what);
    }

    private void Touch() => Volatile.Write(ref _lastActivity, Stopwatch.GetTimestamp());
}
