#!/usr/bin/env bash
# Cross-checks the sandbox homeserver against a real Synapse: runs the sandbox's HTTP behaviour tests
# (tests/Doorman.Tests/Sandbox/Homeserver) with DOORMAN_HS_CROSSCHECK_URL pointing at Synapse, so every test that
# only speaks HTTP asserts its expectations against the real server. (Tests that need the sandbox's own knobs —
# fault injection, a fake clock, direct inspection — still run on a sandbox.)
#
#   eval "$(tests/synapse/synapse.sh env)"     # DOORMAN_SYNAPSE_URL, DOORMAN_SYNAPSE_SECRET
#   tests/crosscheck.sh [extra dotnet test arguments, e.g. --no-build]
#
# Exits non-zero when a test fails or nothing ran; the last line is "crosscheck: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DOORMAN_SYNAPSE_URL:-}" ]; then
  echo "crosscheck: DOORMAN_SYNAPSE_URL is not set (start Synapse with tests/synapse/synapse.sh start, then eval \"\$(tests/synapse/synapse.sh env)\")" >&2
  exit 2
fi
if ! curl -sf "$DOORMAN_SYNAPSE_URL/_matrix/client/versions" >/dev/null; then
  echo "crosscheck: no homeserver answers at $DOORMAN_SYNAPSE_URL" >&2
  exit 2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "crosscheck: running the sandbox homeserver tests against $DOORMAN_SYNAPSE_URL"
status=0
DOORMAN_HS_CROSSCHECK_URL=$DOORMAN_SYNAPSE_URL \
DOORMAN_HS_CROSSCHECK_SECRET=${DOORMAN_SYNAPSE_SECRET:-doorman-test-shared-secret} \
  dotnet test tests/Doorman.Tests --filter "FullyQualifiedName~Sandbox.Homeserver" "$@" 2>&1 | tee "$log" || status=$?

# dotnet test's closing line: "Passed!  - Failed:     0, Passed:    83, Skipped:     0, Total:    83, Duration: …"
count() { grep -Eo "$1: +[0-9]+" "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0; }
passed=$(count Passed) failed=$(count Failed) skipped=$(count Skipped)
echo "crosscheck: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
