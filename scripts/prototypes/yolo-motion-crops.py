# Issue 13, a lever tried and not kept: YOLO (yolov4-tiny at the policy's 608 scale) on every
# frame of vtest.avi, but on the whole frame only every FULL-th frame and, between, only on crops
# around the motion since the previous frame (8x8 cells whose mean luma changed by 12 or more,
# grown) and around the previous frame's persons; compared with YOLO on the whole of every frame.
# Prints the share of the frame the crops cover, YOLO's time on the crops against the whole
# frame (one thread), and the share of the whole-frame persons (padded by the policy's 10 %)
# covered whole by the crop detections grown by MARGIN plus the previous frame's held ones.
#
# Not part of the build: OpenCV's Python binding of the same version as Debian's libopencv
# (4.6) from PyPI, in a venv:
#   python3 -m venv .build/proto-venv && .build/proto-venv/bin/pip install opencv-python-headless==4.6.0.66 "numpy<2"
#   .build/proto-venv/bin/python scripts/prototypes/yolo-motion-crops.py FRAMES FULL MARGIN [v [MIN_SIDE PAD]]
# e.g. `200 5 0.15 v` (crops as found, 16 px of context) or `200 5 0.15 v 160 32` (crops at least 160 px, 32 px
# of context, and the last two full passes' persons looked at again). Figures: docs/DETECTION.md.
import cv2, numpy as np, time, sys
net = cv2.dnn.readNetFromDarknet('Models/yolov4-tiny.cfg','Models/yolov4-tiny.weights')
cv2.setNumThreads(1)
names=[l.strip() for l in open('Models/coco.names')]
cap=cv2.VideoCapture('Datasets/vtest.avi')
frames=[]
while len(frames)<int(sys.argv[1]):
    ok,f=cap.read()
    if not ok: break
    frames.append(f)
print(len(frames), frames[0].shape)
S=608/768
def yolo(img, scale=S):
    h,w=img.shape[:2]
    iw=int(round(w*scale)); ih=int(round(h*scale))
    pw=(iw+31)//32*32; ph=(ih+31)//32*32
    r=cv2.resize(img,(iw,ih))
    canvas=np.full((ph,pw,3),127,np.uint8); canvas[:ih,:iw]=r
    blob=cv2.dnn.blobFromImage(canvas,1/255,(pw,ph),swapRB=True)
    net.setInput(blob)
    outs=net.forward(net.getUnconnectedOutLayersNames())
    boxes=[];scores=[]
    for o in outs:
        for row in o:
            sc=row[5:]; c=int(np.argmax(sc))
            if c==0 and sc[c]>=0.25:
                cx,cy,bw,bh=row[0]*pw,row[1]*ph,row[2]*pw,row[3]*ph
                boxes.append([(cx-bw/2)/scale,(cy-bh/2)/scale,bw/scale,bh/scale]); scores.append(float(sc[c]))
    idx=cv2.dnn.NMSBoxes(boxes,scores,0.25,0.45)
    return [boxes[i] for i in np.array(idx).flatten()] if len(boxes) else []
def luma_cells(f,cell=8):
    g=cv2.cvtColor(f,cv2.COLOR_BGR2GRAY).astype(np.int32)
    h,w=g.shape; return g[:h//cell*cell,:w//cell*cell].reshape(h//cell,cell,w//cell,cell).mean(axis=(1,3))
def grow(b,share,minpx=0):
    x,y,w,h=b; d=max(minpx,share*max(w,h)); return [x-d,y-d,w+2*d,h+2*d]
def clip(b,W,H):
    x0=max(0,int(b[0])); y0=max(0,int(b[1])); x1=min(W,int(np.ceil(b[0]+b[2]))); y1=min(H,int(np.ceil(b[1]+b[3])))
    return [x0,y0,x1-x0,y1-y0] if x1>x0 and y1>y0 else None
def covered(ref,areas,W,H):
    m=np.zeros((H,W),bool)
    for a in areas:
        c=clip(a,W,H)
        if c: m[c[1]:c[1]+c[3],c[0]:c[0]+c[2]]=True
    out=[]
    for r in ref:
        c=clip(r,W,H)
        if c is None: continue
        out.append(m[c[1]:c[1]+c[3],c[0]:c[0]+c[2]].all())
    return out
H,W=frames[0].shape[:2]
ref=[];t=[]
for f in frames:
    s=time.perf_counter(); ref.append(yolo(f)); t.append(time.perf_counter()-s)
print('full yolo median ms',np.median(t)*1000, 'persons/frame',np.mean([len(r) for r in ref]))
FULL=int(sys.argv[2]); MARGIN=float(sys.argv[3]); HOLD_FULL=len(sys.argv)>5
prev=None; last=[]; tc=[]; shares=[]; cov=[]
for i,f in enumerate(frames):
    cells=luma_cells(f)
    if i%FULL==0:
        dets=ref[i]; fullheld=(ref[i-FULL] if i>=FULL else [])+ref[i]
    else:
        changed=(np.abs(cells-prev)>=12).astype(np.uint8)
        changed=cv2.dilate(changed,np.ones((3,3),np.uint8))
        n,lab,stats,_=cv2.connectedComponentsWithStats(changed)
        regions=[[s[0]*8,s[1]*8,s[2]*8,s[3]*8] for s in stats[1:]]
        regions+= [grow(b,0.25,8) for b in last]
        MINS=int(sys.argv[5]) if len(sys.argv)>5 else 0
        if HOLD_FULL: regions+=[grow(b,0.25,8) for b in fullheld]
        def minsize(r):
            x,y,w,h=r
            if w<MINS: x-= (MINS-w)/2; w=MINS
            if h<MINS: y-= (MINS-h)/2; h=MINS
            return [x,y,w,h]
        regions=[clip(minsize(grow(r,0,int(sys.argv[6]) if len(sys.argv)>6 else 16)),W,H) for r in regions]
        regions=[r for r in regions if r]
        # merge overlapping
        merged=True
        while merged:
            merged=False
            for a in range(len(regions)):
                for b in range(a+1,len(regions)):
                    A=regions[a];B=regions[b]
                    if A[0]<B[0]+B[2] and B[0]<A[0]+A[2] and A[1]<B[1]+B[3] and B[1]<A[1]+A[3]:
                        x0=min(A[0],B[0]);y0=min(A[1],B[1]);x1=max(A[0]+A[2],B[0]+B[2]);y1=max(A[1]+A[3],B[1]+B[3])
                        regions[a]=[x0,y0,x1-x0,y1-y0]; del regions[b]; merged=True; break
                if merged: break
        shares.append(sum(r[2]*r[3] for r in regions)/(W*H))
        s=time.perf_counter()
        dets=[]
        for r in regions:
            crop=f[r[1]:r[1]+r[3],r[0]:r[0]+r[2]]
            for b in yolo(crop): dets.append([b[0]+r[0],b[1]+r[1],b[2],b[3]])
        tc.append(time.perf_counter()-s)
        pad=[grow(b,0.1) for b in ref[i]]
        def iou(a,b):
            x0=max(a[0],b[0]);y0=max(a[1],b[1]);x1=min(a[0]+a[2],b[0]+b[2]);y1=min(a[1]+a[3],b[1]+b[3])
            if x1<=x0 or y1<=y0: return 0
            i=(x1-x0)*(y1-y0); return i/(a[2]*a[3]+b[2]*b[3]-i)
        held=[b for b in last if not any(iou(b,d)>=0.3 for d in dets)]
        areas=[grow(grow(b,0.1),MARGIN) for b in dets]+[grow(grow(b,0.1),MARGIN+0.08) for b in held]
        c=covered(pad,areas,W,H); cov+=c
        if not all(c) and len(sys.argv)>4: print(i,[ [int(v) for v in p] for p,ok in zip(pad,c) if not ok], 'regions',regions)
        dets=dets+held
    last=dets; prev=cells
print('crop frames: median share',np.median(shares),'mean',np.mean(shares),'median ms',np.median(tc)*1000,'mean ms',np.mean(tc)*1000)
print('coverage of ref persons on crop frames',np.mean(cov), len(cov))
