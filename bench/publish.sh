#!/usr/bin/env bash
# Publishes the bench bot in the bot's shipped form (see bench/README.md, "Shipped form"): ReadyToRun composite, self-contained,
# linux-x64, with the same publish properties as src/Doorman/Doorman.csproj. The executable is bench/out/Doorman.Bench;
# it reads MATRIX_HOMESERVER_URL and MATRIX_ACCESS_TOKEN like the dll
# (dotnet bench/Doorman.Bench/bin/Release/net10.0/Doorman.Bench.dll), which keeps working.
#
#   bench/publish.sh          ~2 min; needs the linux-x64 runtime and crossgen packs (restored from NuGet)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rm -rf bench/out
dotnet publish bench/Doorman.Bench -c Release -r linux-x64 --self-contained \
  -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true -o bench/out -v quiet -nologo
test -x bench/out/Doorman.Bench
echo "publish: bench/out/Doorman.Bench ($(du -sh bench/out | cut -f1))"
