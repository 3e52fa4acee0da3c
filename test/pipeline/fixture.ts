import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {nodeEval} from './cli.js'

// prep -> feat -> report per dataset (feat fails for ds=bad). Every command appends its name to runs.log (neither an
// out nor a dep), so a test sees exactly what ran.
const prep = nodeEval(
  "const[d,s]=process.argv.slice(1),fs=require('fs');fs.appendFileSync('runs.log','prep-'+d+'\\n');fs.writeFileSync('work/'+d+'/prep.txt',fs.readFileSync('raw/'+d+'.txt','utf8')+'*'+s)",
  '${ds}',
  '${p.scale}',
)
const feat = nodeEval(
  "const[d,c]=process.argv.slice(1),fs=require('fs'),n=JSON.parse(c).n;fs.appendFileSync('runs.log','feat-'+d+'\\n');if(d==='bad'){console.error('boom:'+d);process.exit(3)}fs.mkdirSync('work/'+d+'/feat',{recursive:true});fs.writeFileSync('work/'+d+'/feat/x.txt',fs.readFileSync('work/'+d+'/prep.txt','utf8').repeat(n))",
  '${ds}',
  '${f}',
)
const report = nodeEval(
  "const[d]=process.argv.slice(1),fs=require('fs');fs.appendFileSync('runs.log','report-'+d+'\\n');fs.writeFileSync('report-'+d+'.txt',fs.readFileSync('work/'+d+'/feat/x.txt','utf8').toUpperCase())",
  '${ds}',
)

export const pipeline = `version: 1
params: params.yaml
matrix:
  ds: [a, b]
stages:
  prep:
    cmd: ${prep}
    deps: ["raw/\${ds}.txt"]
    params: [p.scale]
    outs: ["work/\${ds}/prep.txt"]
  feat:
    cmd: ${feat}
    deps: ["work/\${ds}/prep.txt"]
    params: [f]
    outs: ["work/\${ds}/feat"]
  report:
    cmd: ${report}
    deps: ["work/\${ds}/feat/x.txt"]
    outs: ["report-\${ds}.txt"]
`

export function projectFiles(): Record<string, string> {
  return {'pipeline.yaml': pipeline, 'params.yaml': 'p: {scale: 1}\nf: {n: 2}\n', 'raw/a.txt': 'A', 'raw/b.txt': 'B', 'raw/bad.txt': 'X'}
}

/** What ran since the last call, sorted. */
export function ranSince(dir: string): () => string[] {
  let seen = 0
  return () => {
    const lines = existsSync(join(dir, 'runs.log')) ? readFileSync(join(dir, 'runs.log'), 'utf8').trim().split('\n').filter(Boolean) : []
    const fresh = lines.slice(seen)
    seen = lines.length
    return fresh.sort()
  }
}
