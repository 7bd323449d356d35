#!/usr/bin/env bash
# make-cert.sh — a certificate for loopcast on a LAN, so phones get a secure context (WebCodecs,
# AudioWorklet) after trusting it once.
#
#   deploy/make-cert.sh [--dir DIR] [--days N] [--force] [--no-detect] [NAME|IP ...]
#
# Writes into DIR (default: $LOOPCAST_STATE_DIR, else $XDG_STATE_HOME/loopcast, else
# ~/.local/state/loopcast — the server's own default state directory):
#   tls-cert.pem   the server certificate (EC P-256), then the CA that signed it  → --tls-cert
#   tls-key.pem    its private key, mode 0600                                      → --tls-key
#   tls-ca.crt     the certificate to trust on each phone/computer (the one prompt)
#
# Why a tiny CA and not one self-signed certificate: iOS only offers "full trust" for a CA
# certificate, and Firefox refuses a CA certificate used as the server's own. So this makes a
# one-off CA, signs the server certificate with it and then DELETES the CA's key: the trusted
# certificate can never sign anything else (trusting it cannot be abused to impersonate other
# sites). Renewing (--force) makes a new CA too, so devices trust the new tls-ca.crt once more.
#
# Names in the certificate: this machine's hostname, hostname.local, its FQDN if it has one,
# localhost, 127.0.0.1, ::1, every non-loopback, non-link-local IPv4/IPv6 address it has now
# (--no-detect skips the hostname and addresses), plus every NAME or IP given. Validity: 825
# days at most (the longest iOS and macOS accept for a server certificate).
set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

dir=""
days=825
force=0
detect=1
extra=()
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --dir) (($# >= 2)) || die "--dir needs a directory"; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    --days) (($# >= 2)) || die "--days needs a number"; days=$2; shift 2 ;;
    --days=*) days=${1#--days=}; shift ;;
    --force) force=1; shift ;;
    --no-detect) detect=0; shift ;;
    --) shift; extra+=("$@"); break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) extra+=("$1"); shift ;;
  esac
done

[[ $days =~ ^[0-9]+$ ]] && ((days >= 1 && days <= 825)) ||
  die "--days: '$days' is not a number of days in 1..825 (iOS/macOS refuse longer)"
if [[ -z $dir ]]; then
  if [[ -n ${LOOPCAST_STATE_DIR:-} ]]; then dir=$LOOPCAST_STATE_DIR
  elif [[ -n ${XDG_STATE_HOME:-} ]]; then dir=$XDG_STATE_HOME/loopcast
  elif [[ -n ${HOME:-} ]]; then dir=$HOME/.local/state/loopcast
  else die "no --dir, LOOPCAST_STATE_DIR, XDG_STATE_HOME or HOME: say where to write"; fi
fi
command -v openssl >/dev/null || die "openssl is not installed"

is_ipv4() {
  local IFS=. o; local -a p
  [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
  read -ra p <<<"$1"
  for o in "${p[@]}"; do ((10#$o <= 255)) || return 1; done
}
# Shape only; openssl has the last word (it rejects a malformed IPv6 address below).
is_ipv6() { [[ $1 == *:* && $1 =~ ^[0-9A-Fa-f:.]+$ && ${#1} -le 45 ]]; }
is_dns() {
  ((${#1} <= 253)) &&
    [[ $1 =~ ^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]]
}

dns=() ips=()
add_dns() { local n=${1,,} x; for x in "${dns[@]:-}"; do [[ $x == "$n" ]] && return; done; dns+=("$n"); }
add_ip() { local x; for x in "${ips[@]:-}"; do [[ $x == "$1" ]] && return; done; ips+=("$1"); }

add_dns localhost
add_ip 127.0.0.1
add_ip ::1
if ((detect)); then
  host=$(hostname 2>/dev/null || uname -n)
  host=${host%%.*}
  if is_dns "$host"; then add_dns "$host"; add_dns "$host.local"; fi
  fqdn=$(hostname -f 2>/dev/null || true)
  [[ $fqdn == *.* ]] && is_dns "$fqdn" && add_dns "$fqdn"
  if command -v ip >/dev/null; then
    # "2: eth0    inet 192.0.2.2/24 ..." → the address; loopback and link-local are left out
    # (a phone cannot type a link-local address with its zone into a URL).
    while read -r a; do
      a=${a%/*}
      case $a in 127.*|::1|fe80:*|FE80:*|169.254.*) continue ;; esac
      add_ip "$a"
    done < <(ip -o addr show 2>/dev/null | awk '$3 == "inet" || $3 == "inet6" {print $4}')
  else
    echo "$prog: no 'ip' command: this machine's addresses are not detected (give them as arguments)" >&2
  fi
fi
for a in "${extra[@]:-}"; do
  [[ -z $a ]] && continue
  a=${a#[}; a=${a%]}
  if is_ipv4 "$a" || is_ipv6 "$a"; then add_ip "$a"
  elif is_dns "$a"; then add_dns "$a"
  else die "'$a' is neither a hostname (letters, digits, '-', '.') nor an IPv4/IPv6 address"; fi
done

san=""
for n in "${dns[@]}"; do san+="${san:+,}DNS:$n"; done
for a in "${ips[@]}"; do san+="${san:+,}IP:$a"; done

cert=$dir/tls-cert.pem key=$dir/tls-key.pem ca=$dir/tls-ca.crt
if ((!force)); then
  for f in "$cert" "$key" "$ca"; do
    [[ -e $f ]] && die "$f exists: --force replaces it (devices must then trust the new tls-ca.crt)"
  done
fi
mkdir -p "$dir" || die "cannot create $dir"
[[ -w $dir ]] || die "$dir is not writable"
umask 077
work=$(mktemp -d "$dir/.make-cert.XXXXXX") || die "cannot write into $dir"
trap 'rm -rf "$work"' EXIT

cn=${host:-loopcast}
stamp=$(date -u +%Y-%m-%d)
serial() { echo "0x$(openssl rand -hex 16 | sed 's/^./7/')"; } # positive, 128 random-ish bits
cat >"$work/ca.ext" <<EOF
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
cat >"$work/leaf.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
run() { "$@" 2>"$work/err" || { cat "$work/err" >&2; die "openssl failed: $*"; }; }
run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key"
run openssl req -new -key "$work/ca.key" -subj "/O=loopcast/CN=loopcast CA for $cn ($stamp)" \
  -out "$work/ca.csr"
run openssl x509 -req -in "$work/ca.csr" -signkey "$work/ca.key" -days "$days" -sha256 \
  -set_serial "$(serial)" -extfile "$work/ca.ext" -out "$work/ca.pem"
run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem"
run openssl req -new -key "$work/key.pem" -subj "/O=loopcast/CN=$cn" -out "$work/leaf.csr"
run openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -days "$days" -sha256 -set_serial "$(serial)" -extfile "$work/leaf.ext" -out "$work/leaf.pem"
run openssl verify -CAfile "$work/ca.pem" "$work/leaf.pem" >/dev/null
cat "$work/leaf.pem" "$work/ca.pem" >"$work/cert.pem"
chmod 600 "$work/key.pem"
chmod 644 "$work/cert.pem" "$work/ca.pem"
# The CA key goes now: what devices trust can sign this one certificate and nothing else.
rm -f "$work/ca.key"
mv -f "$work/key.pem" "$key"
mv -f "$work/cert.pem" "$cert"
mv -f "$work/ca.pem" "$ca"

fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }
until=$(openssl x509 -in "$ca" -noout -enddate | sed 's/^notAfter=//')
cat <<EOF
Wrote (valid until $until):
  $cert
  $key   (mode 0600)
  $ca   (trust this one on each device)
Names: ${san//,/, }

Start loopcast with:
  loopcast --tls-cert '$cert' --tls-key '$key'
  (optionally --redirect-port 8080 to send plain-HTTP visitors to HTTPS)

The one trust prompt: install $ca on each phone/computer and check that it shows
  SHA-256 $(fp "$ca")
  iOS: open the file, Settings > Profile Downloaded > Install, then Settings > General > About >
       Certificate Trust Settings > enable it.  Android: Settings > Security > Encryption &
       credentials > Install a certificate > CA certificate.  macOS: Keychain Access, Always Trust.
Server certificate SHA-256 (shown by the browser's certificate viewer):
  $(fp "$cert")
EOF
