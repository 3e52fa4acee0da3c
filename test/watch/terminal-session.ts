import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {repoRoot} from '../pipeline/cli.js'

let sessionCount = 0

/** `seldpipe ARGS` in a detached tmux session (a real terminal, 160 columns); its exit code lands in <name>.exit. */
export class TerminalSession {
  readonly name = `seldpipe-test-${process.pid}-${++sessionCount}`
  constructor(readonly dir: string, args: string[]) {
    const command = `node ${join(repoRoot, 'bin', 'run.js')} ${args.map((arg) => `'${arg}'`).join(' ')}; echo $? > ${this.name}.exit; sleep 600`
    execFileSync('tmux', ['new-session', '-d', '-s', this.name, '-x', '160', '-y', '40', '-c', dir, command])
  }
  screen(): string {
    return execFileSync('tmux', ['capture-pane', '-p', '-t', this.name], {encoding: 'utf8'})
  }
  send(...keys: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.name, ...keys])
  }
  exitCode(): number | undefined {
    const file = join(this.dir, `${this.name}.exit`)
    return existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined
  }
  close(): void {
    execFileSync('tmux', ['kill-session', '-t', this.name])
  }
}


export async function until<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}
