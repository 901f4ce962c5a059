import ort from 'onnxruntime-node';
const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
const s = await ort.InferenceSession.create('models/demo/decoder/unet.onnx', opts);
const vae = await ort.InferenceSession.create('models/demo/decoder/vae_decoder.onnx', opts);
function rnd(n, seed) { let x = seed; const a = new Float32Array(n); for (let i=0;i<n;i++){ x = (x*1103515245+12345)>>>0; a[i]=(x/4294967296-0.5)*2;} return a; }
const L = 4*16*16, H = 77*128, C = 256;
const rows = 16;
const sample = rnd(rows*L, 1), hid = rnd(rows*H, 2), cls = rnd(rows*C, 3), ts = Float32Array.from({length: rows}, (_, i) => 50 + i*57);
async function run(b, off=0) {
  return (await s.run({ sample: new ort.Tensor('float32', sample.slice(off*L,(off+b)*L), [b,4,16,16]), timestep: new ort.Tensor('float32', ts.slice(off,off+b), [b]), encoder_hidden_states: new ort.Tensor('float32', hid.slice(off*H,(off+b)*H), [b,77,128]), class_labels: new ort.Tensor('float32', cls.slice(off*C,(off+b)*C), [b,256]) })).out_sample.data;
}
const ones = []; for (let i=0;i<rows;i++) ones.push(await run(1,i));
for (const b of [1,2,3,4,6,8,12,16]) {
  const out = await run(b);
  let maxd = 0; for (let r=0;r<b;r++) for (let j=0;j<L;j++) maxd = Math.max(maxd, Math.abs(out[r*L+j]-ones[r][j]));
  const times=[]; for (let k=0;k<15;k++){ const t0=performance.now(); await run(b); times.push(performance.now()-t0);} times.sort((a,b)=>a-b);
  console.log('unet b', b, 'median ms', times[7].toFixed(3), 'per row', (times[7]/b).toFixed(3), 'maxdiff vs b1', maxd);
}
for (const b of [1,2,4,8]) {
  const lat = rnd(b*L, 9);
  const one = []; for (let r=0;r<b;r++) one.push((await vae.run({latent: new ort.Tensor('float32', lat.slice(r*L,(r+1)*L), [1,4,16,16])})).image.data);
  const out = (await vae.run({latent: new ort.Tensor('float32', lat, [b,4,16,16])})).image.data;
  let maxd = 0; const P=3*64*64; for (let r=0;r<b;r++) for (let j=0;j<P;j++) maxd=Math.max(maxd, Math.abs(out[r*P+j]-one[r][j]));
  const times=[]; for (let k=0;k<9;k++){ const t0=performance.now(); await vae.run({latent: new ort.Tensor('float32', lat, [b,4,16,16])}); times.push(performance.now()-t0);} times.sort((a,b)=>a-b);
  console.log('vae b', b, 'median', times[4].toFixed(3), 'per row', (times[4]/b).toFixed(3), 'maxdiff', maxd);
}
