using Doorman.Access;
using Microsoft.Extensions.Options;

namespace Doorman.Commands;

/// <summary><c>Limits:*</c>: how fast one person may send the bot commands (knocks count).</summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    /// <summary>Commands one person may send per minute, on average.</summary>
    public int CommandsPerMinute { get; set; } = 10;

    /// <summary>Commands one person may send in a row before the average applies.</summary>
    public int CommandBurst { get; set; } = 5;
}

public sealed class LimitsOptionsValidator : IValidateOptions<LimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitsOptions options)
    {
        var problems = new List<string>();
        if (options.CommandsPerMinute is < 1 or > 6000)
            problems.Add($"Limits:CommandsPerMinute ({options.CommandsPerMinute}) must be a whole number from 1 to 6000: how many commands one person may send per minute, e.g. 10");
        if (options.CommandBurst is < 1 or > 1000)
            problems.Add($"Limits:CommandBurst ({options.CommandBurst}) must be a whole number from 1 to 1000: how many commands one person may send in a row, e.g. 5");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

/// <summary>
/// Every person's token bucket (<see cref="RateBucket"/>), in memory: a restart refills every bucket, which costs
/// at most one burst per person. Full buckets are forgotten when many are kept, so quiet people cost nothing.
/// </summary>
public sealed class CommandLimiter(IOptions<LimitsOptions> options, TimeProvider time)
{
    private const int PruneFrom = 10_000;
    private readonly Dictionary<string, RateBucket> _buckets = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _pruneAt = PruneFrom;

    public CommandRate Rate => new(options.Value.CommandsPerMinute, options.Value.CommandBurst);

    /// <summary>Takes a token for a command from <paramref name="userId"/>; a refused command takes nothing.</summary>
    public RateDecision Take(string userId)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            var decision = _buckets.GetValueOrDefault(userId, RateBucket.Full).Take(now, Rate);
            if (decision.Allowed)
            {
                _buckets[userId] = decision.Bucket;
                Prune(now);
            }
            return decision;
        }
    }

    /// <summary>Records that <paramref name="userId"/> has been told when to try again; false if they already were.</summary>
    public bool Tell(string userId)
    {
        lock (_lock)
        {
            var bucket = _buckets.GetValueOrDefault(userId, RateBucket.Full);
            if (bucket.Told)
                return false;
            _buckets[userId] = bucket.Tell();
            return true;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        if (_buckets.Count < _pruneAt)
            return;
        foreach (var (userId, bucket) in _buckets.ToList())
            if (bucket.IsFull(now))
                _buckets.Remove(userId);
        _pruneAt = Math.Max(PruneFrom, _buckets.Count * 2);
    }
}
