import {describe, expect, it} from 'vitest'
import type {Instance} from '../../src/pipeline/graph/graph.js'
import {Scheduler} from '../../src/pipeline/run/scheduler.js'

/** Instances named by id, with edges `parent>child`, in the order given. */
function graph(ids: string[], edges: string[]): Instance[] {
  const byId = new Map(ids.map((id) => [id, {id, upstream: [], downstream: []} as unknown as Instance]))
  for (const edge of edges) {
    const [parent, child] = edge.split('>').map((id) => byId.get(id)!)
    child.upstream.push(parent)
    parent.downstream.push(child)
  }
  return [...byId.values()]
}

function drain(scheduler: Scheduler, fits?: (instance: Instance) => boolean): string[] {
  const taken: string[] = []
  for (let instance = scheduler.take(fits); instance; instance = scheduler.take(fits)) taken.push(instance.id)
  return taken
}

describe('Scheduler', () => {
  it('releases an instance only when all its upstream succeeded, ready ones in graph order', () => {
    const instances = graph(['a', 'b', 'c', 'd'], ['a>c', 'b>c', 'a>d'])
    const scheduler = new Scheduler(instances)
    expect(drain(scheduler)).toEqual(['a', 'b'])
    const [a, b] = instances
    expect(scheduler.settle(b, 'ran')).toEqual([])
    expect(drain(scheduler)).toEqual([])
    scheduler.settle(a, 'up to date')
    expect(drain(scheduler)).toEqual(['c', 'd'])
  })

  it('a failure leaves out the whole downstream, naming the direct cause', () => {
    const instances = graph(['a', 'b', 'c', 'd'], ['a>b', 'b>c', 'd>c'])
    const scheduler = new Scheduler(instances)
    expect(drain(scheduler)).toEqual(['a', 'd'])
    const skipped = scheduler.settle(instances[0], 'failed')
    expect(skipped.map(({instance, cause}) => `${cause.id}>${instance.id}`)).toEqual(['a>b', 'b>c'])
    scheduler.settle(instances[3], 'ran')
    expect(drain(scheduler)).toEqual([])
    expect(Object.fromEntries(scheduler.outcomes)).toEqual({a: 'failed', b: 'not run', c: 'not run', d: 'ran'})
  })

  it('takes the first ready instance that fits, leaving the others queued', () => {
    const scheduler = new Scheduler(graph(['big', 'small1', 'small2'], []))
    expect(drain(scheduler, (instance) => instance.id !== 'big')).toEqual(['small1', 'small2'])
    expect(drain(scheduler)).toEqual(['big'])
  })

  it('cancel marks what has not started as not run, and leaves running instances to end', () => {
    const instances = graph(['a', 'b', 'c'], ['a>c'])
    const scheduler = new Scheduler(instances)
    expect(scheduler.take()?.id).toBe('a')
    scheduler.cancel()
    expect(scheduler.take()).toBeUndefined()
    expect(Object.fromEntries(scheduler.outcomes)).toEqual({b: 'not run', c: 'not run'})
  })
})
