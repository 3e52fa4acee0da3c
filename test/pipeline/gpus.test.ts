import {describe, expect, it} from 'vitest'
import type {Instance} from '../../src/pipeline/graph/graph.js'
import {discoverGpus, gpuSlots, GpuPlacement, GpuPool, type DriverProbe} from '../../src/pipeline/run/gpus.js'
import {gpuEnvironment} from '../../src/pipeline/executors/local.js'
import {createExecutor} from '../../src/pipeline/executors/registry.js'
import {resourceFlags} from '../../src/pipeline/executors/slurm/scheduler.js'
import {useTempDirs} from './helpers.js'

const tempDir = useTempDirs()

const NVIDIA_SMI = `GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5d3a)
  MIG 1g.5gb      Device  0: (UUID: MIG-9e1b)
GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-77c0)
`

function driver(nvidiaSmi?: string, proc?: string[]): DriverProbe {
  return {nvidiaSmiList: () => nvidiaSmi, procGpus: () => proc}
}

const askingFor = (gpus: number | undefined) => ({id: `x${gpus}`, resources: gpus === undefined ? undefined : {gpus}}) as Instance

describe('discoverGpus', () => {
  it('takes SELDPIPE_GPUS first, then the inherited CUDA_VISIBLE_DEVICES, then nvidia-smi -L, then /proc', () => {
    const all = driver(NVIDIA_SMI, ['0000:3b:00.0', '0000:5e:00.0', '0000:86:00.0'])
    expect(discoverGpus({SELDPIPE_GPUS: '0,1,3', CUDA_VISIBLE_DEVICES: '2'}, all)).toEqual({devices: ['0', '1', '3'], source: 'SELDPIPE_GPUS=0,1,3'})
    expect(discoverGpus({SELDPIPE_GPUS: 'none'}, all)).toEqual({devices: [], source: 'SELDPIPE_GPUS=none'})
    expect(discoverGpus({CUDA_VISIBLE_DEVICES: '2,GPU-77c0'}, all)).toEqual({devices: ['2', 'GPU-77c0'], source: 'CUDA_VISIBLE_DEVICES=2,GPU-77c0'})
    expect(discoverGpus({}, all)).toEqual({devices: ['0', '1'], source: 'nvidia-smi -L'})
    expect(discoverGpus({}, driver(undefined, ['0000:3b:00.0', '0000:5e:00.0', '0000:86:00.0']))).toEqual({devices: ['0', '1', '2'], source: '/proc/driver/nvidia/gpus'})
    expect(discoverGpus({}, driver())).toEqual({devices: [], source: 'no NVIDIA driver found'})
  })

  it('reads an inherited CUDA_VISIBLE_DEVICES that hides every device as no GPU', () => {
    for (const hidden of ['', '-1', 'NoDevFiles']) expect(discoverGpus({CUDA_VISIBLE_DEVICES: hidden}, driver(NVIDIA_SMI)).devices).toEqual([])
  })

  it('refuses malformed lists and slot counts, naming the variable', () => {
    expect(() => discoverGpus({SELDPIPE_GPUS: '0,0'}, driver())).toThrow("SELDPIPE_GPUS='0,0' is not a list of distinct GPU ids such as 0,1,3 or 'none'")
    expect(() => discoverGpus({SELDPIPE_GPUS: 'all'}, driver())).toThrow("SELDPIPE_GPUS='all'")
    expect(() => discoverGpus({CUDA_VISIBLE_DEVICES: '0;1'}, driver())).toThrow("CUDA_VISIBLE_DEVICES='0;1' is not a list of distinct GPU ids such as 0,1,3")
    expect(gpuSlots({})).toBe(1)
    expect(gpuSlots({SELDPIPE_GPU_SLOTS: '2'})).toBe(2)
    expect(() => gpuSlots({SELDPIPE_GPU_SLOTS: '0'})).toThrow("SELDPIPE_GPU_SLOTS must be a whole number ≥ 1, got '0'")
  })
})

describe('GpuPool', () => {
  it('spreads instances over the devices before sharing one, up to its slots, and frees places on release', () => {
    const pool = new GpuPool({devices: ['0', '1', '3'], source: 'test'}, 2)
    expect(pool.take(1)).toEqual(['0'])
    expect(pool.take(1)).toEqual(['1'])
    expect(pool.take(2)).toEqual(['3', '0'])
    expect(pool.free()).toBe(2)
    expect(pool.take(3)).toBeUndefined()
    expect(pool.take(2)).toEqual(['1', '3'])
    expect(pool.free()).toBe(0)
    pool.release(['0'])
    expect(pool.take(1)).toEqual(['0'])
  })
})

describe('GpuPlacement', () => {
  it('lets an instance start only when its GPUs are free; instances asking for none always fit', () => {
    const said: string[] = []
    const placement = new GpuPlacement(new GpuPool({devices: ['0', '1'], source: 'SELDPIPE_GPUS=0,1'}), (line) => said.push(line))
    expect(placement.take(askingFor(undefined))).toBeUndefined()
    expect(placement.take(askingFor(2))).toEqual(['0', '1'])
    expect(placement.fits(askingFor(1))).toBe(false)
    expect(placement.fits(askingFor(undefined))).toBe(true)
    // gpus: 0 says "none": it runs with every GPU hidden, beside those that hold them.
    expect(placement.fits(askingFor(0))).toBe(true)
    expect(placement.take(askingFor(0))).toEqual([])
    placement.release(['1'])
    expect(placement.fits(askingFor(1))).toBe(true)
    expect(placement.fits(askingFor(2))).toBe(false)
    // More than exist can never fit: it starts, and fails with the reason.
    expect(placement.fits(askingFor(3))).toBe(true)
    expect(() => placement.take(askingFor(3))).toThrow('asks for 3 GPUs, but only GPUs 0,1 (SELDPIPE_GPUS=0,1) exist')
    expect(said).toEqual(['GPUs 0,1 (SELDPIPE_GPUS=0,1), 1 instance per GPU at a time'])
  })

  it('without GPUs, places GPU instances on none after one notice', () => {
    const said: string[] = []
    const placement = new GpuPlacement(new GpuPool({devices: [], source: 'no NVIDIA driver found'}), (line) => said.push(line))
    expect(placement.fits(askingFor(1))).toBe(true)
    expect(placement.take(askingFor(1))).toEqual([])
    expect(placement.take(askingFor(2))).toEqual([])
    expect(said).toEqual(['notice: no GPU found (no NVIDIA driver found): instances that ask for GPUs run on the CPU'])
  })
})

describe('where GPUs are placed', () => {
  it('a local job sees exactly its GPUs, numbered like nvidia-smi unless the user chose an order', () => {
    expect(gpuEnvironment(undefined)).toEqual({})
    expect(gpuEnvironment(['1', '3'], {})).toEqual({CUDA_VISIBLE_DEVICES: '1,3', TF_FORCE_GPU_ALLOW_GROWTH: 'true', CUDA_DEVICE_ORDER: 'PCI_BUS_ID'})
    expect(gpuEnvironment([], {CUDA_DEVICE_ORDER: 'FASTEST_FIRST'})).toEqual({CUDA_VISIBLE_DEVICES: '', TF_FORCE_GPU_ALLOW_GROWTH: 'true', CUDA_DEVICE_ORDER: 'FASTEST_FIRST'})
  })

  it('the engine places local jobs only; Slurm jobs ask for their GPUs with --gres and Slurm places them', async () => {
    const context = {cacheDir: tempDir(), warn: () => {}}
    expect(createExecutor('local', context).runsOnThisMachine).toBe(true)
    const slurm = createExecutor('slurm', context)
    try {
      expect(slurm.runsOnThisMachine).toBeFalsy()
    } finally {
      await slurm.close?.()
    }
    expect(resourceFlags({gpus: 2, cpus: 4}, 'train@x=1')).toEqual(['--gres=gpu:2', '--cpus-per-task=4'])
  })
})
