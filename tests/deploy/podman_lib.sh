# tests/deploy/podman_lib.sh — podman on a machine without a Docker engine (see
# ../shared/TESTING-AUDIO.md, "Containers without a Docker engine"). Source it after tests/lib.sh:
#   lcp_setup                   private containers.conf + storage.conf in $LC_TMP/podman (graph
#                               and run roots there too, so nothing leaks into /var/lib/containers)
#   lcp_base_images             debian:bookworm and debian:bookworm-slim from a debootstrap rootfs
#                               cached in $LC_ROOTFS_CACHE (made once per machine, ~1 min)
# podman's image store (its graph root) is a cache that outlives the test: $LC_PODMAN_CACHE/KEY,
# KEY = a hash of what the image's dependency layers are built from (deploy/Dockerfile,
# deploy/install-deps.sh, web/package*.json, the rootfs). So a second run reuses the layers
# that install the build dependencies and the web assets' npm packages (~2 of the build's 3
# minutes) and builds only what the source changed. A new KEY starts a new store and removes the
# old ones; a store over LC_PODMAN_CACHE_MAX_MB (each run adds its source and build layers) is
# emptied first. One test at a time uses it (flock), as one podman's run root goes with a store.
# LC_PODMAN_CACHE=none keeps the store in $LC_TMP (nothing kept).
#   lcp_build TAG               podman build --pull=never --format docker -f deploy/Dockerfile .
#   lcp_track_container NAME    / lcp_track_volume NAME / lcp_track_image NAME: removed on exit
# Every container, volume and image tracked here is removed by lcp_cleanup (chained to the trap
# of tests/lib.sh), then the private storage itself.

LC_ROOTFS_CACHE=${LC_ROOTFS_CACHE:-/var/cache/loopcast-test/rootfs-bookworm}
LC_DEBIAN_MIRROR=${LC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
LC_PODMAN_CACHE=${LC_PODMAN_CACHE:-/var/cache/loopcast-test/podman}
LC_PODMAN_CACHE_MAX_MB=${LC_PODMAN_CACHE_MAX_MB:-6000}
LCP_CONTAINERS=()
LCP_VOLUMES=()
LCP_IMAGES=()

lcp_cleanup() {
  local x
  if [[ -n "${CONTAINERS_STORAGE_CONF:-}" ]] && command -v podman >/dev/null; then
    for x in "${LCP_CONTAINERS[@]:-}"; do [[ -n "$x" ]] && podman rm -f -t 2 "$x" >/dev/null 2>&1; done
    for x in "${LCP_VOLUMES[@]:-}"; do [[ -n "$x" ]] && podman volume rm -f "$x" >/dev/null 2>&1; done
    for x in "${LCP_IMAGES[@]:-}"; do [[ -n "$x" ]] && podman rmi -f "$x" >/dev/null 2>&1; done
    # A private store goes entirely; a kept one (the layer cache) keeps its images, and loses
    # only what this run tracked (above) and any container or volume left in it.
    if [[ "${LCP_KEEP_STORE:-0}" == 1 ]]; then
      podman rm -af -t 2 >/dev/null 2>&1 || true
      podman volume prune -f >/dev/null 2>&1 || true
      grep -o " $LCP_GRAPH/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    else
      podman system reset -f >/dev/null 2>&1 || true
    fi
    # overlay mounts left by a killed build would make rm -rf fail: unmount what is ours.
    if [[ -d "${LCP_DIR:-}" ]]; then
      grep -o " $LCP_DIR/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    fi
  fi
  lc_cleanup
}
trap lcp_cleanup EXIT

lcp_track_container() { LCP_CONTAINERS+=("$1"); }
lcp_track_volume() { LCP_VOLUMES+=("$1"); }
lcp_track_image() { LCP_IMAGES+=("$1"); }

lcp_setup() {
  local t
  for t in podman runc; do
    command -v "$t" >/dev/null || lc_fail "$t not installed (deploy/install-deps.sh installs it)"
  done
  [[ $(id -u) -eq 0 ]] || lc_fail "the container tests run podman as root (rootful; no user namespaces needed)"
  LCP_DIR=$LC_TMP/podman
  mkdir -p "$LCP_DIR/run" "$LCP_DIR/storage" "$LCP_DIR/tmp" "$LCP_DIR/networks"
  local graph=$LCP_DIR/storage
  if [[ "$LC_PODMAN_CACHE" != none ]]; then
    lcp_rootfs
    local key
    key=$( (cd "$LC_ROOT" && cat deploy/Dockerfile deploy/install-deps.sh web/package.json web/package-lock.json \
            && stat -c %Y "$LC_ROOTFS_CACHE/.loopcast-complete") | sha256sum | cut -c1-16)
    mkdir -p "$LC_PODMAN_CACHE" || lc_fail "cannot create $LC_PODMAN_CACHE (LC_PODMAN_CACHE=none: no layer cache)"
    exec {LCP_LOCK_FD}>"$LC_PODMAN_CACHE/.lock"
    flock -w 1800 "$LCP_LOCK_FD" || lc_fail "another test has held $LC_PODMAN_CACHE/.lock for 30 minutes"
    local old
    for old in "$LC_PODMAN_CACHE"/*; do
      [[ -d "$old" && "$old" != "$LC_PODMAN_CACHE/$key" ]] || continue
      echo "container: removing the layer cache of other build inputs: $old"
      lcp_rm_store "$old"
    done
    graph=$LC_PODMAN_CACHE/$key
    if [[ -d "$graph" ]] && (( $(du -sm "$graph" | cut -f1) > LC_PODMAN_CACHE_MAX_MB )); then
      echo "container: the layer cache $graph is over $LC_PODMAN_CACHE_MAX_MB MB: starting it afresh"
      lcp_rm_store "$graph"
    fi
    mkdir -p "$graph"
    LCP_KEEP_STORE=1 LCP_GRAPH=$graph
    echo "container: image layer cache $graph ($(du -sm "$graph" | cut -f1) MB)"
  fi
  cat >"$LCP_DIR/containers.conf" <<EOF
[containers]
# This host's default hard limits are lower than podman's defaults: without these, runc fails
# to create any container ("setrlimit ... operation not permitted").
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$LCP_DIR/tmp"
[network]
# Rootful podman keeps network definitions in /etc/cni/net.d: keep ours private too.
network_config_dir = "$LCP_DIR/networks"
EOF
  cat >"$LCP_DIR/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$LCP_DIR/run"
graphroot = "$graph"
EOF
  export CONTAINERS_CONF=$LCP_DIR/containers.conf CONTAINERS_STORAGE_CONF=$LCP_DIR/storage.conf
  export TMPDIR=$LCP_DIR/tmp
  podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}' >/dev/null 2>"$LCP_DIR/info.err" \
    || { cat "$LCP_DIR/info.err" >&2; lc_fail "podman info failed with the private configuration"; }
  if [[ "${LCP_KEEP_STORE:-0}" == 1 ]]; then
    # What a killed run left in the kept store (its run root is gone with its $LC_TMP).
    podman rm -af -t 0 >/dev/null 2>&1 || true
    podman volume prune -f >/dev/null 2>&1 || true
  fi
}

# The debootstrap minbase rootfs is what Debian's own debian:bookworm-slim is built from
# (minbase + docs excluded), so it stands in for both tags; nothing is pulled from a registry.
lcp_rootfs() {
  if [[ -f "$LC_ROOTFS_CACHE/.loopcast-complete" ]]; then
    return 0
  fi
  command -v debootstrap >/dev/null || lc_fail "debootstrap not installed"
  echo "container: debootstrap --variant=minbase bookworm -> $LC_ROOTFS_CACHE (once per machine)"
  mkdir -p "$(dirname "$LC_ROOTFS_CACHE")"
  local tmp=$LC_ROOTFS_CACHE.tmp.$$
  rm -rf "$tmp"
  if ! nice -n 10 debootstrap --variant=minbase bookworm "$tmp" "$LC_DEBIAN_MIRROR" >"$LC_TMP/debootstrap.log" 2>&1; then
    tail -20 "$LC_TMP/debootstrap.log" >&2
    rm -rf "$tmp"
    lc_fail "debootstrap failed"
  fi
  rm -rf "$LC_ROOTFS_CACHE"
  mv "$tmp" "$LC_ROOTFS_CACHE"
  touch "$LC_ROOTFS_CACHE/.loopcast-complete"
}

# lcp_rm_store DIR: removes a podman graph root (overlay mounts left in it by a killed run first).
lcp_rm_store() {
  grep -o " $1/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$1"
}

lcp_base_images() {
  lcp_rootfs
  # A kept store has them from an earlier run, and the build's layer cache is keyed on their IDs:
  # imported again they would get new IDs and miss it.
  if podman image exists debian:bookworm && podman image exists debian:bookworm-slim; then
    return 0
  fi
  local r=$LC_ROOTFS_CACHE s=$LCP_DIR/rootfs-slim
  # Like the official images: updates and security suites enabled, no .deb cache, no apt lists.
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
    "$LC_DEBIAN_MIRROR" "$LC_DEBIAN_MIRROR" >"$r/etc/apt/sources.list"
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
  lcp_import "$r" debian:bookworm
  # -slim as Debian's own image makes it (debuerreotype's "slimify"): no docs but the copyright
  # files, no man/info pages, no translations, and dpkg told to keep it that way.
  rm -rf "$s" && cp -a "$r" "$s"
  (cd "$s" && find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete \
     && find usr/share/doc -mindepth 1 -type d -empty -delete \
     && rm -rf usr/share/man/* usr/share/info/* usr/share/locale/* usr/share/groff/* usr/share/lintian/*)
  mkdir -p "$s/etc/dpkg/dpkg.cfg.d"
  cat >"$s/etc/dpkg/dpkg.cfg.d/docker" <<'EOT'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOT
  lcp_import "$s" debian:bookworm-slim
  rm -rf "$s"
}

# lcp_import DIR TAG: a root file system directory as a local image (nothing pulled).
lcp_import() {
  tar -C "$1" --exclude=./.loopcast-complete -c . \
    | podman import -q --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "$2" >/dev/null \
    || lc_fail "podman import of $1 as $2 failed"
}

# lcp_build TAG [extra podman build args]: the project's Dockerfile, from the repository root.
lcp_build() {
  local tag=$1; shift
  lcp_track_image "$tag"
  echo "container: podman build -t $tag (several minutes on 2 cores)"
  # The host's CA bundle as a build secret: npm inside the build then trusts whatever the host
  # trusts (a TLS-intercepting proxy's CA included). Never stored in a layer.
  local ca=${LC_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt} secret=()
  [[ -s "$ca" ]] && secret=(--secret "id=ca-bundle,src=$ca")
  if ! (cd "$LC_ROOT" && nice -n 10 podman build --pull=never --format docker -f deploy/Dockerfile \
          "${secret[@]}" -t "$tag" "$@" . >"$LC_TMP/build.log" 2>&1); then
    tail -60 "$LC_TMP/build.log" >&2
    lc_fail "podman build failed (full log above)"
  fi
}

# lcp_image_mb TAG: the image's unpacked size in MB (what `podman images` shows).
lcp_image_mb() {
  local bytes
  bytes=$(podman image inspect --format '{{.Size}}' "$1") || return 1
  echo $(((bytes + 500000) / 1000000))
}

# lcp_wait_healthy CONTAINER URL [SECONDS]: until URL answers 200; dumps the log if not.
lcp_wait_http() {
  local c=$1 url=$2 secs=${3:-30}
  if ! lc_wait_http "$url" "$secs"; then
    podman logs "$c" 2>&1 | tail -30 >&2
    podman inspect --format 'state={{.State.Status}} exit={{.State.ExitCode}}' "$c" >&2
    return 1
  fi
}
