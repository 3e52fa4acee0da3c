import {describe, expect, it} from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {initBackend, type BackendPreference} from '../../src/seld/backend.js'

describe('initBackend', () => {
  it('uses the forced cpu and wasm backends and logs the choice', async () => {
    const logged: string[] = []
    expect(await initBackend('cpu', (m) => logged.push(m))).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    expect(await initBackend('wasm', (m) => logged.push(m))).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    expect(logged).toEqual(['tfjs backend: cpu', 'tfjs backend: wasm'])
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
