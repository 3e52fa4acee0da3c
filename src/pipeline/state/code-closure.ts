import {readFileSync, realpathSync, statSync, type BigIntStats} from 'node:fs'
import {builtinModules} from 'node:module'
import {basename, dirname, isAbsolute, join, relative, resolve, sep} from 'node:path'
import {fileURLToPath} from 'node:url'
import {initSync, parse} from 'es-module-lexer'
import {Hasher, memoEntryFor, type HashMemo} from './hash.js'

/** What a `node <script>` command runs, as it enters a key: module contents, package versions, the Node major. */
export interface CodeKey {
  /** Module path (relative to the pipeline root when inside it, `/`-separated) → content hash. */
  modules: Record<string, string>
  /** Package name → installed version, or `not installed`. */
  packages: Record<string, string>
  node: number
}

export const NOT_INSTALLED = 'not installed'

/** The Node.js major version that runs the stage commands (the one running seldpipe: commands inherit its PATH). */
export function nodeMajor(version = process.versions.node): number {
  return Number(version.split('.')[0])
}

// Options of `node` whose value is the next argument: not the script.
const NODE_OPTIONS_WITH_VALUE = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '--input-type', '-C', '--conditions', '--env-file'])
// With these, node runs no script file.
const NODE_WITHOUT_SCRIPT = new Set(['-e', '--eval', '-p', '--print', '-i', '--interactive', '-v', '--version', '-h', '--help', '-c', '--check', '--test'])

/** The script a `node [options] <script> [args]` command runs; undefined for any other command (or `node -e`). */
export function nodeScriptOf(argv: readonly string[]): string | undefined {
  if (argv.length < 2 || !['node', 'node.exe'].includes(basename(argv[0]))) return undefined
  for (let index = 1; index < argv.length; index++) {
    const word = argv[index]
    if (NODE_WITHOUT_SCRIPT.has(word)) return undefined
    if (NODE_OPTIONS_WITH_VALUE.has(word)) index++
    else if (!word.startsWith('-')) return word
  }
  return undefined
}

const WORKER_URL = /new\s+URL\(\s*(['"`])([^'"`$]+)\1\s*,\s*import\.meta\.url\s*\)/g
const REQUIRE_CALL = /\brequire\(\s*(['"])([^'"]+)\1\s*\)/g

let lexerReady = false

/**
 * The literal specifiers a module loads: static imports, `import('<literal>')`, `new URL('<literal>', import.meta.url)`,
 * and in a CommonJS module `require('<literal>')`. A module that does not parse loads nothing here (it fails when run,
 * and its content is in the key all the same).
 */
export function moduleSpecifiers(path: string, source: string): string[] {
  const found = new Set<string>()
  let moduleSyntax = false
  if (!path.endsWith('.cjs')) {
    if (!lexerReady) {
      initSync()
      lexerReady = true
    }
    try {
      const [imports, , , hasModuleSyntax] = parse(source, path)
      moduleSyntax = hasModuleSyntax
      // `n` is the specifier when it is a string literal; `import.meta` (d === -2) loads nothing.
      for (const entry of imports) if (entry.n !== undefined && entry.d !== -2) found.add(entry.n)
    } catch {
      return []
    }
  }
  if (!moduleSyntax) for (const match of source.matchAll(REQUIRE_CALL)) found.add(match[2])
  for (const match of source.matchAll(WORKER_URL)) found.add(match[2])
  return [...found]
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier) || builtinModules.includes(packageName(specifier))
}

function statOrUndefined(path: string): BigIntStats | undefined {
  try {
    const stats = statSync(path, {bigint: true})
    return stats.isFile() ? stats : undefined
  } catch {
    return undefined
  }
}

/** A relative or absolute specifier's file: exact, else with a .js/.mjs/.cjs extension or as a folder's index.js. */
function resolveFile(from: string, specifier: string): string {
  const target = specifier.startsWith('file://') ? fileURLToPath(specifier) : resolve(dirname(from), specifier)
  return [target, `${target}.js`, `${target}.mjs`, `${target}.cjs`, join(target, 'index.js')].find((candidate) => statOrUndefined(candidate)) ?? target
}

/**
 * Derives the code closures of node scripts. Each module's specifiers are memoised by (size, mtime, inode) in the
 * hash memo, beside its content hash, so an unchanged closure is read from the index, not parsed again; within one
 * process each script's closure is derived once.
 */
export class CodeClosures {
  private readonly closures = new Map<string, Promise<CodeKey | undefined>>()
  private readonly versions = new Map<string, string>()

  constructor(
    private readonly root: string,
    private readonly memo: HashMemo,
    private readonly hasher = new Hasher(memo),
  ) {}

  /** The closure of `script` (relative to the root or absolute); undefined when the script does not exist. */
  of(script: string): Promise<CodeKey | undefined> {
    const path = resolve(this.root, script)
    let closure = this.closures.get(path)
    if (closure === undefined) {
      closure = this.derive(path)
      this.closures.set(path, closure)
    }
    return closure
  }

  /** How a module path appears in keys and reasons. */
  shown(path: string): string {
    const inside = relative(this.root, path)
    return inside.startsWith('..') || isAbsolute(inside) ? path : inside.split(sep).join('/')
  }

  private async derive(script: string): Promise<CodeKey | undefined> {
    if (statOrUndefined(script) === undefined) return undefined
    const key: CodeKey = {modules: {}, packages: {}, node: nodeMajor()}
    const pending = [script]
    const seen = new Set(pending)
    while (pending.length > 0) {
      const path = pending.pop()!
      const stats = statOrUndefined(path)
      if (stats === undefined) {
        key.modules[this.shown(path)] = 'missing'
        continue
      }
      key.modules[this.shown(path)] = await this.hasher.hashFile(path, stats)
      for (const specifier of this.specifiers(path, stats)) {
        if (isBuiltin(specifier) || specifier.startsWith('#')) continue
        if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file://')) {
          const file = resolveFile(path, specifier)
          if (!seen.has(file)) {
            seen.add(file)
            pending.push(file)
          }
        } else {
          const name = packageName(specifier)
          key.packages[name] = this.installedVersion(dirname(path), name)
        }
      }
    }
    key.modules = Object.fromEntries(Object.entries(key.modules).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    key.packages = Object.fromEntries(Object.entries(key.packages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    return key
  }

  private specifiers(path: string, stats: BigIntStats): string[] {
    const memoKey = `imports\0${path}`
    const remembered = this.memo.get(memoKey)
    const now = memoEntryFor(stats, '')
    if (remembered && remembered.size === now.size && remembered.mtimeNs === now.mtimeNs && remembered.ino === now.ino) return JSON.parse(remembered.hash) as string[]
    const specifiers = moduleSpecifiers(path, readFileSync(path, 'utf8'))
    this.memo.set(memoKey, {...now, hash: JSON.stringify(specifiers)})
    return specifiers
  }

  /**
   * The version in the package.json Node would load `name` from: the nearest node_modules/<name> above `folder`, with
   * symbolic links resolved as Node resolves them (a linked dist/ finds the packages beside its real location).
   */
  private installedVersion(folder: string, name: string): string {
    const memoKey = `${folder}\0${name}`
    let version = this.versions.get(memoKey)
    if (version !== undefined) return version
    version = NOT_INSTALLED
    for (let current = realpathSync(folder); ; current = dirname(current)) {
      try {
        const manifest = JSON.parse(readFileSync(join(current, 'node_modules', name, 'package.json'), 'utf8')) as {version?: string}
        version = manifest.version ?? 'unversioned'
        break
      } catch {
        if (dirname(current) === current) break
      }
    }
    this.versions.set(memoKey, version)
    return version
  }
}
