#!/bin/bash
# loopcast-healthcheck — the image's HEALTHCHECK: GET /healthz on the container's own port and
# succeed only on "HTTP/1.x 200". Uses bash's /dev/tcp, so the runtime image needs no curl/wget
# (curl + libcurl4 and their libraries would add ~10 MB and a TLS/HTTP client nobody else uses).
# Plain HTTP only: with --tls-cert the port speaks TLS and this probe fails — override the
# HEALTHCHECK then (or probe from outside, as Kubernetes does with scheme: HTTPS).
#   usage: loopcast-healthcheck [PATH]     (PATH defaults to /healthz; /readyz works too)
set -u
path=${1:-/healthz}
port=${LOOPCAST_PORT:-8080}
host=127.0.0.1
case "${LOOPCAST_BIND:-}" in
  ""|0.0.0.0|::|"[::]") ;;
  *[!0-9.]*) ;;                       # an interface name or IPv6 literal: keep 127.0.0.1
  *) host=$LOOPCAST_BIND ;;           # bound to one IPv4 address: probe that address
esac
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 3 status <&3 || exit 1
exec 3<&-
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) echo "loopcast-healthcheck: $path answered: ${status%$'\r'}" >&2; exit 1 ;;
esac
