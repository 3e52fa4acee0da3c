import {StringDecoder} from 'node:string_decoder'

/**
 * The progress protocol any stage can speak, whatever its language: a line on stdout that starts with
 * `::progress ` followed by free text, e.g. `::progress epoch 3/40  loss 0.84  SELD 0.38  (best 0.38)  eta 7m`.
 * The live display shows each running instance's latest such line; without a terminal the lines stream to stdout
 * prefixed with the instance id. Other output goes to the instance's log only.
 */
export const PROGRESS_PREFIX = '::progress '

/** The text of a progress line, or undefined for any other line. */
export function parseProgressLine(line: string): string | undefined {
  return line.startsWith(PROGRESS_PREFIX) ? line.slice(PROGRESS_PREFIX.length).trim() : undefined
}

export function formatProgressLine(text: string): string {
  return `${PROGRESS_PREFIX}${text.replace(/\s*\n\s*/g, ' ')}\n`
}

/** Splits a stream of stdout chunks into lines and hands the text of every progress line to `onProgress`. */
export class ProgressScanner {
  private partial = ''
  // A chunk may end inside a multi-byte character.
  private readonly decoder = new StringDecoder('utf8')

  constructor(private readonly onProgress: (text: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk)
    const lines = (this.partial + text).split('\n')
    this.partial = lines.pop() ?? ''
    for (const line of lines) {
      const text = parseProgressLine(line.replace(/\r$/, ''))
      if (text !== undefined && text !== '') this.onProgress(text)
    }
  }
}
