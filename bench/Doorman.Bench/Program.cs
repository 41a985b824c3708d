using System.Runtime.InteropServices;
using Doorman.Bench;
using Doorman.Matrix;
using Doorman.Matrix.Sync;

// A minimal bot on Doorman.Matrix: sync with the library's loop, answer `!gate` commands with reply notices.
// Configured like any SDK's example bot: MATRIX_HOMESERVER_URL and MATRIX_ACCESS_TOKEN.
var homeserver = Environment.GetEnvironmentVariable("MATRIX_HOMESERVER_URL");
var token = Environment.GetEnvironmentVariable("MATRIX_ACCESS_TOKEN");
if (string.IsNullOrEmpty(homeserver) || !Uri.TryCreate(homeserver, UriKind.Absolute, out var homeserverUrl) || string.IsNullOrEmpty(token))
{
    await Console.Error.WriteLineAsync("Doorman.Bench: set MATRIX_HOMESERVER_URL (an absolute URL) and MATRIX_ACCESS_TOKEN");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

using var client = MatrixClient.Create(homeserverUrl, token, logger: new StderrLogger<MatrixClient>());
try
{
    var me = await client.WhoAmIAsync(stop.Token);
    var loop = new SyncLoop(client, new MemorySyncStateStore(), new GateBot(client, me.UserId), new SyncLoopOptions(), TimeProvider.System,
        new StderrLogger<SyncLoop>());
    await loop.RunAsync(me.UserId, stop.Token);
    return 0;
}
catch (MatrixException e)
{
    await Console.Error.WriteLineAsync($"Doorman.Bench: the homeserver refused us: {e.Message}");
    return 1;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 0;
}
