/**
 * A small seeded random generator (mulberry32), so a dataset is the same bytes on every machine: Math.random cannot
 * be seeded. Its whole state is one integer. `Random.from` derives the seed from readable parts (seed, ov, split, ...)
 * so every recording and sound has its own independent stream.
 */
export class Random {
  constructor(public state: number) {
    this.state = state >>> 0
  }

  /** A generator whose stream depends on every part, e.g. `Random.from(2018, 'scene', ov, split, 'train', 3)`. */
  static from(...parts: Array<string | number>): Random {
    // cyrb53-style string hash of the joined parts, folded to the 32-bit state.
    const key = parts.join('\u0000')
    let h1 = 0xdeadbeef, h2 = 0x41c6ce57
    for (let i = 0; i < key.length; i++) {
      const k = key.charCodeAt(i)
      h1 = Math.imul(h1 ^ k, 2654435761)
      h2 = Math.imul(h2 ^ k, 1597334677)
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
    return new Random(h1 ^ h2)
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next()
  }

  /** Integer in [low, high], both included. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1))
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('cannot pick from an empty list')
    return items[Math.floor(this.next() * items.length)]
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      ;[items[i], items[j]] = [items[j], items[i]]
    }
    return items
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }
}
