/** A problem with pipeline.yaml, the params files or the command line: reported as one message, exit code 2. */
export class PipelineError extends Error {
  override name = 'PipelineError'
}

/** Formats a path into a YAML document the way users read it: `stages.train.deps[2]`. */
export function formatKeyPath(path: readonly (string | number)[]): string {
  let text = ''
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`
  return text
}
