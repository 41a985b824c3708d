using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Doorman.Benchmarks;

// dotnet run -c Release --project bench/Doorman.Benchmarks -- --filter '*'              (the full run, ~4 min)
// dotnet run -c Release --project bench/Doorman.Benchmarks -- --filter '*' --job short  (a quick look, ~1 min)
// dotnet run -c Release --project bench/Doorman.Benchmarks -- --filter '*CryptoBenchmarks*' --job short --inProcess  (encryption, ~1 min)
var config = DefaultConfig.Instance
    .AddColumn(PerEventColumn.EventsPerSecond, PerEventColumn.AllocatedPerEvent);
BenchmarkSwitcher.FromAssembly(typeof(SyncBenchmarks).Assembly).Run(args, config);
