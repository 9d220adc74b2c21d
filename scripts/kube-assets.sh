#!/usr/bin/env bash
# The Kubernetes binaries Strata's tests and lab run — kube-apiserver, kube-controller-manager,
# kubeadm and kubelet v1.20.2 — in one directory, found the ecosystem's way: KUBEBUILDER_ASSETS
# (controller-runtime's envtest convention). Prints the directory on stdout; progress on stderr.
#
#   scripts/kube-assets.sh              extract or build once, print the directory
#   scripts/kube-assets.sh --no-build   never build: exit 3 saying why when nothing is there
#   scripts/kube-assets.sh --rebuild    make it again even when the stamp says it is current
#
# The directory is ${XDG_CACHE_HOME:-~/.cache}/strata/kube-assets/1.20.2. Its `.stamp` says
# what it was made from (first line: the key checked on every run; then the inputs' versions).
#
# Fast path, where the project's shared data is beside the checkout (../shared/kube-assets/, or
# $STRATA_SHARED/kube-assets/): the tarball there is checked against its SHA256SUMS and
# extracted (a few seconds). The key is the listed digest: a new tarball there is extracted again.
#
# Slow path, without it: built from Debian's own packages — the `kubernetes` source package
# (1.20.2 with its vendor/ tree), Debian's Go (1.19 on Debian 12), and Debian's reflect2 1.0.2
# in place of the vendored 1.0.1 (1.0.1 crashes the API server under Go >= 1.18: "unexpected
# fault address" in its map iterator). The same steps as ../shared/kube-assets/build.sh, which
# made the shared tarball. About 10 minutes and 4 GiB of disk (beside the cache) on 2 cores,
# progress shown. The first time it needs root, to apt-get install the Go toolchain. The source
# package comes through a private apt configuration (deb-src entries in a temporary directory
# of its own), so the machine's apt sources are left as they are. Built once: the key is
# RECIPE below (raise it when these steps change); the stamp records the versions used.
#
# Under CI=true the shared data is always there: its absence is an error, not a build.
# Exit status: 0 done, 1 failed, 2 usage, 3 (--no-build) nothing to extract and nothing built.
set -euo pipefail

VERSION=1.20.2
TARBALL=kube-$VERSION-linux-amd64.tar.xz
BINARIES=(kube-apiserver kube-controller-manager kubeadm kubelet)
RECIPE=1              # the slow path's steps; a built directory with another RECIPE is rebuilt
PACKAGES_ABOUT=2300   # packages `go build -v` reported building these (2321 here): the progress's scale
BUILD_DEPENDS=(golang-go golang-github-modern-go-reflect2-dev make rsync)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${STRATA_SHARED:-$ROOT/../shared}/kube-assets
[ -d "$SHARED" ] && SHARED=$(cd "$SHARED" && pwd -P)
PARENT=${XDG_CACHE_HOME:-$HOME/.cache}/strata/kube-assets
TARGET=$PARENT/$VERSION

no_build=0 rebuild=0
for arg in "$@"; do
  case $arg in
    --no-build) no_build=1 ;;
    --rebuild) rebuild=1 ;;
    *) echo "usage: $0 [--no-build | --rebuild]" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "kube-assets: $*" >&2; exit 1; }

staging="" work="" make_pid="" uri_used=""
cleanup() {
  if [ -n "$make_pid" ]; then kill -TERM -- "-$make_pid" 2>/dev/null || true; fi
  if [ -n "$staging" ]; then rm -rf "$staging"; fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One run at a time per cache: the others wait, then find it done.
mkdir -p "$PARENT"
exec 9>"$PARENT/.lock"
if ! flock -n 9; then
  say "waiting for another run making $TARGET"
  flock 9
fi

stamp_key() {  # the first line of the stamp, when every binary is there
  local b
  for b in "${BINARIES[@]}"; do [ -x "$TARGET/$b" ] || return 0; done
  head -n 1 "$TARGET/.stamp" 2>/dev/null || true
}

done_at() { echo "$TARGET"; exit 0; }

into_place() {  # $staging holds the binaries and the stamp: it becomes $TARGET
  local b old=""
  for b in "${BINARIES[@]}"; do
    [ -f "$staging/$b" ] || die "made no $b"
    chmod 0755 "$staging/$b"
  done
  chmod 0755 "$staging"  # mktemp made it 0700; the lab reads it too
  if [ -e "$TARGET" ]; then
    old=$(mktemp -d "$PARENT/.old-XXXXXX")
    mv "$TARGET" "$old/"
  fi
  mv "$staging" "$TARGET"
  staging=""
  if [ -n "$old" ]; then rm -rf "$old"; fi
}

# --- fast path: the shared tarball -----------------------------------------------------------
extract_shared() {
  local want got
  want=$(awk -v f="$TARBALL" '$2 == f || $2 == "*" f { print $1 }' "$SHARED/SHA256SUMS" 2>/dev/null || true)
  [ -n "$want" ] || die "$SHARED/SHA256SUMS lists no $TARBALL"
  local key="shared sha256=$want"
  if [ "$rebuild" = 0 ] && [ "$(stamp_key)" = "$key" ]; then done_at; fi
  say "extracting $TARBALL from $SHARED into $TARGET"
  got=$(sha256sum < "$SHARED/$TARBALL" | cut -d' ' -f1) || die "cannot read $SHARED/$TARBALL"
  [ "$got" = "$want" ] || die "$SHARED/$TARBALL does not match its SHA256SUMS (sha256 $got, listed $want)"
  staging=$(mktemp -d "$PARENT/.$VERSION-XXXXXX")
  tar -xJf "$SHARED/$TARBALL" -C "$staging" --no-same-owner "${BINARIES[@]}" \
    || die "$SHARED/$TARBALL does not hold ${BINARIES[*]}"
  printf '%s\nfrom %s\nmade %s\n' "$key" "$SHARED/$TARBALL" "$(date -u +%FT%TZ)" > "$staging/.stamp"
  into_place
  done_at
}

if [ -d "$SHARED" ]; then
  extract_shared
fi

# --- without shared data: what was built before, or build ----------------------------------
case $(stamp_key) in
  "built recipe=$RECIPE") [ "$rebuild" = 0 ] && done_at ;;
  shared\ *) [ "$rebuild" = 0 ] && done_at ;;  # extracted when the shared data was here
esac
if [ "${CI:-}" = true ]; then
  die "$SHARED is absent (CI always has it), and nothing was built into $TARGET"
fi
if [ "$no_build" = 1 ]; then
  echo "$SHARED is absent and $TARGET was never built: ./dev test builds it (scripts/kube-assets.sh, about 10 minutes)" >&2
  exit 3
fi

step() { say "[$1/5] $2"; }

installed_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "building needs ${missing[*]}: install them as root (apt-get install ${missing[*]}) or run this as root"
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

debian_source() {  # "URI KEYRING" of the machine's main Debian archive, for a deb-src entry
  local suite=$1 found=""
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    found=$(awk -v suite="$suite" '
      function flush() { if (deb && hit && uri != "") { print uri, (key == "" ? "-" : key); exit } deb = hit = 0; uri = key = "" }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      tolower($1) == "signed-by:" { key = $2 }
      END { flush() }' "$f")
    [ -n "$found" ] && break
  done
  if [ -z "$found" ] && [ -f /etc/apt/sources.list ]; then
    found=$(awk -v suite="$suite" '$1 == "deb" && $0 !~ /\[/ && $3 == suite { print $2, "-"; exit }' /etc/apt/sources.list)
  fi
  echo "${found:-http://deb.debian.org/debian -}"
}

fetch_source() {  # the kubernetes source package's files, into the current directory
  local suite uri key apt=$work/apt
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  read -r uri key <<< "$(debian_source "$suite")"
  uri_used="$uri $suite main"
  [ "$key" = - ] && key=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial"
  echo "deb-src [signed-by=$key] $uri $suite main" > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
  [ "$(id -u)" -eq 0 ] && opts+=(-o "APT::Sandbox::User=root")  # its private directories are root's
  apt-get "${opts[@]}" -qq update >"$work/apt.log" 2>&1 \
    || { cat "$work/apt.log" >&2; die "apt-get update of deb-src $uri $suite main failed"; }
  apt-get "${opts[@]}" -qq source --download-only kubernetes >>"$work/apt.log" 2>&1 \
    || { cat "$work/apt.log" >&2; die "apt-get source kubernetes failed (deb-src $uri $suite main)"; }
}

build() {
  local started=$SECONDS
  work=$(mktemp -d "$PARENT/.build-XXXXXX")  # on disk beside the cache: about 4 GiB
  say "building Kubernetes $VERSION test binaries from Debian's source package into $TARGET (about 10 minutes on 2 cores, once)"

  step 1 "Debian's Go and reflect2: ${BUILD_DEPENDS[*]}"
  need_packages "${BUILD_DEPENDS[@]}"

  step 2 "Debian's kubernetes source package (apt-get source, with deb-src entries of its own)"
  cd "$work"
  fetch_source
  local dsc version orig
  dsc=$(ls kubernetes_*.dsc 2>/dev/null | head -n 1)
  [ -n "$dsc" ] || die "apt-get source kubernetes fetched no .dsc"
  version=$(awk '$1 == "Version:" { print $2; exit }' "$dsc")
  case $version in
    "$VERSION"-* | *really"$VERSION"-* | *really"$VERSION") ;;
    *) die "Debian's kubernetes source package here is $version, not $VERSION: this recipe builds $VERSION" ;;
  esac
  orig=$(ls kubernetes_*.orig.tar.* | head -n 1)

  step 3 "unpacking $orig; reflect2 1.0.2 from Debian in place of the vendored 1.0.1"
  mkdir src
  tar -xf "$orig" -C src --strip-components=1
  local r2=src/vendor/github.com/modern-go/reflect2 debian_r2=/usr/share/gocode/src/github.com/modern-go/reflect2
  [ -d "$r2" ] || die "the source has no $r2"
  rm -f "$r2"/*.go "$r2"/*.s
  cp "$debian_r2"/*.go "$debian_r2"/*.s "$r2"/
  mkdir -p src/.go/src/k8s.io
  ln -sfn ../../.. src/.go/src/k8s.io/kubernetes

  step 4 "make WHAT=\"cmd/kube-apiserver cmd/kube-controller-manager cmd/kubeadm cmd/kubelet\" with $(go version | cut -d' ' -f3) (the long step)"
  local log=$work/make.log
  # Its own session, so that stopping this script stops the whole build; -v lists each
  # package as it is compiled: the progress below counts them.
  (cd src && exec setsid env GOPATH="$work/src/.go" CGO_ENABLED=0 HOME="$work" \
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kubeadm cmd/kubelet" \
    GOLDFLAGS="-s -w" GOFLAGS=-v) >"$log" 2>&1 &
  make_pid=$!
  local tty=0 last=0 now n phase line
  [ -t 2 ] && tty=1
  while kill -0 "$make_pid" 2>/dev/null; do
    sleep 2
    now=$((SECONDS - started))
    if [ "$tty" = 1 ] || [ $((now - last)) -ge 60 ]; then
      last=$now
      n=$(grep -cE '^[[:alnum:]_.~-]+(/[[:alnum:]_.~+-]+)*$' "$log" || true)
      phase=$(awk '/^\+\+\+ .*Building go targets/ { now = ""; listing = 1; next }
        listing && /^    [^ ]/ { n = split($1, part, "/"); now = now " " part[n]; next }
        { listing = 0 } END { print now }' "$log")
      line=$(printf '    %2dm%02ds  %4d packages compiled (of about %d); building:%s' \
        $((now / 60)) $((now % 60)) "$n" "$PACKAGES_ABOUT" "${phase:- code generators}")
      if [ "$tty" = 1 ]; then printf '\r%s\033[K' "$line" >&2; else echo "$line" >&2; fi
    fi
  done
  [ "$tty" = 1 ] && echo >&2
  local status=0
  wait "$make_pid" || status=$?
  make_pid=""
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    cp "$log" "$PARENT/build-failed.log"
    die "make failed (exit $status); its whole output: $PARENT/build-failed.log"
  fi
  echo "    $(grep -cE '^[[:alnum:]_.~-]+(/[[:alnum:]_.~+-]+)*$' "$log" || true) packages compiled" >&2

  step 5 "checking and keeping them in $TARGET"
  staging=$(mktemp -d "$PARENT/.$VERSION-XXXXXX")
  local b
  for b in "${BINARIES[@]}"; do cp "src/_output/bin/$b" "$staging/"; done
  "$staging/kube-apiserver" --version | grep -qx "Kubernetes v$VERSION" \
    || die "the kube-apiserver built says $("$staging/kube-apiserver" --version), not v$VERSION"
  {
    echo "built recipe=$RECIPE"
    echo "kubernetes source package: $version (deb-src $uri_used)"
    echo "golang-go: $(installed_version golang-go) ($(go version | cut -d' ' -f3))"
    echo "golang-github-modern-go-reflect2-dev: $(installed_version golang-github-modern-go-reflect2-dev)"
    echo "made $(date -u +%FT%TZ) in $(((SECONDS - started) / 60))m$(((SECONDS - started) % 60))s"
  } > "$staging/.stamp"
  cd "$PARENT"
  into_place
  say "built in $(((SECONDS - started) / 60))m$(((SECONDS - started) % 60))s: $TARGET"
}

build
done_at
