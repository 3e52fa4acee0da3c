// The WASM-SIMD loops of simd/kernels.c, instantiated on the wasm backend's own memory so they work on tensors in
// place (arguments are byte offsets into that memory).
import {KERNELS_SHARED_MEMORY_WASM_BASE64, KERNELS_WASM_BASE64} from './simd/module.js'
import {type BackendWasm, type TensorInfo} from './heap.js'

export interface SimdKernels {
  add_into(acc: number, src: number, n: number): void
  transpose(src: number, dst: number, rows: number, cols: number): void
  im2col(x: number, cols: number, first: number, rows: number, h: number, w: number, ci: number, ho: number, wo: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number): void
  sum_rows(x: number, count: number, channels: number, out: number, partial: number, total: number): void
  bn_stats(x: number, count: number, channels: number, mean: number, variance: number, partial: number, total: number): void
  affine_rows(x: number, count: number, channels: number, a: number, b: number, out: number): void
  bn_grad_sums(dy: number, x: number, mean: number, count: number, channels: number, sumDy: number, sumDyX: number, partial: number, total: number): void
  bn_grad_apply(dy: number, x: number, count: number, channels: number, a: number, b: number, d: number, dx: number): void
  maxpool_grad(x: number, pooled: number, dy: number, dx: number, rows: number, w: number, channels: number, wo: number, fh: number, fw: number): void
  gru_forward(x: number, r: number, h: number, saved: number, batch: number, steps: number, units: number, backwards: number, hard: number, scratch: number): void
  gru_backward(dy: number, h: number, saved: number, r: number, dx: number, dr: number, batch: number, steps: number, units: number, backwards: number, scratch: number): void
}

// The WebAssembly global with just what this file uses (the project's TypeScript libs do not declare it).
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => {exports: unknown}
}
const {Module, Instance} = (globalThis as unknown as {WebAssembly: WebAssemblyApi}).WebAssembly

const modules = new Map<boolean, object>()
const instances = new WeakMap<BackendWasm, SimdKernels>()

/** The SIMD kernels bound to this backend's memory. */
export function simd(backend: BackendWasm): SimdKernels {
  let kernels = instances.get(backend)
  if (!kernels) {
    // The single-threaded build exports its memory; the threaded one creates it in JS and imports it.
    type Memory = {buffer: ArrayBufferLike}
    const module_ = backend.wasm as unknown as {wasmMemory?: Memory; asm: {memory?: Memory}}
    const memory = module_.wasmMemory ?? module_.asm.memory!
    // The threaded backend's memory is shared, and an import must declare that.
    const shared = memory.buffer instanceof SharedArrayBuffer
    let module = modules.get(shared)
    if (!module) {
      module = new Module(Buffer.from(shared ? KERNELS_SHARED_MEMORY_WASM_BASE64 : KERNELS_WASM_BASE64, 'base64'))
      modules.set(shared, module)
    }
    const instance = new Instance(module, {env: {memory, exp: Math.exp, tanh: Math.tanh}})
    kernels = instance.exports as unknown as SimdKernels
    instances.set(backend, kernels)
  }
  return kernels
}

/** Byte offset of a tensor's data in the backend's memory. */
export function address(backend: BackendWasm, info: TensorInfo): number {
  return backend.dataIdMap.get(info.dataId)!.memoryOffset
}

/** Scratch for up to 2·channels sums: double totals, then float partials (the allocator aligns to 8 bytes). */
export function sumScratch(backend: BackendWasm, channels: number): {info: TensorInfo; total: number; partial: number} {
  const info = backend.makeOutput([6 * channels], 'float32')
  const total = address(backend, info)
  return {info, total, partial: total + 2 * channels * 8}
}
