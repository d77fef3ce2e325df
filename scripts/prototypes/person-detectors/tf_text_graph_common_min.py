# Minimal text-graph helpers after OpenCV's samples/dnn/tf_text_graph_common.py (Apache-2.0), for the prototype only.
def tokenize(s):
    tokens=[]; token=""; isString=False; isComment=False
    for c in s:
        isComment = (isComment and c != '\n') or (not isString and c == '#')
        if isComment: continue
        if c in ' \t\r\'\n:";,':
            if c in '"\'' and isString:
                tokens.append(token); token=""
            else:
                if isString: token += c
                elif token: tokens.append(token); token=""
            isString = (c in '"\'') ^ isString
        elif c in '{}[]':
            if token: tokens.append(token); token=""
            tokens.append(c)
        else: token += c
    if token: tokens.append(token)
    return tokens
def parseMessage(tokens, idx):
    msg={}; assert tokens[idx]=='{'; isArray=False
    while True:
        if not isArray:
            idx+=1
            if idx<len(tokens): fieldName=tokens[idx]
            else: return None
            if fieldName=='}': break
        idx+=1; v=tokens[idx]
        if v=='{':
            e,idx=parseMessage(tokens,idx); msg.setdefault(fieldName,[]).append(e)
        elif v=='[': isArray=True
        elif v==']': isArray=False
        else: msg.setdefault(fieldName,[]).append(v)
    return msg, idx
def readTextMessage(p):
    m=parseMessage(tokenize('{'+open(p).read()+'}'),0); return m[0] if m else {}
def listToTensor(values):
    if all(isinstance(v,float) for v in values): dt,f='DT_FLOAT','float_val'
    elif all(isinstance(v,int) for v in values): dt,f='DT_INT32','int_val'
    else: raise Exception('types')
    return {'tensor':{'dtype':dt,'tensor_shape':{'dim':{'size':len(values)}}, f:values}}
class NodeDef:
    def __init__(self): self.input=[]; self.name=""; self.op=""; self.attr={}
    def addAttr(self,k,v):
        assert k not in self.attr
        if isinstance(v,bool): self.attr[k]={'b':v}
        elif isinstance(v,int): self.attr[k]={'i':v}
        elif isinstance(v,float): self.attr[k]={'f':v}
        elif isinstance(v,str): self.attr[k]={'s':v}
        elif isinstance(v,list): self.attr[k]=listToTensor(v)
        else: raise Exception(k)
class GraphDef:
    def __init__(self): self.node=[]
    def save(self,path):
        with open(path,'wt') as f:
            def pa(d,ind):
                ind=' '*ind
                for k,val in sorted(d.items(),key=lambda x:x[0].lower()):
                    for v in (val if isinstance(val,list) else [val]):
                        if isinstance(v,dict):
                            f.write(ind+k+' {\n'); pa(v,len(ind)+2); f.write(ind+'}\n')
                        else:
                            isS=False
                            if isinstance(v,str) and not v.startswith('DT_'):
                                try: float(v)
                                except: isS=True
                            if isinstance(v,bool): pr='true' if v else 'false'
                            elif v in ('true','false'): pr=v
                            elif isS: pr='"%s"'%v
                            else: pr=str(v)
                            f.write(ind+k+': '+pr+'\n')
            for n in self.node:
                f.write('node {\n  name: "%s"\n  op: "%s"\n'%(n.name,n.op))
                for i in n.input: f.write('  input: "%s"\n'%i)
                for k,v in sorted(n.attr.items(),key=lambda x:x[0].lower()):
                    f.write('  attr {\n    key: "%s"\n    value {\n'%k); pa(v,6); f.write('    }\n  }\n')
                f.write('}\n')
def parseTextGraph(p):
    msg=readTextMessage(p); g=GraphDef()
    for node in msg['node']:
        n=NodeDef(); n.name=node['name'][0]; n.op=node['op'][0]; n.input=node.get('input',[])
        for a in node.get('attr',[]): n.attr[a['key'][0]]=a['value'][0]
        g.node.append(n)
    return g
def removeIdentity(g):
    ids={n.name:n.input[0] for n in g.node if n.op in ('Identity','IdentityN')}
    g.node=[n for n in g.node if n.op not in ('Identity','IdentityN')]
    def res(x):
        while x in ids: x=ids[x]
        return x
    for n in g.node: n.input=[res(i) for i in n.input]
def removeUnusedNodesAndAttrs(to_remove,g):
    unused=['T','Tshape','N','Tidx','Tdim','use_cudnn_on_gpu','Index','Tperm','is_training','Tpaddings']
    removed=set(); keep=[]
    for n in g.node:
        if to_remove(n.name,n.op):
            if n.op!='Const': removed.add(n.name)
        else:
            for a in unused: n.attr.pop(a,None)
            keep.append(n)
    g.node=keep
    for n in g.node: n.input=[i for i in n.input if i not in removed]
def addConstNode(name,values,g):
    n=NodeDef(); n.name=name; n.op='Const'; n.addAttr('value',values); g.node.append(n)
def addReshape(inp,out,shape,g):
    s=NodeDef(); s.name=out+'/shape'; s.op='Const'; s.addAttr('value',shape); g.node.append(s)
    r=NodeDef(); r.name=out; r.op='Reshape'; r.input=[inp,s.name]; g.node.append(r)
def addFlatten(inp,out,g):
    f=NodeDef(); f.name=out; f.op='Flatten'; f.input=[inp]; g.node.append(f)
