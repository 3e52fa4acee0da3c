// Stand-ins for train and evaluate, in the default pipeline's layout: train writes a 3-epoch log.jsonl whose scores
// follow from the learning rate and the cell, evaluate copies the last epoch's scores into metrics.json and writes a
// per-recording picture (a 2 × 1 PNG).
const fakeTrain = `const [cell, lr, ov] = process.argv.slice(2), fs = require('fs')
fs.mkdirSync(cell + '/model', {recursive: true})
const lines = [1, 2, 3].map((epoch) => JSON.stringify({epoch, backend: 'cpu', loss: 1 / (epoch * lr * 10), sedLoss: 0, doaLoss: 0, er: 0.5, f1: Math.min(1, epoch * lr), doaErrorDegrees: 40 / epoch + Number(ov), frameRecall: 0.8, seldScore: 1 / (epoch + lr * 10 + Number(ov)), seconds: 1}))
console.log('::progress epoch 3/3')
fs.writeFileSync(cell + '/model/log.jsonl', lines.join('\\n') + '\\n')
`
const fakeEvaluate = `const [cell] = process.argv.slice(2), fs = require('fs')
const log = fs.readFileSync(cell + '/model/log.jsonl', 'utf8').trim().split('\\n').map((line) => JSON.parse(line))
const last = log[log.length - 1]
fs.mkdirSync(cell + '/eval', {recursive: true})
fs.writeFileSync(cell + '/eval/metrics.json', JSON.stringify({seld2018: {er: last.er, f1: last.f1, doaErrorGtDegrees: last.doaErrorDegrees, frameRecall: last.frameRecall, seldScore: last.seldScore}}))
fs.writeFileSync(cell + '/eval/test_000.png', Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAYAAAD0In+KAAAAEUlEQVR4nGP4z8DwHwSBNAMAOQYH+c9QsO4AAAAASUVORK5CYII=', 'base64'))
`
const CELL = 'work/${dataset}/ov${ov}_split${split}'
const pipeline = `version: 1
params: params.yaml
matrix: {dataset: [synth-x], ov: [1], split: [1, 2]}
stages:
  train:
    cmd: node fake-train.js ${CELL} \${t.lr} \${ov}
    deps: [fake-train.js]
    params: [t]
    outs: ["${CELL}/model"]
  evaluate:
    cmd: node fake-evaluate.js ${CELL}
    deps: [fake-evaluate.js, "${CELL}/model"]
    outs: ["${CELL}/eval"]
`
export const projectFiles = {'pipeline.yaml': pipeline, 'params.yaml': 't: {lr: 0.1, seed: 1}\n', 'fake-train.js': fakeTrain, 'fake-evaluate.js': fakeEvaluate}

