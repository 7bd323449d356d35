#!/usr/bin/env bash
# tests/deploy/validate_test.sh — fast, offline checks of everything under deploy/ (no engine,
# no cluster, no systemd as PID 1 needed). Each validator is also run on a deliberately broken
# copy and must reject it, so a validator that silently accepts everything cannot pass here.
#   1. deploy/compose.yaml: `docker-compose config` (Debian's docker-compose 1.29) parses and
#      resolves it, with and without the pulse profile; a broken copy is rejected.
#   2. deploy/k8s: `kubectl kustomize` builds it (kubectl 1.20's kustomize v2.0.3 as Debian ships
#      it, or a newer one; a missing kubectl is a failure) and rejects a broken copy, then tests/deploy/k8s_validate.mjs checks every object
#      against the Kubernetes schemas (npm kubernetes-models) plus loopcast's policy and the
#      cross-references; broken copies (replicas a string, no container image, unknown kind,
#      dangling Secret reference, privilege escalation allowed) are rejected.
#   3. deploy/loopcast.service: `systemd-analyze verify` prints nothing (it exits 0 on unknown
#      keys and bad values, so any output is a failure); a broken copy is rejected.
#   4. deploy/Dockerfile: every COPY source exists, the HEALTHCHECK script parses.
# Standalone: tests/deploy/validate_test.sh     Last line: "N passed, N failed".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*" >&2; failed=$((failed + 1)); }
# expect_fail DESC CMD...: the command must exit non-zero.
expect_fail() {
  local desc=$1; shift
  if "$@" >"$TMP/neg.out" 2>&1; then
    bad "$desc: accepted (it must be rejected)"; cat "$TMP/neg.out" >&2
  else
    ok "$desc: rejected ($(grep -m1 . "$TMP/neg.out" | cut -c1-150))"
  fi
}

# ---------------------------------------------------------------------------------------- compose
if command -v docker-compose >/dev/null; then
  compose_config() { (cd "$(dirname "$1")" && env -u LOOPCAST_SOURCE docker-compose -f "$1" "${@:2}" config); }
  if compose_config "$ROOT/deploy/compose.yaml" >"$TMP/compose.out" 2>&1 \
     && grep -q 'LOOPCAST_STATE_DIR: /var/lib/loopcast' "$TMP/compose.out" \
     && grep -q 'loopcast-state:/var/lib/loopcast' "$TMP/compose.out" \
     && grep -q -- '- /usr/local/bin/loopcast-healthcheck' "$TMP/compose.out"; then
    ok "compose: docker-compose config resolves deploy/compose.yaml (state volume, healthcheck)"
  else
    bad "compose: docker-compose config"; cat "$TMP/compose.out" >&2
  fi
  if compose_config "$ROOT/deploy/compose.yaml" --profile pulse >"$TMP/compose-pulse.out" 2>&1 \
     && grep -q 'PULSE_SERVER: unix:/run/pulse/native' "$TMP/compose-pulse.out"; then
    ok "compose: the pulse profile resolves (PULSE_SERVER, socket mount)"
  else
    bad "compose: docker-compose --profile pulse config"; cat "$TMP/compose-pulse.out" >&2
  fi
  mkdir -p "$TMP/compose-bad"
  sed 's/^    restart: .*//; s/^  restart: unless-stopped/  restart: [unless-stopped]/' \
    "$ROOT/deploy/compose.yaml" >"$TMP/compose-bad/compose.yaml"
  expect_fail "compose: broken copy (restart given as a list)" compose_config "$TMP/compose-bad/compose.yaml"
  sed 's/^      - loopcast-state:\/var\/lib\/loopcast/      - loopcast-stat:\/var\/lib\/loopcast/' \
    "$ROOT/deploy/compose.yaml" >"$TMP/compose-bad/compose.yaml"
  expect_fail "compose: broken copy (undeclared named volume)" compose_config "$TMP/compose-bad/compose.yaml"
else
  bad "compose: docker-compose is not installed (deploy/install-deps.sh installs it)"
fi

# ------------------------------------------------------------------------------------- kubernetes
if [[ ! -d "$HERE/node_modules/kubernetes-models" ]] || [[ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]]; then
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >"$TMP/npm.out" 2>&1 \
    || { cat "$TMP/npm.out" >&2; bad "k8s: npm ci in tests/deploy failed"; }
fi
validate() { node "$HERE/k8s_validate.mjs" --policy "$@"; }

K8S="$ROOT/deploy/k8s"
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  if kubectl kustomize "$K8S" >"$TMP/kustomized.yaml" 2>"$TMP/kustomize.err"; then
    ok "k8s: kubectl kustomize builds deploy/k8s ($(grep -c '^kind:' "$TMP/kustomized.yaml") objects)"
    if validate "$TMP/kustomized.yaml" >"$TMP/v.out" 2>&1; then
      ok "k8s: the kustomize output is valid: $(cat "$TMP/v.out")"
    else
      bad "k8s: the kustomize output"; cat "$TMP/v.out" >&2
    fi
    grep -q 'image: localhost/loopcast:latest' "$TMP/kustomized.yaml" \
      && ok "k8s: kustomize sets the image (localhost/loopcast:latest)" \
      || bad "k8s: kustomize did not rewrite the image name"
  else
    bad "k8s: kubectl kustomize deploy/k8s"; cat "$TMP/kustomize.err" >&2
  fi
  # kustomize itself must refuse a broken kustomization, or the pass above proves nothing.
  mkdir -p "$TMP/k8s-kbad" && cp -r "$K8S/." "$TMP/k8s-kbad/"
  sed -i 's/^  - service.yaml$/  - servic.yaml/' "$TMP/k8s-kbad/kustomization.yaml"
  expect_fail "k8s: kubectl kustomize on a broken copy (a resource that does not exist)" \
    kubectl kustomize "$TMP/k8s-kbad"
else
  # Debian's kubernetes-client carries `kubectl kustomize`; deploy/install-deps.sh installs it.
  bad "k8s: no kubectl with kustomize (deploy/install-deps.sh installs kubernetes-client)"
fi
if validate "$K8S" >"$TMP/v.out" 2>&1; then
  ok "k8s: every file in deploy/k8s (kustomization resources exist): $(cat "$TMP/v.out")"
else
  bad "k8s: deploy/k8s"; cat "$TMP/v.out" >&2
fi

# break NAME FILE SED-SCRIPT: a copy of deploy/k8s with one edit, which the validator must reject.
break_k8s() {
  local name=$1 file=$2 script=$3 d="$TMP/k8s-$1"
  cp -r "$K8S" "$d"
  sed -i "$script" "$d/$file"
  if cmp -s "$K8S/$file" "$d/$file"; then
    bad "k8s: broken copy '$name': the edit did not apply (test bug)"; return
  fi
  expect_fail "k8s: broken copy ($name)" validate "$d"
}
break_k8s "replicas is a string" deployment.yaml 's/^  replicas: 1$/  replicas: "1"/'
break_k8s "container without an image" deployment.yaml '/^          image: /d'
break_k8s "unknown kind" service.yaml 's/^kind: Service$/kind: Servic/'
break_k8s "probe port is not a number or name" deployment.yaml '0,/port: http$/s//port: [http]/'
break_k8s "Secret reference dangles" secret.yaml 's/^  name: loopcast-api-token$/  name: loopcast-token/'
break_k8s "allowPrivilegeEscalation true" deployment.yaml 's/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/'
break_k8s "RollingUpdate strategy" deployment.yaml 's/type: Recreate/type: RollingUpdate/'
break_k8s "kustomization lists a missing file" kustomization.yaml 's/- pvc.yaml/- pvcs.yaml/'
break_k8s "YAML syntax" pvc.yaml 's/^  accessModes:$/  accessModes: [/'

# ---------------------------------------------------------------------------------------- systemd
UNIT="$ROOT/deploy/loopcast.service"
if command -v systemd-analyze >/dev/null; then
  # verify also demands that ExecStart's binary exists: point it at one that does (the unit's
  # path is where docs/deploy.md installs it; nothing else is changed).
  verify_unit() {
    local u="$TMP/unit/loopcast.service" out
    mkdir -p "$TMP/unit"
    sed 's#^ExecStart=/usr/local/bin/loopcast#ExecStart=/bin/true#' "$1" >"$u"
    out=$(cd "$TMP/unit" && systemd-analyze verify --man=no "$u" 2>&1)
    local rc=$?
    [[ -n "$out" ]] && echo "$out"
    [[ $rc -eq 0 && -z "$out" ]]
  }
  if grep -q '^ExecStart=/usr/local/bin/loopcast$' "$UNIT" && verify_unit "$UNIT" >"$TMP/sd.out" 2>&1; then
    ok "systemd: systemd-analyze verify deploy/loopcast.service: no warnings"
  else
    bad "systemd: systemd-analyze verify"; cat "$TMP/sd.out" >&2
  fi
  before=$failed
  for k in DynamicUser=yes StateDirectory=loopcast SupplementaryGroups=audio NoNewPrivileges=yes \
           ProtectSystem=strict ProtectHome=read-only PrivateTmp=yes MemoryDenyWriteExecute=yes \
           'SystemCallFilter=@system-service' 'DeviceAllow=char-alsa rw' Restart=on-failure \
           TimeoutStopSec=5 'EnvironmentFile=-/etc/default/loopcast' \
           'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'Environment=LOOPCAST_STATE_DIR=%S/loopcast'; do
    grep -qxF "$k" "$UNIT" || bad "systemd: the unit lacks '$k'"
  done
  ((failed == before)) && ok "systemd: the unit has the required identity, hardening and restart settings"
  sed 's/^ProtectHome=read-only/ProtectHom=read-only/' "$UNIT" >"$TMP/bad1.service"
  expect_fail "systemd: broken copy (misspelt key)" verify_unit "$TMP/bad1.service"
  sed 's/^Restart=on-failure/Restart=sometimes/' "$UNIT" >"$TMP/bad2.service"
  expect_fail "systemd: broken copy (bad Restart= value)" verify_unit "$TMP/bad2.service"
else
  bad "systemd: systemd-analyze not installed (package systemd; deploy/install-deps.sh installs it)"
fi

# ------------------------------------------------------------------------------------- Dockerfile
DF="$ROOT/deploy/Dockerfile"
missing=0
while read -r src; do
  for s in $src; do
    [[ -e "$ROOT/$s" ]] || { bad "Dockerfile: COPY source '$s' does not exist"; missing=1; }
  done
done < <(grep -E '^COPY ' "$DF" | grep -v -- '--from=' | sed -E 's/^COPY +//; s/ +[^ ]+$//')
((missing == 0)) && ok "Dockerfile: every COPY source exists"
for k in 'FROM debian:${DEBIAN_RELEASE} AS build' 'FROM debian:${DEBIAN_RELEASE}-slim' 'EXPOSE 8080' \
         'VOLUME /var/lib/loopcast' 'USER 10001' 'STOPSIGNAL SIGTERM' 'install-deps.sh --build-only'; do
  grep -qF "$k" "$DF" || bad "Dockerfile: lacks '$k'"
done
grep -q '^HEALTHCHECK' "$DF" && bash -n "$ROOT/deploy/healthcheck.sh" \
  && ok "Dockerfile: base images, port, volume, user, stop signal, HEALTHCHECK script parses" \
  || bad "Dockerfile: HEALTHCHECK"
# .dockerignore keeps build trees and node_modules out of the context
for p in 'build-*' '**/node_modules' '.git'; do
  grep -qxF "$p" "$ROOT/.dockerignore" || bad ".dockerignore lacks $p"
done

echo "$passed passed, $failed failed"
((failed == 0))
