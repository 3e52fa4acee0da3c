import {execFileSync} from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {getThreadsCount} from '@tensorflow/tfjs-backend-wasm'
import {chooseBackend, givenGpus, initBackend, type BackendKind, type BackendPreference} from '../../src/seld/model/backend.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

describe('initBackend', () => {
  it('uses the forced cpu and wasm backends and logs the choice', async () => {
    const logged: string[] = []
    expect(await initBackend('cpu', (m) => logged.push(m))).toEqual({name: 'cpu', device: 'CPU', description: 'cpu on CPU'})
    expect(tf.getBackend()).toBe('cpu')
    expect((await initBackend('wasm', (m) => logged.push(m))).name).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    // Without SELDPIPE_WASM_THREADS, as many threads as cores are idle.
    const threads = getThreadsCount()
    expect(threads).toBeGreaterThanOrEqual(1)
    expect(threads).toBeLessThanOrEqual(Number(process.env.SELDPIPE_WASM_THREADS ?? os.availableParallelism()))
    expect(logged).toEqual(['tfjs backend: cpu on CPU', `tfjs backend: wasm (${threads} thread${threads === 1 ? '' : 's'}) on CPU`])
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
    const {name} = await initBackend('auto', () => {})
    let nativeLoads = true
    try {
      await import('@tensorflow/tfjs-node' as string)
    } catch {
      nativeLoads = false
    }
    expect(name).toBe(nativeLoads ? 'tensorflow' : 'wasm')
  })

  it('a forced tensorflow backend that cannot load is an error that says how to install it', async () => {
    const result = initBackend('tensorflow', () => {}).then(({name}) => name, (error: Error) => error.message)
    const outcome = await result
    if (outcome !== 'tensorflow') expect(outcome).toMatch(/tfjs-node.*Install/)
  })

  it('rejects an unknown preference', async () => {
    await expect(initBackend('gpu' as BackendPreference)).rejects.toThrow(/unknown backend 'gpu'/)
  })
})

/** A fake loader: the backends in `loads` come up, the others fail with a reason naming them; records what was tried. */
function fakeLoader(...loads: BackendKind[]) {
  const tried: BackendKind[] = []
  const load = async (kind: BackendKind) => {
    tried.push(kind)
    return loads.includes(kind) ? undefined : `${kind} unavailable`
  }
  return {tried, load}
}

describe('chooseBackend', () => {
  it('auto with a GPU given and tfjs-node-gpu loading: tensorflow on that GPU', async () => {
    const {tried, load} = fakeLoader('tensorflow-gpu', 'tensorflow', 'wasm', 'cpu')
    expect(await chooseBackend('auto', ['1', '3'], load)).toEqual({kind: 'tensorflow-gpu', device: 'GPU 1,3', skipped: []})
    expect(tried).toEqual(['tensorflow-gpu'])
  })

  it('auto with a GPU given but no tfjs-node-gpu: tensorflow on the CPU, saying why the GPU build was skipped', async () => {
    const {tried, load} = fakeLoader('tensorflow', 'wasm')
    expect(await chooseBackend('auto', ['0'], load)).toEqual({kind: 'tensorflow', device: 'CPU', skipped: ['tensorflow-gpu unavailable']})
    expect(tried).toEqual(['tensorflow-gpu', 'tensorflow'])
  })

  it('auto without a GPU never loads tfjs-node-gpu; without native builds it takes wasm, then cpu', async () => {
    const withGpuBuild = fakeLoader('tensorflow-gpu', 'tensorflow')
    expect(await chooseBackend('auto', [], withGpuBuild.load)).toMatchObject({kind: 'tensorflow', device: 'CPU'})
    expect(withGpuBuild.tried).toEqual(['tensorflow'])
    expect(await chooseBackend('auto', [], fakeLoader('wasm', 'cpu').load)).toEqual({kind: 'wasm', device: 'CPU', skipped: ['tensorflow unavailable']})
    expect(await chooseBackend('auto', ['0'], fakeLoader('cpu').load)).toEqual({
      kind: 'cpu', device: 'CPU', skipped: ['tensorflow-gpu unavailable', 'tensorflow unavailable', 'wasm unavailable'],
    })
  })

  it('a forced tensorflow takes the GPU build where given a GPU, else the CPU build, and nothing else', async () => {
    expect(await chooseBackend('tensorflow', ['2'], fakeLoader('tensorflow-gpu').load)).toMatchObject({kind: 'tensorflow-gpu', device: 'GPU 2'})
    expect(await chooseBackend('tensorflow', ['2'], fakeLoader('tensorflow').load)).toMatchObject({kind: 'tensorflow', device: 'CPU'})
    const {tried, load} = fakeLoader('wasm', 'cpu')
    await expect(chooseBackend('tensorflow', [], load)).rejects.toThrow(
      "backend 'tensorflow' is not available: tensorflow unavailable. Install @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu for a CUDA GPU) with internet access, or use backend auto.",
    )
    expect(tried).toEqual(['tensorflow'])
  })

  it('forced wasm and cpu try only themselves, even with a GPU given', async () => {
    const everything = fakeLoader('tensorflow-gpu', 'tensorflow', 'wasm', 'cpu')
    expect(await chooseBackend('wasm', ['0'], everything.load)).toEqual({kind: 'wasm', device: 'CPU', skipped: []})
    expect(await chooseBackend('cpu', ['0'], everything.load)).toEqual({kind: 'cpu', device: 'CPU', skipped: []})
    expect(everything.tried).toEqual(['wasm', 'cpu'])
    await expect(chooseBackend('wasm', [], fakeLoader('cpu').load)).rejects.toThrow("backend 'wasm' is not available: wasm unavailable. Use backend auto.")
    await expect(chooseBackend('gpu' as BackendPreference, [], everything.load)).rejects.toThrow(/unknown backend 'gpu'/)
  })
})

describe('givenGpus', () => {
  it('reads CUDA_VISIBLE_DEVICES as given (by seldpipe, Slurm or the user), else every GPU of the machine', () => {
    const machineHasTwo = () => 2
    expect(givenGpus({CUDA_VISIBLE_DEVICES: '1,3'}, machineHasTwo)).toEqual(['1', '3'])
    expect(givenGpus({CUDA_VISIBLE_DEVICES: 'GPU-5d3a'}, machineHasTwo)).toEqual(['GPU-5d3a'])
    for (const hidden of ['', '-1', 'NoDevFiles']) expect(givenGpus({CUDA_VISIBLE_DEVICES: hidden}, machineHasTwo)).toEqual([])
    expect(givenGpus({}, machineHasTwo)).toEqual(['0', '1'])
    expect(givenGpus({}, () => 0)).toEqual([])
  })
})
