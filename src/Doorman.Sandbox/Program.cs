using Doorman.Sandbox;

// `dotnet run --project src/Doorman.Sandbox [-- --btcpay] [-- --serve]`: watch the whole loop run on embedded servers
// (LND by default, BTCPay Server with --btcpay); --serve keeps everything running afterwards.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
try
{
    return await new SandboxStory(Console.Out, serve: args.Contains("--serve"), btcPay: args.Contains("--btcpay")).RunAsync(stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 130;
}
catch (TimeoutException e)
{
    Console.Error.WriteLine("The story stopped: " + e.Message);
    return 1;
}
