/** Columns padded to their widest cell under a dashed rule; the first `leftAligned` columns align left, the rest right. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], leftAligned: number): string {
  const widths = header.map((title, c) => Math.max(title.length, ...rows.map((row) => row[c].length)))
  const render = (row: readonly string[]) => row.map((cell, c) => (c < leftAligned ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd()
  return [render(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(render)].join('\n')
}

/** A score with its digits; n/a for null (a NaN score), empty when absent. */
export function formatNumber(value: number | null | undefined, digits: number): string {
  return value === undefined ? '' : value === null ? 'n/a' : value.toFixed(digits)
}

/** A parameter value as written in YAML flow style: strings bare, the rest as JSON; empty when absent. */
export function formatValue(value: unknown): string {
  return value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value)
}
