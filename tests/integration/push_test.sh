#!/usr/bin/env bash
# Live pushes (push_test.mjs): a REST PATCH reaches the listener's WebSocket and an events client
# within 100 ms; mute is enforced by the server; set from another tab; DELETE closes with 1008;
# events-socket auth. Then SIGTERM exits 0.
source "$(dirname "$0")/../lib.sh"
node_bin=$(command -v node) || lc_fail "node not found"
port=$(lc_free_port)
lc_start_server "$LC_TMP/push.log" --source tone:440 --bind 127.0.0.1 --port "$port" \
  --state-dir "$LC_TMP/state"
token=$(cat "$LC_TMP/state/api-token") || lc_fail "no generated token file"
"$node_bin" "$(dirname "$0")/push_test.mjs" "$port" "$token" || { cat "$LC_TMP/push.log"; lc_fail "push checks"; }
grep -q "$token" <(grep -v "API token generated" "$LC_TMP/push.log") && lc_fail "the token appears in the log beyond its one announcement"
lc_stop_server TERM || lc_fail "server exit status after SIGTERM"
lc_pass "push: PATCH -> listener and events client < 100 ms, mute, tabs, DELETE, events auth"
