using Microsoft.Extensions.Logging;

namespace Doorman.Bench;

/// <summary>Warnings and errors to stderr, one line each: all a bench bot needs to say (outages, refused tokens).</summary>
public sealed class StderrLogger<T> : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
            Console.Error.WriteLine($"{typeof(T).Name} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : " (" + exception.GetType().Name + ")")}");
    }
}
