import {isAbsolute, posix, relative, resolve, sep} from 'node:path'
import type {Resources} from '../executors/executor.js'
import {isParamKey, lookupParam, withSweptValues, type Params, type Pipeline, type StageSpec} from '../spec/pipeline-file.js'

/** A stage together with the values of the matrix keys it references. */
export interface Instance {
  /** e.g. `features@dataset=ansim,ov=1,split=1`, or just the stage name when it references no matrix key. */
  id: string
  stage: StageSpec
  /** Matrix values of the instance: its variables, and the swept parameters it reads directly or through its upstream. */
  vars: Record<string, string>
  argv: string[]
  /** Normalised paths, relative to the pipeline root unless absolute. */
  deps: string[]
  outs: string[]
  /** Outs recorded by hash but not stored in cache/objects (`cache: false`). */
  uncachedOuts: string[]
  /** Declared metrics files, inside the outs. */
  metrics: string[]
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

function referencedNames(stage: StageSpec): Set<string> {
  const used = new Set(Object.keys(stage.only))
  for (const text of [stage.cmd, ...stage.deps, ...stage.outs, ...stage.metrics]) {
    for (const match of text.matchAll(REFERENCE)) used.add(match[1].trim())
  }
  return used
}

function referencedMatrixKeys(stage: StageSpec, matrix: Record<string, string[]>): string[] {
  const used = referencedNames(stage)
  return Object.keys(matrix).filter((key) => !isParamKey(key) && used.has(key))
}

/** The swept parameters a stage reads itself: listed in its params (or a section holding them) or named in ${...}. */
function sweptParamsRead(stage: StageSpec, sweptKeys: readonly string[]): string[] {
  const read = [...stage.params, ...referencedNames(stage)]
  const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`)
  return sweptKeys.filter((key) => read.some((name) => overlaps(key, name)))
}

function instantiate(pipeline: Pipeline, stage: StageSpec, vars: Record<string, string>, params: Params): Instance {
  const resolveName = (name: string) => (Object.hasOwn(vars, name) && !isParamKey(name) ? {found: true, value: vars[name]} : lookupParam(params, name))
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
  const metrics = stage.metrics.map((file, index) => {
    const path = normalisePath(fill(file, ['stages', stage.name, 'metrics', index]))
    if (!outs.some((out) => isWithin(path, out))) {
      throw pipeline.error(['stages', stage.name, 'metrics', index], `'${path}' must lie inside one of the stage's outs (so the cache keeps it)`)
    }
    return path
  })
  const suffix = Object.entries(vars).map(([key, value]) => `${key}=${value}`).join(',')
  return {
    id: suffix === '' ? stage.name : `${stage.name}@${suffix}`,
    stage,
    vars,
    argv,
    deps,
    outs,
    uncachedOuts: outs.filter((_, index) => stage.uncachedOuts.includes(stage.outs[index])),
    metrics,
    params: Object.fromEntries(stage.params.map((key) => [key, lookupParam(params, key).value])),
    resources: stage.resources,
    upstream: [],
    downstream: [],
    producedBy: new Map(),
  }
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
  return combos.map((vars) => instantiate(pipeline, stage, vars, pipeline.params))
}

/**
 * The folder that keeps one variant's outs apart: `lr=0.001,rnn_units=64`, each swept key by its last part unless two
 * swept keys share it.
 */
export function variantFolder(values: Record<string, string>, sweptKeys: readonly string[]): string {
  const last = (key: string) => key.slice(key.lastIndexOf('.') + 1)
  const label = (key: string) => (sweptKeys.filter((other) => last(other) === last(key)).length > 1 ? key : last(key))
  return Object.entries(values).map(([key, value]) => `${label(key)}=${value}`).join(',')
}

/** A path moved from one folder to another: `from` itself or anything inside it. */
interface Move {
  from: string
  to: string
}

function moved(path: string, moves: readonly Move[]): string {
  const move = moves.find(({from}) => isWithin(path, from))
  return move === undefined ? path : move.to + path.slice(move.from.length)
}

/** Moves a path inside an argument: the whole argument, or what follows `=` in `--flag=path`. */
function movedArgument(argument: string, moves: readonly Move[]): string {
  const at = argument.indexOf('=')
  if (at > 0 && argument.startsWith('-')) return argument.slice(0, at + 1) + moved(argument.slice(at + 1), moves)
  return moved(argument, moves)
}

/**
 * Expands the instances over the swept parameters: an instance gets one variant per combination of the swept values
 * it reads, itself or through its upstream, with its outs in a variant folder beside their usual place and its deps
 * (and the arguments naming them) following the upstream variant of the same values.
 */
function expandSweeps(pipeline: Pipeline, instances: Instance[]): Instance[] {
  const sweptKeys = Object.keys(pipeline.matrix).filter(isParamKey)
  const sweptBy = new Map<Instance, string[]>()
  const variantsOf = new Map<Instance, {instance: Instance; outMoves: Move[]}[]>()
  const result: Instance[] = []
  for (const base of instances) {
    const read = new Set([...sweptParamsRead(base.stage, sweptKeys), ...base.upstream.flatMap((parent) => sweptBy.get(parent)!)])
    const keys = sweptKeys.filter((key) => read.has(key))
    sweptBy.set(base, keys)
    const variants = cartesian(keys, pipeline.matrix).map((values) => {
      const instance = instantiate(pipeline, base.stage, {...base.vars, ...values}, withSweptValues(pipeline.params, values))
      const folder = variantFolder(values, sweptKeys)
      const outMoves = keys.length === 0 ? [] : instance.outs.map((out) => ({from: out, to: posix.join(posix.dirname(out), folder, posix.basename(out))}))
      const moves = [...outMoves]
      for (const parent of base.upstream) {
        const match = variantsOf.get(parent)!.find((variant) => sweptBy.get(parent)!.every((key) => variant.instance.vars[key] === values[key]))!
        moves.push(...match.outMoves)
      }
      instance.argv = instance.argv.map((argument) => movedArgument(argument, moves))
      instance.deps = instance.deps.map((dep) => moved(dep, moves))
      instance.outs = instance.outs.map((out) => moved(out, outMoves))
      instance.uncachedOuts = instance.uncachedOuts.map((out) => moved(out, outMoves))
      instance.metrics = instance.metrics.map((file) => moved(file, outMoves))
      return {instance, outMoves}
    })
    variantsOf.set(base, variants)
    result.push(...variants.map((variant) => variant.instance))
  }
  return result
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

/** Expands every stage over the matrix (swept parameters included) and links instances whose deps lie in another instance's outs. */
export function buildGraph(pipeline: Pipeline): Graph {
  const instances = pipeline.stages.flatMap((stage) => expandStage(pipeline, stage))
  connect(pipeline, instances)
  const ordered = topologicalOrder(pipeline, instances)
  if (!Object.keys(pipeline.matrix).some(isParamKey)) return {pipeline, instances: ordered}
  const variants = expandSweeps(pipeline, ordered)
  connect(pipeline, variants)
  return {pipeline, instances: topologicalOrder(pipeline, variants)}
}
