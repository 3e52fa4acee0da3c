import {isAbsolute, join} from 'node:path'
import type {Cache, KeyRecord} from '../state/cache.js'
import type {Graph, Instance} from '../graph/graph.js'
import {contentAt, Hasher, sha256} from '../state/hash.js'

/** Where an instance stands against the cache, and why. */
export interface Assessment {
  instance: Instance
  state: 'up to date' | 'stale'
  reasons: string[]
  /** Known when every input is: absent when a dep is missing or an upstream instance must run first. */
  key?: string
  /** The cached result for `key`, when its outs can be restored from objects/ without running. */
  record?: KeyRecord
  /** Deps that neither exist nor are produced by an upstream instance: the instance cannot run. */
  missingDeps: string[]
  depHashes: Record<string, string>
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

export function instanceKey(instance: Instance, depHashes: Record<string, string>, upstreamKeys: Record<string, string>): string {
  return sha256(canonicalJson({argv: instance.argv, deps: depHashes, params: instance.params, upstream: upstreamKeys, outs: instance.outs}))
}

function compact(value: unknown): string {
  return value === undefined ? '(none)' : canonicalJson(value)
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** `key old → new` for each leaf that differs, so a listed subtree names the one value that changed. */
export function paramChanges(key: string, before: unknown, after: unknown): string[] {
  if (isMapping(before) && isMapping(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].flatMap((name) => paramChanges(`${key}.${name}`, before[name], after[name]))
  }
  return compact(before) === compact(after) ? [] : [`${key} ${compact(before)} → ${compact(after)}`]
}

/** Decides, instance by instance in graph order, what is up to date, what is stale and why. */
export class Assessor {
  constructor(
    private readonly root: string,
    private readonly cache: Cache,
    private readonly hasher: Hasher,
  ) {}

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
      result.reasons = [`upstream stale: ${blocking.map((parent) => parent.id).join(', ')}`]
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
    if (result.missingDeps.length > 0) {
      result.reasons = result.missingDeps.map((dep) => `dep missing: ${dep}`)
      return result
    }
    const upstreamKeys = Object.fromEntries(instance.upstream.map((parent) => [parent.id, upstream.get(parent.id)!.key!]))
    result.upstreamKeys = upstreamKeys
    result.key = instanceKey(instance, result.depHashes, upstreamKeys)
    const record = this.cache.keyRecord(result.key)
    if (record === undefined) {
      result.reasons = this.explainNewKey(instance, result.depHashes, upstreamKeys)
      return result
    }
    for (const out of record.outs) {
      const content = await this.hasher.hashPath(this.absolute(out.path))
      if (content?.hash === out.content.hash) continue
      result.damagedOuts.push(out.path)
      result.reasons.push(`${content === undefined ? 'out missing' : 'out changed'}: ${out.path}`)
    }
    if (result.reasons.length === 0) result.state = 'up to date'
    const lost = record.outs.filter((out) => out.cached === false && result.damagedOuts.includes(out.path))
    if (lost.length > 0) result.reasons.push(`not cached (cache: false), so not restorable: ${lost.map((out) => out.path).join(', ')}: must rerun`)
    else if (result.state === 'up to date' || record.outs.every((out) => out.cached === false || this.cache.hasObjects(out.content))) result.record = record
    else result.reasons.push('cache/objects lacks files of the cached outs: must rerun')
    return result
  }

  /** Compares with the instance's last successful run to say what changed. */
  private explainNewKey(instance: Instance, depHashes: Record<string, string>, upstreamKeys: Record<string, string>): string[] {
    const last = this.cache.instanceRecord(instance.id)
    if (last === undefined) return ['never run']
    const reasons: string[] = []
    if (canonicalJson(last.argv) !== canonicalJson(instance.argv)) reasons.push('cmd changed')
    for (const dep of new Set([...Object.keys(last.deps), ...Object.keys(depHashes)])) {
      if (last.deps[dep] !== depHashes[dep]) reasons.push(`dep changed: ${dep}`)
    }
    for (const key of new Set([...Object.keys(last.params), ...Object.keys(instance.params)])) {
      for (const change of paramChanges(key, last.params[key], instance.params[key])) reasons.push(`param changed: ${change}`)
    }
    for (const id of new Set([...Object.keys(last.upstream), ...Object.keys(upstreamKeys)])) {
      if (last.upstream[id] !== upstreamKeys[id]) reasons.push(`upstream changed: ${id}`)
    }
    return reasons.length > 0 ? reasons : ['outs changed']
  }
}

/** Assesses every instance of the graph in order (what `status` and `run --dry-run` show). */
export async function assessGraph(graph: Graph, cache: Cache): Promise<Map<string, Assessment>> {
  const assessor = new Assessor(graph.pipeline.root, cache, new Hasher(cache.memo))
  const assessments = new Map<string, Assessment>()
  for (const instance of graph.instances) assessments.set(instance.id, await assessor.assess(instance, assessments))
  return assessments
}
