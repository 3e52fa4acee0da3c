import {nodeEval} from '../pipeline/cli.js'

// prep -> train -> evaluate as in the SELD pipeline. train copies a fixed tiny SELDnet (so predict can load it) and
// notes its learning rate; evaluate writes a metrics.json whose scores follow the learning rate.
const prep = nodeEval(
  "const[o,n]=process.argv.slice(1),fs=require('fs');fs.appendFileSync('runs.log','prep\\n');fs.writeFileSync(o,'nfft='+n)",
  'work/${dataset}/ov${ov}_split${split}/features.txt', '${features.nfft}',
)
const train = nodeEval(
  "const[f,o,c]=process.argv.slice(1),fs=require('fs'),lr=JSON.parse(c).lr;fs.appendFileSync('runs.log','train-'+lr+'\\n');fs.cpSync('fixture-model',o,{recursive:true});fs.writeFileSync(o+'/lr.txt',String(lr)+fs.readFileSync(f,'utf8'))",
  'work/${dataset}/ov${ov}_split${split}/features.txt', 'work/${dataset}/ov${ov}_split${split}/model', '${train}',
)
const evaluate = nodeEval(
  "const[m,o]=process.argv.slice(1),fs=require('fs'),lr=parseFloat(fs.readFileSync(m+'/lr.txt','utf8'));fs.appendFileSync('runs.log','evaluate-'+lr+'\\n');fs.mkdirSync(o,{recursive:true});" +
    "fs.writeFileSync(o+'/metrics.json',fs.existsSync('break-metrics')?'{not':JSON.stringify({dataset:'synth-foa',seld2018:{er:lr*100,f1:1-lr*10,doaErrorGtDegrees:lr*1e4,frameRecall:1-lr,seldScore:lr*50,sourceCountConfusion:[[1]]},joint:{er20:lr,f20:1-lr,leCd:lr*100,lrCd:1-lr,seldScore:lr*10}}))",
  'work/${dataset}/ov${ov}_split${split}/model', 'work/${dataset}/ov${ov}_split${split}/eval',
)

export const experimentPipeline = `version: 1
params: params.yaml
matrix: {dataset: [synth-foa], ov: [1], split: [1]}
stages:
  prep:
    cmd: ${prep}
    params: [features.nfft]
    outs: ["work/\${dataset}/ov\${ov}_split\${split}/features.txt"]
  train:
    cmd: ${train}
    deps: [fixture-model, "work/\${dataset}/ov\${ov}_split\${split}/features.txt"]
    params: [train]
    outs: ["work/\${dataset}/ov\${ov}_split\${split}/model"]
  evaluate:
    cmd: ${evaluate}
    deps: ["work/\${dataset}/ov\${ov}_split\${split}/model"]
    outs: ["work/\${dataset}/ov\${ov}_split\${split}/eval"]
    metrics: ["work/\${dataset}/ov\${ov}_split\${split}/eval/metrics.json"]
`

/** The project files; train copies the model folder `fixture-model`, which the caller provides. */
export function experimentFiles(): Record<string, string> {
  return {'pipeline.yaml': experimentPipeline, 'params.yaml': 'features: {nfft: 64}\ntrain: {lr: 0.001, epochs: 2}\n'}
}
