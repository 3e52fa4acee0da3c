import {readdirSync, readFileSync} from 'node:fs'
import {basename, dirname, join, posix} from 'node:path'
import {describe, expect, it} from 'vitest'

/** Every TypeScript module of the product, as a path relative to the repository root. */
function modules(folder: string): string[] {
  return readdirSync(folder, {withFileTypes: true}).flatMap((entry) => {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) return modules(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** The relative modules a file imports (static, dynamic with a literal, or re-exported), as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found = text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)\.js'/g)
  return [...found].map((match) => posix.normalize(posix.join(dirname(file), match[1])) + '.ts')
}

/** Strongly connected components of more than one module (or a module importing itself): the import circles. */
function circles(graph: Map<string, string[]>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string) => {
    index.set(node, counter)
    low.set(node, counter++)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return found
}

function editDistance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]
}

const files = [...modules('src'), ...modules('stages')]

describe('architecture', () => {
  it('has no import circles', () => {
    const graph = new Map(files.map((file) => [file, importsOf(file)]))
    expect(circles(graph)).toEqual([])
  })

  it('finds a circle when there is one (the check itself)', () => {
    const graph = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]])
    expect(circles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']])
  })

  it('has no two modules whose names differ by one letter', () => {
    const names = [...new Set(files.map((file) => basename(file, '.ts')))]
    const close = names.flatMap((a, i) => names.slice(i + 1).filter((b) => editDistance(a, b) === 1).map((b) => `${a} ~ ${b}`))
    expect(close).toEqual([])
  })

  it('keeps the engine free of audio and the SELD cores free of the pipeline', () => {
    const crossing = files.flatMap((file) => importsOf(file).filter((target) =>
      (file.startsWith('src/pipeline/') && target.startsWith('src/seld/')) || (file.startsWith('src/seld/') && target.startsWith('src/pipeline/')),
    ).map((target) => `${file} -> ${target}`))
    expect(crossing).toEqual([])
  })
})
