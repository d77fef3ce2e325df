#!/usr/bin/env python3
"""Draw the ground-truth labels in instances.json onto copies of the images, for checking by eye.

Needs OpenCV and numpy. Install them in a virtual environment, e.g.:

    python3 -m venv /tmp/labels-venv
    /tmp/labels-venv/bin/pip install opencv-python-headless==4.10.0.84 numpy
    /tmp/labels-venv/bin/python Datasets/labels/draw_labels.py OUT_DIR

Usage: draw_labels.py OUT_DIR [--labels PATH] [--datasets DIR] [--only SUBSTRING]

One PNG per labelled image is written to OUT_DIR (created if missing); video frames are
named like vtest.avi_f0150.png. Colours: face red, person green, plate yellow, vehicle blue.
Solid boxes are normal labels; ignore regions (iscrowd = 1) are drawn with a dashed thin line
and a trailing "*" in their tag. Each tag is "<class> <annotation id>".

Video frames are identified by their sequential read index: frame N is the (N+1)-th frame
returned by cv2.VideoCapture.read() from the start of the file, with no seeking.
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
COLOURS = {1: (0, 0, 255), 2: (0, 200, 0), 3: (0, 230, 255), 4: (255, 128, 0)}  # BGR


def dashed_rect(img, p0, p1, colour, thickness=1, dash=6):
    (x0, y0), (x1, y1) = p0, p1
    for xa in range(x0, x1, 2 * dash):
        xb = min(xa + dash, x1)
        cv2.line(img, (xa, y0), (xb, y0), colour, thickness)
        cv2.line(img, (xa, y1), (xb, y1), colour, thickness)
    for ya in range(y0, y1, 2 * dash):
        yb = min(ya + dash, y1)
        cv2.line(img, (x0, ya), (x0, yb), colour, thickness)
        cv2.line(img, (x1, ya), (x1, yb), colour, thickness)


def video_frames(path, wanted):
    """Read the video sequentially and return {index: frame} for the wanted indices."""
    frames, cap, i = {}, cv2.VideoCapture(path), 0
    if not cap.isOpened():
        sys.exit(f"cannot open {path}")
    last = max(wanted)
    while i <= last:
        ok, frame = cap.read()
        if not ok:
            break
        if i in wanted:
            frames[i] = frame
        i += 1
    cap.release()
    missing = set(wanted) - set(frames)
    if missing:
        sys.exit(f"{path}: frames {sorted(missing)} not reached (video has {i} frames)")
    return frames


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--labels", default=os.path.join(HERE, "instances.json"))
    ap.add_argument("--datasets", default=os.path.dirname(HERE), help="folder holding the images and videos")
    ap.add_argument("--only", default="", help="draw only images whose file name contains this")
    args = ap.parse_args()

    coco = json.load(open(args.labels))
    names = {c["id"]: c["name"] for c in coco["categories"]}
    by_image = {}
    for a in coco["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    images = [im for im in coco["images"] if args.only in im["file_name"]]

    wanted = {}
    for im in images:
        if "frame" in im:
            wanted.setdefault(im["file_name"], set()).add(im["frame"])
    frames = {fn: video_frames(os.path.join(args.datasets, fn), idx) for fn, idx in wanted.items()}

    os.makedirs(args.out_dir, exist_ok=True)
    for im in images:
        fn = im["file_name"]
        if "frame" in im:
            pic = frames[fn][im["frame"]].copy()
            out_name = f"{fn}_f{im['frame']:04d}.png"
        else:
            pic = cv2.imread(os.path.join(args.datasets, fn), cv2.IMREAD_COLOR)
            if pic is None:
                sys.exit(f"cannot read {fn}")
            out_name = os.path.splitext(fn)[0] + ".png"
        h, w = pic.shape[:2]
        if (w, h) != (im["width"], im["height"]):
            print(f"warning: {out_name}: image is {w}x{h}, labels say {im['width']}x{im['height']}")
        thick = max(1, round(max(w, h) / 700))
        counts = {}
        for a in by_image.get(im["id"], []):
            x, y, bw, bh = a["bbox"]
            colour = COLOURS.get(a["category_id"], (255, 255, 255))
            crowd = a.get("iscrowd", 0) != 0
            p0, p1 = (int(x), int(y)), (int(x + bw - 1), int(y + bh - 1))
            if crowd:
                dashed_rect(pic, p0, p1, colour, 1)
            else:
                cv2.rectangle(pic, p0, p1, colour, thick)
            tag = f"{names[a['category_id']]} {a['id']}" + ("*" if crowd else "")
            scale = 0.35 * thick
            (tw, th), _ = cv2.getTextSize(tag, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            ty = p0[1] - 2 if p0[1] - th - 2 >= 0 else p0[1] + th + 2
            cv2.rectangle(pic, (p0[0], ty - th - 1), (p0[0] + tw, ty + 1), (0, 0, 0), -1)
            cv2.putText(pic, tag, (p0[0], ty), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
            key = names[a["category_id"]] + ("*" if crowd else "")
            counts[key] = counts.get(key, 0) + 1
        cv2.imwrite(os.path.join(args.out_dir, out_name), pic)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no labels"
        print(f"{out_name}: {summary}")


if __name__ == "__main__":
    main()
