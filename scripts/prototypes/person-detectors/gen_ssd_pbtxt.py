# Makes an OpenCV text graph (.pbtxt) for a TF Object Detection API SSD frozen graph, without TensorFlow,
# following the logic of OpenCV's samples/dnn/tf_text_graph_ssd.py (re-typed, condensed, for the prototype).
# usage: python gen_ssd_pbtxt.py frozen.pb out.pbtxt NUM_CLASSES WIDTH HEIGHT
import sys, re, cv2
from math import sqrt
sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
from tf_text_graph_common_min import *
pb, out, ncls, W, H = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
num_layers=6; min_scale=0.2; max_scale=0.95; ars=[1.0,2.0,0.5,3.0,0.3333]
keepOps = ['Conv2D','BiasAdd','Add','AddV2','Relu','Relu6','Placeholder','FusedBatchNorm','DepthwiseConv2dNative',
           'ConcatV2','Mul','MaxPool','AvgPool','Identity','Sub','ResizeNearestNeighbor','Pad','FusedBatchNormV3','Mean']
prefixesToRemove = ('MultipleGridAnchorGenerator/','Concatenate/','Postprocessor/','Preprocessor/map')
cv2.dnn.writeTextGraph(pb, out)
g = parseTextGraph(out)
removeIdentity(g)
def to_remove(name, op):
    return op == 'Const' or (op not in keepOps) or name.startswith(prefixesToRemove)
removeUnusedNodesAndAttrs(to_remove, g)
assert g.node[0].op == 'Placeholder', g.node[0].op
weights = g.node[1].input[-1]
g.node[1].input = [g.node[0].name, weights]
pre = 'Preprocessor/'
if g.node[2].name.startswith(pre) and g.node[2].input[0].startswith(pre):
    if not any(pre in i for i in g.node[3].input):
        g.node[3].input.insert(0, g.node[2].name)
def concat(name, inputs, axis):
    n = NodeDef(); n.name = name; n.op = 'ConcatV2'; n.input = list(inputs) + [axis]; g.node.append(n)
addConstNode('concat/axis_flatten', [-1], g)
addConstNode('PriorBox/concat/axis', [-2], g)
for label in ['ClassPredictor', 'BoxEncodingPredictor']:
    ins = []
    for i in range(num_layers):
        f = NodeDef(); src = 'BoxPredictor_%d/%s/BiasAdd' % (i, label); f.input=[src]; f.name = src+'/Flatten'; f.op='Flatten'
        g.node.append(f); ins.append(f.name)
    concat('%s/concat' % label, ins, 'concat/axis_flatten')
n_loc = 0
for node in g.node:
    if re.match(r'BoxPredictor_\d/BoxEncodingPredictor/(convolution|Conv2D)$', node.name):
        node.addAttr('loc_pred_transposed', True); n_loc += 1
assert n_loc == num_layers, n_loc
scales = [min_scale + (max_scale-min_scale)*i/(num_layers-1) for i in range(num_layers)] + [1.0]
pbs = []
for i in range(num_layers):
    if i == 0:
        ws = [0.1, min_scale*sqrt(2.0), min_scale*sqrt(0.5)]; hs = [0.1, min_scale/sqrt(2.0), min_scale/sqrt(0.5)]
    else:
        ws = [scales[i]*sqrt(a) for a in ars] + [sqrt(scales[i]*scales[i+1])]
        hs = [scales[i]/sqrt(a) for a in ars] + [sqrt(scales[i]*scales[i+1])]
    p = NodeDef(); p.name = 'PriorBox_%d' % i; p.op = 'PriorBox'
    p.input = ['BoxPredictor_%d/BoxEncodingPredictor/BiasAdd' % i, g.node[0].name]
    p.addAttr('flip', False); p.addAttr('clip', False)
    p.addAttr('width', [w*W for w in ws]); p.addAttr('height', [h*H for h in hs])
    p.addAttr('variance', [0.1, 0.1, 0.2, 0.2])
    g.node.append(p); pbs.append(p.name)
concat('PriorBox/concat', pbs, 'concat/axis_flatten')
addReshape('ClassPredictor/concat', 'ClassPredictor/concat3d', [0, -1, ncls+1], g)
s = NodeDef(); s.name = 'ClassPredictor/concat/sigmoid'; s.op = 'Sigmoid'; s.input = ['ClassPredictor/concat3d']; g.node.append(s)
addFlatten(s.name, s.name + '/Flatten', g)
d = NodeDef(); d.name = 'detection_out'; d.op = 'DetectionOutput'
d.input = ['BoxEncodingPredictor/concat', s.name + '/Flatten', 'PriorBox/concat']
d.addAttr('num_classes', ncls+1); d.addAttr('share_location', True); d.addAttr('background_label_id', 0)
d.addAttr('nms_threshold', 0.6); d.addAttr('confidence_threshold', 0.01); d.addAttr('top_k', 100); d.addAttr('keep_top_k', 100)
d.addAttr('code_type', 'CENTER_SIZE')
g.node.append(d)
while True:
    used = set(i for n in g.node for i in n.input)
    unc = [n.name for n in g.node if n.name not in used and n.name != 'detection_out']
    if not unc: break
    g.node = [n for n in g.node if n.name not in unc]
g.save(out)
print('wrote', out, len(g.node), 'nodes')
