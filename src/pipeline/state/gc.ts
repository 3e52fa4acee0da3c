import {readdirSync, statSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import type {Cache} from './cache.js'

/** What a gc keeps: cache keys (with the objects of their outs) and instances (with their records and logs). */
export interface References {
  keys: Set<string>
  instances: Set<string>
}

/** A holder of references: the pipeline's current expansion, recorded experiments, ... */
export interface ReferenceSource {
  name: string
  collect(cache: Cache): Promise<{keys: Iterable<string>; instances?: Iterable<string>}>
}

/** Everything the sources reference, together. */
export async function collectReferences(cache: Cache, sources: readonly ReferenceSource[]): Promise<References> {
  const references: References = {keys: new Set(), instances: new Set()}
  for (const source of sources) {
    const {keys, instances = []} = await source.collect(cache)
    for (const key of keys) references.keys.add(key)
    for (const id of instances) references.instances.add(id)
  }
  return references
}

/** The references of an expanded pipeline: each instance, and its key as it stands now (when every input is known). */
export function expansionSource(assessments: Iterable<{instance: {id: string}; key?: string}>): ReferenceSource {
  return {
    name: 'the pipeline',
    collect: async () => {
      const list = [...assessments]
      return {keys: list.flatMap(({key}) => (key === undefined ? [] : [key])), instances: list.map(({instance}) => instance.id)}
    },
  }
}

export interface RemovedFile {
  path: string
  bytes: number
}

/** What a gc deletes. */
export interface GcPlan {
  /** Key records nothing references, with the instance that produced each. */
  keys: {key: string; id: string}[]
  /** Instance records of instances outside the references. */
  instances: string[]
  /** Objects no kept key record holds, and leftovers of interrupted stores. */
  objects: RemovedFile[]
  /** Logs of instances outside the references. */
  logs: RemovedFile[]
  /** Bytes of the files removed (objects and logs). */
  bytes: number
}

/** Decides what a gc removes: every record, object and log that no reference leads to. */
export function planGc(cache: Cache, references: References): GcPlan {
  const keptObjects = new Set<string>()
  const keys: GcPlan['keys'] = []
  for (const [key, record] of cache.keyRecords()) {
    if (!references.keys.has(key)) {
      keys.push({key, id: record.id})
      continue
    }
    for (const out of record.outs) {
      if (out.content.type === 'file') keptObjects.add(out.content.hash)
      else for (const entry of out.content.entries) keptObjects.add(entry.hash)
    }
  }
  const instances = cache.instanceIds().filter((id) => !references.instances.has(id))
  const objects = cache.objectFiles().filter((file) => file.hash === undefined || !keptObjects.has(file.hash))
  const logs: RemovedFile[] = []
  for (const name of listOrEmpty(cache.logsDir)) {
    if (!name.endsWith('.log') || references.instances.has(name.slice(0, -'.log'.length))) continue
    const path = join(cache.logsDir, name)
    logs.push({path, bytes: statSync(path).size})
  }
  const bytes = [...objects, ...logs].reduce((total, file) => total + file.bytes, 0)
  return {keys, instances, objects: objects.map(({path, bytes}) => ({path, bytes})), logs, bytes}
}

/** Deletes what the plan lists: records first, so no record ever names an object already gone. */
export async function applyGc(cache: Cache, plan: GcPlan): Promise<void> {
  await cache.removeRecords(
    plan.keys.map(({key}) => key),
    plan.instances,
  )
  for (const file of [...plan.objects, ...plan.logs]) await rm(file.path, {force: true})
}

function listOrEmpty(folder: string): string[] {
  try {
    return readdirSync(folder)
  } catch {
    return []
  }
}
