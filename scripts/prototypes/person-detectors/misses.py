# Which labelled persons each candidate misses (IoU>=0.5), and the recall of unions of two cheap candidates.
import sys; sys.argv=['x','none']
exec(open(__import__('os').path.join(__import__('os').path.dirname(__import__('os').path.abspath(__file__)), 'bench.py')).read().split("names=sys.argv")[0])
cfg=[('v4tiny608',0.25),('v4tiny512',0.15),('v4tiny448',0.25),('v4tiny416',0.25),('v4tiny320',0.15),('v3tiny416',0.15),('ssdlite300sq',0.3),('ssdlite400x300sq',0.3)]
fname={im['id']:(im['file_name']+('#%d'%im['frame'] if 'frame' in im else '')) for im in lab['images']}
hit={}; res={}
for n,thr in cfg:
    det=CANDS[n][0](); R={i:[d for d in det(im) if d[1]>=thr] for i,im in imgs.items()}; res[n]=R
    h=set()
    for i,g in gt.items():
        used=set()
        for b,s in sorted(R[i],key=lambda d:-d[1]):
            best=None;bi=0.5
            for k,gb in enumerate(g):
                if k not in used and iou(b,gb)>=bi: bi=iou(b,gb);best=k
            if best is not None: used.add(best); h.add((i,best))
    hit[n]=h
allg={(i,k) for i,g in gt.items() for k in range(len(g))}
for n,_ in cfg:
    print('%-17s misses %d:'%(n,len(allg-hit[n])),sorted((fname[i],gt[i][k][3]) for i,k in allg-hit[n]))
for a,b in [('ssdlite300sq','v4tiny320'),('ssdlite400x300sq','v4tiny320'),('ssdlite300sq','v4tiny416'),('ssdlite400x300sq','v3tiny416')]:
    print('union %s + %s: recall %d/%d'%(a,b,len(hit[a]|hit[b]),len(allg)))
