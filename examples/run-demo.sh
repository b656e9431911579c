#!/bin/sh
# Runs the C echo server and client in a private $TMPDIR: they find each
# other by the relative name "ls-echo-demo", as two Qt programs would.
set -eu
server=$1
client=$2
TMPDIR=$(mktemp -d /tmp/ls-demo-XXXXXX)
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

"$server" ls-echo-demo --max-clients 1 &
server_pid=$!
# Wait for the socket to appear.
i=0
while [ ! -S "$TMPDIR/ls-echo-demo" ]; do
  i=$((i + 1))
  [ $i -lt 200 ] || { echo "demo: server did not start" >&2; exit 1; }
  sleep 0.05
done
"$client" ls-echo-demo hello "from the" "Ls demo"
wait $server_pid
echo "demo: done"
