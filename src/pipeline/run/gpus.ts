import {execFileSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import type {Instance} from '../graph/graph.js'

/** The GPUs this machine lends to local jobs, and where that list came from (shown to the user). */
export interface GpuInventory {
  /** Device ids as CUDA_VISIBLE_DEVICES takes them: indices such as `0`, or UUIDs such as `GPU-1f…`. */
  devices: string[]
  source: string
}

/** What the driver reports; each returns undefined where it cannot be asked (no nvidia-smi, no /proc entry). */
export interface DriverProbe {
  nvidiaSmiList(): string | undefined
  procGpus(): string[] | undefined
}

const NVIDIA_SMI_TIMEOUT_MS = 10_000

export const systemDriver: DriverProbe = {
  nvidiaSmiList() {
    try {
      return execFileSync('nvidia-smi', ['-L'], {encoding: 'utf8', timeout: NVIDIA_SMI_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore']})
    } catch {
      return undefined
    }
  },
  procGpus() {
    try {
      return readdirSync('/proc/driver/nvidia/gpus')
    } catch {
      return undefined
    }
  },
}

/** Values of CUDA_VISIBLE_DEVICES that hide every device (Slurm writes NoDevFiles when it grants none). */
const HIDES_ALL = new Set(['', '-1', 'NoDevFiles'])
const DEVICE_ID = /^(\d+|(GPU|MIG)-[\w-]+)$/

/** Device ids from a comma-separated list, or an error naming the variable and its value. */
function deviceList(variable: string, value: string): string[] {
  const devices = value.split(',').map((entry) => entry.trim())
  if (!devices.every((device) => DEVICE_ID.test(device)) || new Set(devices).size !== devices.length) {
    throw new Error(`${variable}='${value}' is not a list of distinct GPU ids such as 0,1,3${variable === 'SELDPIPE_GPUS' ? " or 'none'" : ''}`)
  }
  return devices
}

/**
 * The GPUs local jobs may use: SELDPIPE_GPUS (`0,1,3`, or `none`), else CUDA_VISIBLE_DEVICES as this process
 * inherited it, else the devices `nvidia-smi -L` lists, else those in /proc/driver/nvidia/gpus.
 */
export function discoverGpus(env: NodeJS.ProcessEnv, driver: DriverProbe = systemDriver): GpuInventory {
  const chosen = env.SELDPIPE_GPUS?.trim()
  if (chosen !== undefined && chosen !== '') {
    return {devices: chosen === 'none' ? [] : deviceList('SELDPIPE_GPUS', chosen), source: `SELDPIPE_GPUS=${chosen}`}
  }
  const inherited = env.CUDA_VISIBLE_DEVICES
  if (inherited !== undefined) {
    const value = inherited.trim()
    return {devices: HIDES_ALL.has(value) ? [] : deviceList('CUDA_VISIBLE_DEVICES', value), source: `CUDA_VISIBLE_DEVICES=${inherited}`}
  }
  const listed = driver.nvidiaSmiList()
  if (listed !== undefined) {
    // "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-…)"; MIG instances are indented below their GPU and not counted.
    const devices = [...listed.matchAll(/^GPU (\d+):/gm)].map((match) => match[1])
    return {devices, source: 'nvidia-smi -L'}
  }
  const folders = driver.procGpus()
  if (folders !== undefined) return {devices: folders.map((_, index) => String(index)), source: '/proc/driver/nvidia/gpus'}
  return {devices: [], source: 'no NVIDIA driver found'}
}

/** SELDPIPE_GPU_SLOTS: how many instances may share one GPU (default 1). */
export function gpuSlots(env: NodeJS.ProcessEnv): number {
  const value = env.SELDPIPE_GPU_SLOTS
  if (value === undefined || value.trim() === '') return 1
  const slots = Number(value)
  if (!Number.isInteger(slots) || slots < 1) throw new Error(`SELDPIPE_GPU_SLOTS must be a whole number ≥ 1, got '${value}'`)
  return slots
}

export function formatGpus(devices: readonly string[]): string {
  return `GPU${devices.length === 1 ? '' : 's'} ${devices.join(',')}`
}

/**
 * The GPUs lent to running instances. Each device has `slots` places; an instance asking for N GPUs takes one place
 * on each of N distinct devices, the least used first, so instances spread over the devices before sharing one.
 */
export class GpuPool {
  private readonly used: Map<string, number>

  constructor(
    readonly inventory: GpuInventory,
    readonly slots = 1,
  ) {
    this.used = new Map(inventory.devices.map((device) => [device, 0]))
  }

  static fromEnvironment(env: NodeJS.ProcessEnv, driver: DriverProbe = systemDriver): GpuPool {
    return new GpuPool(discoverGpus(env, driver), gpuSlots(env))
  }

  get size(): number {
    return this.inventory.devices.length
  }

  /** How many devices have a free place now. */
  free(): number {
    return [...this.used.values()].filter((count) => count < this.slots).length
  }

  /** Takes a place on `count` distinct devices, or returns undefined when fewer than that have one free. */
  take(count: number): string[] | undefined {
    if (count > this.free()) return undefined
    const devices = [...this.used]
      .filter(([, count]) => count < this.slots)
      .sort(([, a], [, b]) => a - b)
      .slice(0, count)
      .map(([device]) => device)
    for (const device of devices) this.used.set(device, this.used.get(device)! + 1)
    return devices
  }

  release(devices: readonly string[]): void {
    for (const device of devices) this.used.set(device, this.used.get(device)! - 1)
  }
}

function gpusAskedFor(instance: Instance): number {
  return instance.resources?.gpus ?? 0
}

/**
 * Places local instances on the pool's GPUs. An instance asking for N GPUs starts only when N devices have a free
 * place. Where no GPU was found, instances asking for one run without (CUDA_VISIBLE_DEVICES empty), after a one-line
 * notice.
 */
export class GpuPlacement {
  private announced = false

  constructor(
    private readonly pool: GpuPool,
    private readonly say: (line: string) => void,
  ) {}

  /** Whether `instance` may start now (one asking for more GPUs than exist starts, to fail with the reason). */
  fits(instance: Instance): boolean {
    const asked = gpusAskedFor(instance)
    return asked === 0 || this.pool.size === 0 || asked > this.pool.size || this.pool.free() >= asked
  }

  /**
   * The devices `instance` holds until it is released: none for `gpus: 0` (it sees no GPU, so it cannot take memory
   * on one another instance holds), undefined when its stage says nothing about GPUs (its environment is inherited).
   */
  take(instance: Instance): string[] | undefined {
    const asked = gpusAskedFor(instance)
    if (asked === 0) return instance.resources?.gpus === 0 ? [] : undefined
    this.announce()
    if (this.pool.size === 0) return []
    const {devices, source} = this.pool.inventory
    if (asked > this.pool.size) throw new Error(`asks for ${asked} GPUs, but only ${formatGpus(devices)} (${source}) exist`)
    return this.pool.take(asked)!
  }

  release(devices: readonly string[]): void {
    this.pool.release(devices)
  }

  private announce(): void {
    if (this.announced) return
    this.announced = true
    const {devices, source} = this.pool.inventory
    if (devices.length === 0) this.say(`notice: no GPU found (${source}): instances that ask for GPUs run on the CPU`)
    else this.say(`${formatGpus(devices)} (${source}), ${this.pool.slots} instance${this.pool.slots === 1 ? '' : 's'} per GPU at a time`)
  }
}
