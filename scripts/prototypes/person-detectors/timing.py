# Interleaved timing (one thread): every candidate on the same frame in turn, 20 vtest frames x 2 rounds,
# so the load of other processes hits all candidates alike. Prints median ms and median per-frame ratio to v4tiny608.
import sys; sys.argv=['x','none']
exec(open(__import__('os').path.join(__import__('os').path.dirname(__import__('os').path.abspath(__file__)), 'bench.py')).read().split("names=sys.argv")[0])
import time
names=['v4tiny608','v4tiny512','v4tiny480','v4tiny448','v4tiny416','v4tiny320','v3tiny608','v3tiny416','ssdlite300sq','ssdlite400x300sq','hog','hog_daimler']
dets={n:CANDS[n][0]() for n in names}
T={n:[] for n in names}
for r in range(2):
    for f in vframes[:20]:
        for n in names:
            s=time.perf_counter(); dets[n](f); T[n].append(time.perf_counter()-s)
base=np.array(T['v4tiny608'])
for n in names:
    t=np.array(T[n]); print('%-17s median %6.1f ms  min %6.1f ms  cost vs v4tiny608 (median of per-frame ratios) %.2f'%(n,np.median(t)*1000,t.min()*1000,np.median(t/base)))
