import {readFile} from 'node:fs/promises'
import {relative} from 'node:path'
import {isMap, isNode, isScalar, LineCounter, parseDocument, type Document} from 'yaml'
import {formatKeyPath, PipelineError} from './errors.js'

/** A parsed YAML file that can point at the line of any key path, for error messages. */
export interface YamlFile {
  path: string
  data: unknown
  /**
   * `file:line:col: key.path: message` (line and column when the path exists in the file): of the value, or of the
   * key itself with `at: 'key'` (for a key that should not be there).
   */
  error(keyPath: readonly (string | number)[], message: string, at?: 'key' | 'value'): PipelineError
}

export async function readYamlFile(path: string, shownFrom = process.cwd()): Promise<YamlFile> {
  const fromHere = relative(shownFrom, path)
  const shown = fromHere === '' || fromHere.startsWith('..') ? path : fromHere
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new PipelineError(code === 'ENOENT' ? `${shown}: file not found` : `${shown}: ${(error as Error).message}`)
  }
  const lineCounter = new LineCounter()
  const document: Document = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true})
  const problem = document.errors[0]
  if (problem !== undefined) {
    const {line, col} = lineCounter.linePos(problem.pos[0])
    const lineText = text.split('\n')[line - 1] ?? ''
    // { } are YAML flow indicators: `[work/${dataset}]` does not parse, a block list or quotes do.
    const hint = /[[{]/.test(lineText) && lineText.includes('${') ? ' (inside [ ] or { }, quote values holding ${...}, or use a block list)' : ''
    throw new PipelineError(`${shown}:${line}:${col}: invalid YAML: ${problem.message.split('\n')[0]}${hint}`)
  }
  const position = (keyPath: readonly (string | number)[], at: 'key' | 'value'): string => {
    const parent = keyPath.length === 0 || at === 'value' ? undefined : keyPath.length === 1 ? document.contents : document.getIn(keyPath.slice(0, -1), true)
    const pair = isMap(parent) ? parent.items.find((item) => isScalar(item.key) && item.key.value === keyPath.at(-1)) : undefined
    if (isScalar(pair?.key) && pair.key.range) {
      const {line, col} = lineCounter.linePos(pair.key.range[0])
      return `:${line}:${col}`
    }
    for (let length = keyPath.length; length >= 0; length--) {
      const node = length === 0 ? document.contents : document.getIn(keyPath.slice(0, length), true)
      if (isNode(node) && node.range) {
        const {line, col} = lineCounter.linePos(node.range[0])
        return `:${line}:${col}`
      }
    }
    return ''
  }
  return {
    path,
    data: document.toJS({maxAliasCount: 100}),
    error: (keyPath, message, at = 'value') => {
      const where = keyPath.length === 0 ? '' : ` ${formatKeyPath(keyPath)}:`
      return new PipelineError(`${shown}${position(keyPath, at)}:${where} ${message}`)
    },
  }
}
