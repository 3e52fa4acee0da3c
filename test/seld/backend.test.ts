import {execFileSync} from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {getThreadsCount} from '@tensorflow/tfjs-backend-wasm'
import {initBackend, type BackendPreference} from '../../src/seld/model/backend.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

describe('initBackend', () => {
  it('uses the forced cpu and wasm backends and logs the choice', async () => {
    const logged: string[] = []
    expect(await initBackend('cpu', (m) => logged.push(m))).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    expect(await initBackend('wasm', (m) => logged.push(m))).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    // Without SELDPIPE_WASM_THREADS, as many threads as cores are idle.
    const threads = getThreadsCount()
    expect(threads).toBeGreaterThanOrEqual(1)
    expect(threads).toBeLessThanOrEqual(Number(process.env.SELDPIPE_WASM_THREADS ?? os.availableParallelism()))
    expect(logged).toEqual(['tfjs backend: cpu', `tfjs backend: wasm (${threads} thread${threads === 1 ? '' : 's'})`])
  })

  it('processes on the wasm backend, threaded or not, exit by themselves and agree', () => {
    // Runs the compiled module (npm test builds first) in child processes: a filter gradient goes through the SIMD
    // kernels, built for the shared memory of the threaded backend and the plain memory of the single-threaded one.
    const script = `
      import * as tf from '@tensorflow/tfjs'
      import {initBackend} from './dist/src/seld/model/backend.js'
      await initBackend('wasm', () => {})
      const {getThreadsCount} = await import('@tensorflow/tfjs-backend-wasm')
      const x = tf.sin(tf.range(0, 2 * 9 * 10 * 3).reshape([2, 9, 10, 3]))
      const dy = tf.cos(tf.range(0, 2 * 9 * 10 * 4).reshape([2, 9, 10, 4]))
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4]})
      console.log(getThreadsCount(), Array.from(await dw.data()).map((v) => v.toFixed(4)).join(' '))`
    const run = (threads: number) =>
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: repoRoot,
        env: {...process.env, SELDPIPE_WASM_THREADS: String(threads)},
        timeout: 60_000,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).trim()
    const [single, threaded] = [run(1), run(2)]
    expect(() => run(0)).toThrow(/SELDPIPE_WASM_THREADS must be a positive integer, got '0'/)
    expect(single.split(' ')[0]).toBe('1')
    expect(threaded.split(' ')[0]).toBe('2')
    expect(single.split(' ')).toHaveLength(1 + 3 * 3 * 3 * 4)
    expect(threaded.slice(2)).toBe(single.slice(2))
  })

  it('auto picks a native backend when one loads, else wasm', async () => {
    const name = await initBackend('auto', () => {})
    let nativeLoads = true
    try {
      await import('@tensorflow/tfjs-node' as string)
    } catch {
      nativeLoads = false
    }
    expect(name).toBe(nativeLoads ? 'tensorflow' : 'wasm')
  })

  it('a forced tensorflow backend that cannot load is an error that says how to install it', async () => {
    const result = initBackend('tensorflow', () => {}).catch((error: Error) => error.message)
    const outcome = await result
    if (outcome !== 'tensorflow') expect(outcome).toMatch(/tfjs-node.*Install/)
  })

  it('rejects an unknown preference', async () => {
    await expect(initBackend('gpu' as BackendPreference)).rejects.toThrow(/unknown backend 'gpu'/)
  })
})
