#!/usr/bin/env bash
# Build the provision test-fleet images, offline.
#
#   PROVISION_TEST_IMAGES=debian11,debian12,debian13,debian12-systemd bash docker/build.sh   (the default)
#
# Debian images start from a rootfs made by `debootstrap --variant=minbase` from
# the Debian archive (no container registry needed), loaded with `docker import`,
# then docker/debian/Dockerfile on top. ubuntu*/rocky9/centos7 and their -systemd
# variants need a registry (FROM ubuntu:..., rockylinux:9, centos:7) and only build
# where one is reachable.
#
# Caching: every image is tagged provision-test/NAME:<hash12>, the hash being over
# its inputs (Dockerfile, entrypoints, shared setup scripts, this script, release); if that tag exists the
# image is not rebuilt. The imported rootfs is cached the same way as
# provision-test/rootfs-NAME:<hash12> (release, mirror, package list), so editing
# the Dockerfile does not debootstrap again. NAME:latest points at the newest build.
#
# A Debian image that fails to build fails the script. A registry-based image
# (ubuntu*, rocky9*, centos7) that fails is reported and skipped (the test suites
# skip images that are not present), unless PROVISION_BUILD_STRICT=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
images="${PROVISION_TEST_IMAGES:-debian11,debian12,debian13,debian12-systemd}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# Scratch space for debootstrap; never inside the git tree.
workdir="${PROVISION_FLEET_WORKDIR:-/var/tmp/provision-fleet}"

# Everything the tests and an Ansible benchmark need, so the Dockerfile needs no network.
# iputils-ping and nmap: a fleet container scans another from outside (the hardening
# test's port and ICMP scan); kmod and cron: what a real Debian server has, so the
# hardening playbook's module blacklist is read back with `modprobe -n -v` and its cron
# permissions apply to real files.
debian_packages="openssh-server,openssh-client,sudo,iptables,iproute2,procps,python3,ca-certificates,iputils-ping,nmap,kmod,cron"
# Extra for the debian*-systemd images (systemd as PID 1, ssh.service).
debian_systemd_packages="systemd,systemd-sysv,dbus"

# Every name this script builds (the CI matrix and its test check them against this line).
known_images="debian11 debian12 debian13 debian11-systemd debian12-systemd debian13-systemd ubuntu2204 ubuntu2404 ubuntu2204-systemd ubuntu2404-systemd rocky9 rocky9-systemd centos7"

log() { printf '[build.sh] %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
hash_of() { sha256sum | cut -c1-12; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Hash of this script, excluding nothing: any edit here rebuilds the final images
# (but not the rootfs, whose key is only what goes into debootstrap).
script_hash="$(hash_of < "${BASH_SOURCE[0]}")"

debian_release() {
  case "${1%-systemd}" in
    debian11) echo bullseye ;;
    debian12) echo bookworm ;;
    debian13) echo trixie ;;
    *) return 1 ;;
  esac
}

write_sources_list() { # rootfs release
  local root="$1" release="$2"
  {
    echo "deb $mirror $release main"
    echo "deb $mirror $release-updates main"
    echo "deb $security_mirror $release-security main"
  } > "$root/etc/apt/sources.list"
  rm -f "$root/etc/apt/sources.list.d/debian.sources"
}

build_rootfs() { # name release -> prints rootfs image tag
  local name="$1" release="$2"
  local key tag packages="$debian_packages"
  [[ "$name" == *-systemd ]] && packages="$packages,$debian_systemd_packages"
  # trixie's cron needs systemd-sysusers, which debootstrap resolves to systemd, whose
  # configuration fails in a debootstrap chroot: no cron there unless systemd is wanted
  # (the hardening playbook handles a host without cron files)
  [[ "$release" == trixie && "$name" != *-systemd ]] && packages="${packages/,cron/}"
  key="$(printf 'rootfs-v1\n%s\n%s\n%s\n%s\n' "$release" "$mirror" "$security_mirror" "$packages" | hash_of)"
  tag="provision-test/rootfs-$name:$key"
  if image_exists "$tag"; then
    log "$name: rootfs $tag cached"
    echo "$tag"; return 0
  fi
  command -v debootstrap >/dev/null || { log "debootstrap is not installed"; return 1; }
  local dir="$workdir/rootfs-$name-$key"
  rm -rf "$dir"; mkdir -p "$dir"
  local t0; t0="$(now)"
  log "$name: debootstrap --variant=minbase $release from $mirror ..."
  if ! debootstrap --variant=minbase --include="$packages" \
        "$release" "$dir" "$mirror" > "$workdir/debootstrap-$name.log" 2>&1; then
    log "$name: debootstrap FAILED (see $workdir/debootstrap-$name.log):"
    tail -n 15 "$workdir/debootstrap-$name.log" >&2 || true
    rm -rf "$dir"
    return 1
  fi
  log "$name: debootstrap took $(elapsed "$t0") s"
  write_sources_list "$dir" "$release"
  # Keep the image small; tests that install packages run apt-get update first.
  chroot "$dir" apt-get clean
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
         "$dir"/var/log/*.log "$dir"/var/log/apt/* "$dir"/tmp/* "$dir"/var/tmp/*
  mkdir -p "$dir/var/lib/apt/lists/partial"
  # debootstrap copies the build machine's resolv.conf/hostname; docker provides its own.
  : > "$dir/etc/resolv.conf"
  echo localhost > "$dir/etc/hostname"
  t0="$(now)"
  tar --numeric-owner --xattrs -C "$dir" -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["/bin/bash"]' \
      - "$tag" >/dev/null
  log "$name: docker import took $(elapsed "$t0") s"
  rm -rf "$dir"
  echo "$tag"
}

build_image() { # name
  local name="$1"
  local dockerfile release base build_args=()
  case "$name" in
    debian*-systemd)
      release="$(debian_release "$name")" || { log "unknown image $name"; return 1; }
      dockerfile="$here/debian-systemd/Dockerfile" ;;
    debian*)
      release="$(debian_release "$name")" || { log "unknown image $name"; return 1; }
      dockerfile="$here/debian/Dockerfile" ;;
    ubuntu2204) release="22.04"; dockerfile="$here/ubuntu/Dockerfile"; build_args=(--build-arg VERSION=22.04) ;;
    ubuntu2404) release="24.04"; dockerfile="$here/ubuntu/Dockerfile"; build_args=(--build-arg VERSION=24.04) ;;
    ubuntu2204-systemd) release="22.04"; dockerfile="$here/ubuntu-systemd/Dockerfile"; build_args=(--build-arg VERSION=22.04) ;;
    ubuntu2404-systemd) release="24.04"; dockerfile="$here/ubuntu-systemd/Dockerfile"; build_args=(--build-arg VERSION=24.04) ;;
    rocky9)     release="rockylinux:9"; dockerfile="$here/rocky/Dockerfile"; build_args=(--build-arg BASE=rockylinux:9) ;;
    rocky9-systemd) release="rockylinux:9"; dockerfile="$here/rocky-systemd/Dockerfile"; build_args=(--build-arg BASE=rockylinux:9) ;;
    centos7)    release="centos:7"; dockerfile="$here/rocky/Dockerfile"; build_args=(--build-arg BASE=centos:7) ;;
    *) log "unknown image name '$name' (known: $known_images)"; return 1 ;;
  esac

  local hash tag
  hash="$( { cat "$dockerfile" "$here/entrypoint.sh" "$here/entrypoint-systemd.sh" "$here/fleet-setup.sh" "$here/install-keys.sh"; echo "$script_hash"; echo "$name $release"; } | hash_of)"
  tag="provision-test/$name:$hash"
  if image_exists "$tag"; then
    docker tag "$tag" "provision-test/$name:latest"
    log "$name: $tag cached"
    return 0
  fi

  if [[ "$name" == debian* ]]; then
    base="$(build_rootfs "$name" "$release")" || return 1
    build_args=(--build-arg "BASE_IMAGE=$base" --build-arg "RELEASE=$release")
  fi

  local t0; t0="$(now)"
  log "$name: docker build $tag"
  if ! docker build --quiet --network none "${build_args[@]}" \
        --label "provision-test.image=$name" --label "provision-test.hash=$hash" \
        -f "$dockerfile" -t "$tag" -t "provision-test/$name:latest" "$here" > "$workdir/build-$name.log" 2>&1; then
    if [[ "$name" == debian* ]]; then
      log "$name: docker build FAILED:"; tail -n 30 "$workdir/build-$name.log" >&2; return 1
    fi
    log "$name: docker build failed, SKIPPED (its base image needs a registry):"
    tail -n 5 "$workdir/build-$name.log" >&2
    [[ "${PROVISION_BUILD_STRICT:-0}" == 1 ]] && return 1
    return 2
  fi
  log "$name: docker build took $(elapsed "$t0") s"
  # Untag builds of older inputs (best effort; an image still in use keeps its layers).
  docker image ls --format '{{.Repository}}:{{.Tag}}' "provision-test/$name" \
    | grep -v -e ":latest$" -e ":$hash$" | xargs -r docker rmi >/dev/null 2>&1 || true
}

main() {
  docker info >/dev/null 2>&1 || { log "docker is not answering (is dockerd running?)"; exit 1; }
  mkdir -p "$workdir"
  local t_all name failed=() skipped=()
  t_all="$(now)"
  IFS=',' read -r -a names <<< "$images"
  for name in "${names[@]}"; do
    name="${name// /}"; [[ -n "$name" ]] || continue
    local t0; t0="$(now)"
    local rc=0
    build_image "$name" || rc=$?
    case "$rc" in
      0) log "$name: ready in $(elapsed "$t0") s" ;;
      2) skipped+=("$name") ;;
      *) failed+=("$name") ;;
    esac
  done
  log "total $(elapsed "$t_all") s"
  ((${#skipped[@]})) && log "skipped (not buildable here): ${skipped[*]}"
  if ((${#failed[@]})); then
    log "FAILED: ${failed[*]}"
    exit 1
  fi
}

main "$@"
