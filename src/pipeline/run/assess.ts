import {isAbsolute, join} from 'node:path'
import type {Cache, KeyRecord} from '../state/cache.js'
import type {Graph, Instance} from '../graph/graph.js'
import {CodeClosures, nodeScriptOf, type CodeKey} from '../state/code-closure.js'
import {contentAt, Hasher, sha256} from '../state/hash.js'

/** Why an instance is stale, as data: what kind of change, where (a path, a parameter key or an instance id), old → new. */
export interface Reason {
  kind:
    | 'never run'
    | 'upstream stale'
    | 'upstream changed'
    | 'dep missing'
    | 'dep changed'
    | 'code changed'
    | 'package changed'
    | 'node changed'
    | 'cmd changed'
    | 'param changed'
    | 'out missing'
    | 'out changed'
    | 'out not cached'
    | 'objects missing'
    | 'outs changed'
  /** A file or folder: a dep, a module of the command's code, an out. */
  path?: string
  /** A parameter key, a package name or an instance id. */
  key?: string
  old?: unknown
  new?: unknown
}

const SHOWS_VALUES = new Set<Reason['kind']>(['param changed', 'package changed', 'node changed'])

const REASON_TEXT: Partial<Record<Reason['kind'], string>> = {
  'objects missing': 'cache/objects lacks files of the cached outs: must rerun',
  'out not cached': 'not cached (cache: false), so not restorable, must rerun',
}

/** The one-line text of a reason, e.g. `param changed: train.epochs 40 → 5` or `code changed: dist/x.js`. */
export function formatReason(reason: Reason): string {
  const text = REASON_TEXT[reason.kind] ?? reason.kind
  const where = reason.path ?? reason.key
  const detail = [where, SHOWS_VALUES.has(reason.kind) ? `${compact(reason.old)} → ${compact(reason.new)}` : undefined].filter((part) => part !== undefined).join(' ')
  return detail === '' ? text : `${text}: ${detail}`
}

/** Reasons as one line; consecutive ones of a kind that shows no values share it: `code changed: a.js, b.js`. */
export function formatReasons(reasons: readonly Reason[]): string {
  const parts: string[] = []
  for (const [index, reason] of reasons.entries()) {
    const where = reason.path ?? reason.key
    const previous = reasons[index - 1]
    if (previous?.kind === reason.kind && !SHOWS_VALUES.has(reason.kind) && where !== undefined && (previous.path ?? previous.key) !== undefined) parts[parts.length - 1] += `, ${where}`
    else parts.push(formatReason(reason))
  }
  return parts.join('; ')
}

/** Where an instance stands against the cache, and why. */
export interface Assessment {
  instance: Instance
  state: 'up to date' | 'stale'
  reasons: Reason[]
  /** Known when every input is: absent when a dep is missing or an upstream instance must run first. */
  key?: string
  /** The cached result for `key`, when its outs can be restored from objects/ without running. */
  record?: KeyRecord
  /** Deps that neither exist nor are produced by an upstream instance: the instance cannot run. */
  missingDeps: string[]
  depHashes: Record<string, string>
  /** The code a `node <script>` command runs; absent for other commands. */
  code?: CodeKey
  upstreamKeys: Record<string, string>
  /** Outs of the cached result that are missing or differ on disk. */
  damagedOuts: string[]
}

/** JSON with object keys sorted, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  )
}

export function instanceKey(instance: Instance, depHashes: Record<string, string>, upstreamKeys: Record<string, string>, code?: CodeKey): string {
  return sha256(canonicalJson({argv: instance.argv, deps: depHashes, code, params: instance.params, upstream: upstreamKeys, outs: instance.outs}))
}

function compact(value: unknown): string {
  return value === undefined ? '(none)' : canonicalJson(value)
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** A `param changed` reason for each leaf that differs, so a listed subtree names the one value that changed. */
export function paramChanges(key: string, before: unknown, after: unknown): Reason[] {
  if (isMapping(before) && isMapping(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].flatMap((name) => paramChanges(`${key}.${name}`, before[name], after[name]))
  }
  return compact(before) === compact(after) ? [] : [{kind: 'param changed', key, old: before, new: after}]
}

/** What differs between the code of the last run and now: modules by path, packages by name, the Node major. */
export function codeChanges(before: CodeKey | undefined, after: CodeKey | undefined): Reason[] {
  const reasons: Reason[] = []
  const beforeModules = before?.modules ?? {}
  const afterModules = after?.modules ?? {}
  for (const path of new Set([...Object.keys(beforeModules), ...Object.keys(afterModules)])) {
    if (beforeModules[path] !== afterModules[path]) reasons.push({kind: 'code changed', path})
  }
  const beforePackages = before?.packages ?? {}
  const afterPackages = after?.packages ?? {}
  for (const name of new Set([...Object.keys(beforePackages), ...Object.keys(afterPackages)])) {
    if (beforePackages[name] !== afterPackages[name]) reasons.push({kind: 'package changed', key: name, old: beforePackages[name], new: afterPackages[name]})
  }
  if (before?.node !== after?.node) reasons.push({kind: 'node changed', old: before?.node, new: after?.node})
  return reasons
}

/** Decides, instance by instance in graph order, what is up to date, what is stale and why. */
export class Assessor {
  private readonly snapshot: CodeClosures | undefined

  /**
   * With `codeSnapshot`, each script's code closure is derived once and reused for every instance (a status is one
   * moment); without it, every assessment derives it afresh (from the memo), so code edited during a long run is seen
   * by the instances assessed after the edit.
   */
  constructor(
    private readonly root: string,
    private readonly cache: Cache,
    private readonly hasher: Hasher,
    {codeSnapshot = false} = {},
  ) {
    this.snapshot = codeSnapshot ? new CodeClosures(root, cache.memo, hasher) : undefined
  }

  absolute(path: string): string {
    return isAbsolute(path) ? path : join(this.root, path)
  }

  /**
   * `upstream` holds the assessments of the instance's upstream instances (after they ran, when called by a run).
   * Deps produced upstream are taken from the upstream record rather than disk, so they are known before restoring.
   */
  async assess(instance: Instance, upstream: ReadonlyMap<string, Assessment>): Promise<Assessment> {
    const result: Assessment = {instance, state: 'stale', reasons: [], missingDeps: [], depHashes: {}, upstreamKeys: {}, damagedOuts: []}
    const blocking = instance.upstream.filter((parent) => upstream.get(parent.id)?.record === undefined)
    if (blocking.length > 0) {
      result.reasons = blocking.map((parent): Reason => ({kind: 'upstream stale', key: parent.id}))
      return result
    }
    for (const dep of instance.deps) {
      const producer = instance.producedBy.get(dep)
      let content
      if (producer) {
        const out = upstream.get(producer.instance.id)!.record!.outs.find((candidate) => candidate.path === producer.out)
        content = out && contentAt(out.content, dep === producer.out ? '' : dep.slice(producer.out.length + 1))
      } else {
        content = await this.hasher.hashPath(this.absolute(dep))
      }
      if (content === undefined) result.missingDeps.push(dep)
      else result.depHashes[dep] = content.hash
    }
    // A node script's code is found from its imports: the script and every module it loads, whether listed or not.
    const script = instance.stage.trackCode ? nodeScriptOf(instance.argv) : undefined
    if (script !== undefined) {
      result.code = await (this.snapshot ?? new CodeClosures(this.root, this.cache.memo, this.hasher)).of(script)
      if (result.code === undefined) result.missingDeps.push(script)
    }
    if (result.missingDeps.length > 0) {
      result.reasons = result.missingDeps.map((dep): Reason => ({kind: 'dep missing', path: dep}))
      return result
    }
    const upstreamKeys = Object.fromEntries(instance.upstream.map((parent) => [parent.id, upstream.get(parent.id)!.key!]))
    result.upstreamKeys = upstreamKeys
    result.key = instanceKey(instance, result.depHashes, upstreamKeys, result.code)
    const record = this.cache.keyRecord(result.key)
    if (record === undefined) {
      result.reasons = this.explainNewKey(instance, result.depHashes, upstreamKeys, result.code)
      return result
    }
    for (const out of record.outs) {
      const content = await this.hasher.hashPath(this.absolute(out.path))
      if (content?.hash === out.content.hash) continue
      result.damagedOuts.push(out.path)
      result.reasons.push({kind: content === undefined ? 'out missing' : 'out changed', path: out.path})
    }
    if (result.reasons.length === 0) result.state = 'up to date'
    const lost = record.outs.filter((out) => out.cached === false && result.damagedOuts.includes(out.path))
    if (lost.length > 0) result.reasons.push(...lost.map((out): Reason => ({kind: 'out not cached', path: out.path})))
    else if (result.state === 'up to date' || record.outs.every((out) => out.cached === false || this.cache.hasObjects(out.content))) result.record = record
    else result.reasons.push({kind: 'objects missing'})
    return result
  }

  /** Compares with the instance's last successful run to say what changed. */
  private explainNewKey(instance: Instance, depHashes: Record<string, string>, upstreamKeys: Record<string, string>, code: CodeKey | undefined): Reason[] {
    const last = this.cache.instanceRecord(instance.id)
    if (last === undefined) return [{kind: 'never run'}]
    const reasons: Reason[] = []
    if (canonicalJson(last.argv) !== canonicalJson(instance.argv)) reasons.push({kind: 'cmd changed', old: last.argv, new: instance.argv})
    for (const dep of new Set([...Object.keys(last.deps), ...Object.keys(depHashes)])) {
      if (last.deps[dep] !== depHashes[dep]) reasons.push({kind: 'dep changed', path: dep})
    }
    if (canonicalJson(last.code) !== canonicalJson(code)) reasons.push(...codeChanges(last.code, code))
    for (const key of new Set([...Object.keys(last.params), ...Object.keys(instance.params)])) reasons.push(...paramChanges(key, last.params[key], instance.params[key]))
    for (const id of new Set([...Object.keys(last.upstream), ...Object.keys(upstreamKeys)])) {
      if (last.upstream[id] !== upstreamKeys[id]) reasons.push({kind: 'upstream changed', key: id})
    }
    return reasons.length > 0 ? reasons : [{kind: 'outs changed'}]
  }
}

/** Assesses every instance of the graph in order (what `status` and `run --dry-run` show). */
export async function assessGraph(graph: Graph, cache: Cache): Promise<Map<string, Assessment>> {
  const assessor = new Assessor(graph.pipeline.root, cache, new Hasher(cache.memo), {codeSnapshot: true})
  const assessments = new Map<string, Assessment>()
  for (const instance of graph.instances) assessments.set(instance.id, await assessor.assess(instance, assessments))
  return assessments
}
