import {isAbsolute, posix, relative, resolve, sep} from 'node:path'
import type {Resources} from '../executors/executor.js'
import {lookupParam, type Pipeline, type StageSpec} from '../spec/pipeline-file.js'

/** A stage together with the values of the matrix keys it references. */
export interface Instance {
  /** e.g. `features@dataset=ansim,ov=1,split=1`, or just the stage name when it references no matrix key. */
  id: string
  stage: StageSpec
  vars: Record<string, string>
  argv: string[]
  /** Normalised paths, relative to the pipeline root unless absolute. */
  deps: string[]
  outs: string[]
  /** Outs recorded by hash but not stored in cache/objects (`cache: false`). */
  uncachedOuts: string[]
  /** Listed param key → its value. */
  params: Record<string, unknown>
  resources?: Resources
  upstream: Instance[]
  downstream: Instance[]
  /** Deps inside (or equal to) an upstream out: which instance and out produce them. */
  producedBy: Map<string, {instance: Instance; out: string}>
}

export interface Graph {
  pipeline: Pipeline
  /** Every instance, upstream before downstream. */
  instances: Instance[]
}

const REFERENCE = /\$\{([^}]*)\}/g

/** Replaces each `${name}` using `resolveName`; mappings and lists become compact JSON. */
export function interpolate(template: string, resolveName: (name: string) => {found: boolean; value?: unknown}, onUnknown: (name: string) => never): string {
  return template.replace(REFERENCE, (_, name: string) => {
    const {found, value} = resolveName(name.trim())
    if (!found) onUnknown(name.trim())
    return value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value)
  })
}

/** `*` matches any run of characters; everything else is literal. */
export function globMatches(pattern: string, value: string): boolean {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')
  return new RegExp(`^${source}$`).test(value)
}

export function cartesian(keys: readonly string[], matrix: Record<string, string[]>): Record<string, string>[] {
  let combos: Record<string, string>[] = [{}]
  for (const key of keys) combos = combos.flatMap((combo) => matrix[key].map((value) => ({...combo, [key]: value})))
  return combos
}

export function normalisePath(path: string): string {
  const normal = posix.normalize(path.replaceAll('\\', '/'))
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal
}

/** True when `inner` is `outer` itself or lies inside it. */
export function isWithin(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`)
}

function referencedMatrixKeys(stage: StageSpec, matrix: Record<string, string[]>): string[] {
  const used = new Set(Object.keys(stage.only))
  for (const text of [stage.cmd, ...stage.deps, ...stage.outs]) {
    for (const match of text.matchAll(REFERENCE)) used.add(match[1].trim())
  }
  return Object.keys(matrix).filter((key) => used.has(key))
}

/** What no out may cover or lie in: the cache, the parameters, the pipeline file itself and the installed packages. */
function protectedPaths(pipeline: Pipeline): string[] {
  const files = [pipeline.file, ...pipeline.paramFiles.map((file) => resolve(pipeline.root, file))].map((file) => relative(pipeline.root, file).split(sep).join('/'))
  return [...new Set(['cache', 'params', 'node_modules', ...files.filter((file) => file !== '' && !file.startsWith('../') && !isAbsolute(file))])]
}

function expandStage(pipeline: Pipeline, stage: StageSpec): Instance[] {
  const keys = referencedMatrixKeys(stage, pipeline.matrix)
  const combos = cartesian(keys, pipeline.matrix).filter((vars) =>
    Object.entries(stage.only).every(([key, patterns]) => patterns.some((pattern) => globMatches(pattern, vars[key]))),
  )
  return combos.map((vars): Instance => {
    const resolveName = (name: string) => (Object.hasOwn(vars, name) ? {found: true, value: vars[name]} : lookupParam(pipeline.params, name))
    const fill = (template: string, keyPath: (string | number)[]) =>
      interpolate(template, resolveName, (name) => {
        throw pipeline.error(keyPath, `unknown name \${${name}}: not a matrix key (${Object.keys(pipeline.matrix).join(', ') || 'none'}) nor a parameter`)
      })
    // Split before interpolating, so an interpolated value (JSON with spaces included) stays one argument.
    const argv = stage.cmd.trim().split(/\s+/).map((word) => fill(word, ['stages', stage.name, 'cmd']))
    const deps = stage.deps.map((dep, index) => normalisePath(fill(dep, ['stages', stage.name, 'deps', index])))
    const outs = stage.outs.map((out, index) => {
      const path = normalisePath(fill(out, ['stages', stage.name, 'outs', index]))
      if (isAbsolute(path) || path === '.' || path === '..' || path.startsWith('../')) {
        throw pipeline.error(['stages', stage.name, 'outs', index], `'${path}' must be a path inside the pipeline folder (outs are deleted before each run)`)
      }
      const guarded = protectedPaths(pipeline).find((kept) => isWithin(path, kept) || isWithin(kept, path))
      if (guarded !== undefined) {
        throw pipeline.error(['stages', stage.name, 'outs', index], `'${path}' overlaps ${guarded}, which seldpipe needs (outs are deleted before each run)`)
      }
      return path
    })
    const suffix = keys.map((key) => `${key}=${vars[key]}`).join(',')
    return {
      id: suffix === '' ? stage.name : `${stage.name}@${suffix}`,
      stage,
      vars,
      argv,
      deps,
      outs,
      uncachedOuts: outs.filter((_, index) => stage.uncachedOuts.includes(stage.outs[index])),
      params: Object.fromEntries(stage.params.map((key) => [key, lookupParam(pipeline.params, key).value])),
      resources: stage.resources,
      upstream: [],
      downstream: [],
      producedBy: new Map(),
    }
  })
}

function connect(pipeline: Pipeline, instances: Instance[]): void {
  const owners = new Map<string, Instance>()
  for (const instance of instances) {
    for (const [index, out] of instance.outs.entries()) {
      for (const [other, owner] of owners) {
        if (isWithin(out, other) || isWithin(other, out)) {
          const overlap = other === out ? `is also an out of ${owner.id}` : `overlaps out '${other}' of ${owner.id}`
          throw pipeline.error(['stages', instance.stage.name, 'outs', index], `out '${out}' of ${instance.id} ${overlap}`)
        }
      }
      owners.set(out, instance)
    }
  }
  for (const instance of instances) {
    const upstream = new Set<Instance>()
    for (const dep of instance.deps) {
      for (const [out, owner] of owners) {
        if (isWithin(dep, out)) {
          instance.producedBy.set(dep, {instance: owner, out})
          upstream.add(owner)
        } else if (isWithin(out, dep)) {
          upstream.add(owner)
        }
      }
    }
    instance.upstream = [...upstream]
    for (const owner of upstream) owner.downstream.push(instance)
  }
}

function topologicalOrder(pipeline: Pipeline, instances: Instance[]): Instance[] {
  const waiting = new Map(instances.map((instance) => [instance, instance.upstream.length]))
  const order: Instance[] = []
  const ready = instances.filter((instance) => instance.upstream.length === 0)
  while (ready.length > 0) {
    const next = ready.shift()!
    order.push(next)
    for (const child of next.downstream) {
      const left = waiting.get(child)! - 1
      waiting.set(child, left)
      if (left === 0) ready.push(child)
    }
  }
  if (order.length < instances.length) {
    // Walk upstream from any instance left over until one repeats: that loop is the cycle.
    const placed = new Set(order)
    const path: Instance[] = []
    let current = instances.find((instance) => !placed.has(instance))!
    while (!path.includes(current)) {
      path.push(current)
      current = current.upstream.find((parent) => !placed.has(parent))!
    }
    const cycle = [...path.slice(path.indexOf(current)), current].reverse()
    throw pipeline.error(['stages', cycle[0].stage.name], `dependency cycle: ${cycle.map((instance) => instance.id).join(' -> ')}`)
  }
  return order
}

/** Expands every stage over the matrix and links instances whose deps lie in another instance's outs. */
export function buildGraph(pipeline: Pipeline): Graph {
  const instances = pipeline.stages.flatMap((stage) => expandStage(pipeline, stage))
  connect(pipeline, instances)
  return {pipeline, instances: topologicalOrder(pipeline, instances)}
}
