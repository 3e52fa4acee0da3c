import {Command} from '@oclif/core'

/**
 * A command with oclif's `--json` flag: with it, stdout holds one JSON document, the command's result or
 * `{"error": {"name", "message", "exit"}}`, and the exit code is the one the error asked for (oclif would otherwise
 * print the whole parser context and exit 1 for every error).
 */
export abstract class JsonCommand extends Command {
  static override enableJsonFlag = true

  override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (this.jsonEnabled()) process.exitCode = error.oclif?.exit ?? error.exitCode ?? 1
    return super.catch(error)
  }

  protected override toErrorJson(error: unknown): unknown {
    const {name, message, oclif} = error instanceof Error ? (error as Error & {oclif?: {exit?: number}}) : {name: 'Error', message: String(error), oclif: undefined}
    return {error: {name, message, exit: oclif?.exit ?? 1}}
  }
}
