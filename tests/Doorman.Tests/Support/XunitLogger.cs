using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Doorman.Tests.Support;

/// <summary>Sends the bot's log to the test's output, so a failing end-to-end test shows what the bot did.</summary>
public sealed class XunitLoggerProvider(ITestOutputHelper output, LogLevel minimum = LogLevel.Information) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, categoryName[(categoryName.LastIndexOf('.') + 1)..], minimum);

    public void Dispose()
    {
    }

    private sealed class Logger(ITestOutputHelper output, string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            try
            {
                output.WriteLine($"{TimeProvider.System.GetUtcNow():HH:mm:ss.fff} {logLevel.ToString()[..4]} {category}: {formatter(state, exception)}"
                    + (exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message));
            }
            catch (InvalidOperationException)
            {
                // The test has finished; late log lines have nowhere to go.
            }
        }
    }
}

/// <summary>
/// Log lines written by the bot's background work while a test reads them. Every read is a snapshot taken
/// under the lock, so a test may enumerate (Assert.Contains, Assert.All) while the bot goes on logging.
/// </summary>
public sealed class LogLineCollection : IReadOnlyCollection<string>
{
    private readonly List<string> _lines = [];

    public int Count
    {
        get
        {
            lock (_lines)
                return _lines.Count;
        }
    }

    public void Add(string line)
    {
        lock (_lines)
            _lines.Add(line);
    }

    public IEnumerator<string> GetEnumerator()
    {
        List<string> snapshot;
        lock (_lines)
            snapshot = [.. _lines];
        return snapshot.GetEnumerator();
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// Keeps every log line, for tests that assert on what the bot did (e.g. that it waited out a 429); with
/// <paramref name="withExceptions"/>, each line carries its exception's text as the console logger prints it.
/// </summary>
public sealed class RecordingLoggerProvider(LogLineCollection lines, bool withExceptions = false) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(lines, categoryName, withExceptions);

    public void Dispose()
    {
    }

    private sealed class Logger(LogLineCollection lines, string category, bool withExceptions) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Add($"{logLevel} {category}: {formatter(state, exception)}"
                + (withExceptions && exception is not null ? Environment.NewLine + exception : ""));
    }
}
