#!/usr/bin/env bash
# Side by side on identical /sync streams: Doorman.Bench (Doorman.Matrix) and the matrix-bot-sdk bot, each played
# the same pre-generated batches by bench/replay. Prints one table: medians over the runs, ranges, ratios.
#
#   bench/compare.sh [RUNS]        RUNS rounds (default 5); each round runs both bots with replies and sync-only,
#                                  alternating which bot goes first. Results: bench/results/<time>/.
# Environment: BATCHES (200), EVENTS (500 per batch), IDLE (10 s before reading the idle RSS);
#              SHIPPED=0 leaves out the shipped form: Doorman.Bench as bench/publish.sh builds it (ReadyToRun composite,
#              self-contained; ~2 min to build), bench/out/Doorman.Bench;
#              AOT=1 adds the same Doorman.Bench published with Native AOT (needs clang; ~2 min to build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
batches=${BATCHES:-200}
events=${EVENTS:-500}
idle=${IDLE:-10}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "compare: building (Release) and installing matrix-bot-sdk"
dotnet build bench/Doorman.Bench -c Release -v quiet -nologo | grep -E "error|warn" || true
dotnet build bench/replay -c Release -v quiet -nologo | grep -E "error|warn" || true
if [ ! -d bench/matrix-bot-sdk/node_modules/matrix-bot-sdk ]; then
  npm ci --prefix bench/matrix-bot-sdk --no-audit --no-fund --loglevel=error
fi

bots=(doorman sdk)
if [ "${SHIPPED:-1}" = 1 ]; then
  echo "compare: publishing Doorman.Bench in the shipped form (bench/publish.sh)"
  bench/publish.sh
  bots+=(shipped)
fi
if [ "${AOT:-0}" = 1 ]; then
  echo "compare: publishing Doorman.Bench with Native AOT"
  linker=()
  command -v clang >/dev/null || { command -v clang-14 >/dev/null && linker=(-p:CppCompilerAndLinker=clang-14); }
  dotnet publish bench/Doorman.Bench -c Release -r linux-x64 -p:PublishAot=true "${linker[@]}" -o bench/Doorman.Bench/bin/aot -v quiet -nologo \
    | grep -E "error|warn" || true
  bots+=(aot)
fi

out="bench/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
replay=(dotnet bench/replay/bin/Release/net10.0/Doorman.Replay.dll run --batches "$batches" --events "$events")
doorman=(dotnet bench/Doorman.Bench/bin/Release/net10.0/Doorman.Bench.dll)
sdk=(node bench/matrix-bot-sdk/bot.mjs)

# Percent of both CPUs busy over one second, whoever uses them.
cpu_busy() {
  local a b
  read -r _ u n s i w q sq st _ < /proc/stat; a=$((u + n + s + i + w + q + sq + st)); b=$((i + w))
  sleep 1
  read -r _ u n s i w q sq st _ < /proc/stat
  local total=$((u + n + s + i + w + q + sq + st - a)) idle=$((i + w - b))
  echo $((100 * (total - idle) / (total > 0 ? total : 1)))
}
# Two cores, shared with other work: wait (up to a minute) for a quiet machine before each run.
wait_quiet() {
  for _ in $(seq 60); do
    [ "$(cpu_busy)" -lt 10 ] && return 0
  done
  echo "compare: the machine stayed busy; measuring anyway (the table shows how busy)"
}

one() { # NAME MODE ROUND BOT...
  local name=$1 mode=$2 round=$3; shift 3
  local wait=$idle
  [ "$mode" = sync-only ] && wait=0
  wait_quiet
  "${replay[@]}" --name "$name" --mode "$mode" --idle "$wait" --out "$out/$name-$mode-$round.json" -- "$@" \
    2> >(grep -v -e "M_NOT_FOUND" -e "^replay:" >&2) || echo "compare: $name $mode run $round had failures (see its line above)"
}

echo "compare: $runs rounds of $batches batches × $events events; machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
for round in $(seq "$runs"); do
  # Alternate which bot goes first, so a slow spell of the machine does not always fall on the same one.
  order=("${bots[@]}")
  [ $((round % 2)) = 0 ] && order=($(printf '%s\n' "${bots[@]}" | tac))
  for mode in replies sync-only; do
    for bot in "${order[@]}"; do
      case $bot in
        doorman) one Doorman.Bench "$mode" "$round" "${doorman[@]}" ;;
        sdk) one matrix-bot-sdk "$mode" "$round" "${sdk[@]}" ;;
        shipped) one "Doorman.Bench (shipped: ReadyToRun)" "$mode" "$round" bench/out/Doorman.Bench ;;
        aot) one "Doorman.Bench (Native AOT)" "$mode" "$round" bench/Doorman.Bench/bin/aot/Doorman.Bench ;;
      esac
    done
  done
done

echo
dotnet bench/replay/bin/Release/net10.0/Doorman.Replay.dll table --baseline matrix-bot-sdk "$out"/*.json | tee "$out/table.md"
