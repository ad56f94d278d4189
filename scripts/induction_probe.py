#!/usr/bin/env python3
# How fast in-context copying forms: a llama-shaped model (RMSNorm, RoPE, SwiGLU, tied
# byte embeddings) trained from scratch on lines "s|s" packed into sequences; prints the
# loss on the copied half ("copy") and on the random half ("src") every 100 steps.
#   --distinct 1: s has no symbol twice (the form of drill.echo)
#   python3 scripts/induction_probe.py --steps 1000 --distinct 1
import torch, math, random, sys, time, argparse
ap=argparse.ArgumentParser()
ap.add_argument('--layers',type=int,default=2); ap.add_argument('--d',type=int,default=192)
ap.add_argument('--heads',type=int,default=4); ap.add_argument('--lr',type=float,default=3e-3)
ap.add_argument('--steps',type=int,default=1000); ap.add_argument('--batch',type=int,default=16)
ap.add_argument('--seq',type=int,default=128); ap.add_argument('--minlen',type=int,default=4)
ap.add_argument('--maxlen',type=int,default=16); ap.add_argument('--init',type=float,default=0.06)
ap.add_argument('--wd',type=float,default=0.0); ap.add_argument('--distinct',type=int,default=0)
ap.add_argument('--vocab',type=int,default=26); ap.add_argument('--seed',type=int,default=1)
ap.add_argument('--warm',type=int,default=50); ap.add_argument('--ff',type=int,default=512)
a=ap.parse_args()
torch.manual_seed(a.seed); random.seed(a.seed); torch.set_num_threads(1)
V=259
def line(rng):
    n=rng.randint(a.minlen,a.maxlen)
    letters=[chr(97+i) for i in range(a.vocab)]
    s=''.join(rng.sample(letters,n) if a.distinct else [rng.choice(letters) for _ in range(n)])
    return s+'|'+s+'\n', len(s)+1
def batch(rng):
    X=[];M=[]
    for b in range(a.batch):
        buf=[];mask=[]
        while len(buf)<a.seq+1:
            t,k=line(rng); bs=list(t.encode())
            buf+=bs; mask+=[0]*k+[1]*(len(bs)-k)
        X.append(buf[:a.seq+1]); M.append(mask[:a.seq+1])
    X=torch.tensor(X); M=torch.tensor(M,dtype=torch.float)
    return X[:,:-1],X[:,1:],M[:,1:]
class RMS(torch.nn.Module):
    def __init__(s,d): super().__init__(); s.w=torch.nn.Parameter(torch.ones(d))
    def forward(s,x): return x*torch.rsqrt(x.pow(2).mean(-1,keepdim=True)+1e-5)*s.w
def rope(x,T,hd):
    inv=1.0/(10000**(torch.arange(0,hd,2).float()/hd)); t=torch.arange(T).float()
    f=torch.outer(t,inv); emb=torch.cat([f,f],-1); c,s=emb.cos(),emb.sin()
    x1,x2=x[...,:hd//2],x[...,hd//2:]; rot=torch.cat([-x2,x1],-1)
    return x*c+rot*s
class Block(torch.nn.Module):
    def __init__(s,d,h,ff):
        super().__init__(); s.h=h; s.hd=d//h
        s.n1=RMS(d); s.n2=RMS(d)
        s.q=torch.nn.Linear(d,d,bias=False); s.k=torch.nn.Linear(d,d,bias=False); s.v=torch.nn.Linear(d,d,bias=False); s.o=torch.nn.Linear(d,d,bias=False)
        s.g=torch.nn.Linear(d,ff,bias=False); s.u=torch.nn.Linear(d,ff,bias=False); s.dn=torch.nn.Linear(ff,d,bias=False)
    def forward(s,x):
        B,T,D=x.shape; y=s.n1(x)
        q=s.q(y).view(B,T,s.h,s.hd).transpose(1,2); k=s.k(y).view(B,T,s.h,s.hd).transpose(1,2); v=s.v(y).view(B,T,s.h,s.hd).transpose(1,2)
        q=rope(q,T,s.hd); k=rope(k,T,s.hd)
        att=(q@k.transpose(-1,-2))/math.sqrt(s.hd)
        att=att.masked_fill(torch.triu(torch.ones(T,T,dtype=torch.bool),1),float('-inf')).softmax(-1)
        x=x+s.o((att@v).transpose(1,2).reshape(B,T,D))
        y=s.n2(x); return x+s.dn(torch.nn.functional.silu(s.g(y))*s.u(y))
class M(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.e=torch.nn.Embedding(V,a.d); s.bl=torch.nn.ModuleList([Block(a.d,a.heads,a.ff) for _ in range(a.layers)]); s.n=RMS(a.d)
        for p in s.parameters():
            if p.dim()==2: torch.nn.init.normal_(p,0,a.init)
    def forward(s,x):
        h=s.e(x)
        for b in s.bl: h=b(h)
        return s.n(h)@s.e.weight.T
m=M(); 
dec=[p for n,p in m.named_parameters() if p.dim()==2]; nod=[p for n,p in m.named_parameters() if p.dim()<2]
opt=torch.optim.AdamW([{'params':dec,'weight_decay':a.wd},{'params':nod,'weight_decay':0}],lr=a.lr,betas=(0.9,0.95))
rng=random.Random(a.seed); t0=time.time()
for st in range(1,a.steps+1):
    lr=a.lr*min(1,st/a.warm)*(0.1+0.9*0.5*(1+math.cos(math.pi*st/a.steps)))
    for g in opt.param_groups: g['lr']=lr
    x,y,mk=batch(rng)
    lo=torch.nn.functional.cross_entropy(m(x).reshape(-1,V),y.reshape(-1),reduction='none').view(y.shape)
    loss=lo.mean(); opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(),1.0); opt.step()
    if st%100==0 or st==a.steps:
        cp=(lo*mk).sum()/mk.sum(); src=(lo*(1-mk)).sum()/(1-mk).sum()
        print(f"step {st} loss {loss.item():.3f} copy {cp.item():.3f} src {src.item():.3f} t {time.time()-t0:.0f}s",flush=True)
