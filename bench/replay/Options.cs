using System.Globalization;

namespace Doorman.Replay;

/// <summary><c>--key value</c> pairs and positional arguments.</summary>
public sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public List<string> Positional { get; } = [];

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
                options._values[args[i][2..]] = args[++i];
            else
                options.Positional.Add(args[i]);
        }
        return options;
    }

    public string? Get(string key, string? fallback) => _values.TryGetValue(key, out var value) ? value : fallback;

    public int Number(string key, int fallback) =>
        _values.TryGetValue(key, out var value) ? int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture) : fallback;
}
