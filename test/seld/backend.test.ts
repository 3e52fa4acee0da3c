import {execFileSync} from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {getThreadsCount} from '@tensorflow/tfjs-backend-wasm'
import {initBackend, type BackendPreference} from '../../src/seld/backend.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

describe('initBackend', () => {
  it('uses the forced cpu and wasm backends and logs the choice', async () => {
    const logged: string[] = []
    expect(await initBackend('cpu', (m) => logged.push(m))).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    expect(await initBackend('wasm', (m) => logged.push(m))).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    const threads = Number(process.env.SELDPIPE_WASM_THREADS ?? os.availableParallelism())
    expect(getThreadsCount()).toBe(threads)
    expect(logged).toEqual(['tfjs backend: cpu', `tfjs backend: wasm (${threads} thread${threads === 1 ? '' : 's'})`])
  })

  it('a process on the threaded wasm backend exits by itself when its work is done', () => {
    // Runs the compiled module (npm test builds first) in a child process with two XNNPACK threads.
    const script = `
      import * as tf from '@tensorflow/tfjs'
      import {initBackend} from './dist/src/seld/backend.js'
      await initBackend('wasm', () => {})
      const {getThreadsCount} = await import('@tensorflow/tfjs-backend-wasm')
      const product = tf.matMul(tf.ones([300, 200]), tf.ones([200, 100]))
      console.log(getThreadsCount(), (await product.data())[0])`
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: {...process.env, SELDPIPE_WASM_THREADS: '2'},
      timeout: 60_000,
      encoding: 'utf8',
    })
    expect(output.trim()).toBe('2 200')
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
