/**
 * Printers for stdout. They write with `fs.writeSync(1, …)`: touching `process.stdout`
 * makes libuv set O_NONBLOCK on fd 1, which is shared with the container on create/run.
 */
import { writeSync } from 'node:fs'

/** Writes all of `text` to a file descriptor, retrying on partial writes and EAGAIN. */
export function writeAll(fd: number, text: string): void {
  const buffer = Buffer.from(text)
  let offset = 0
  while (offset < buffer.length) {
    try {
      offset += writeSync(fd, buffer, offset)
    } catch (error) {
      if (error instanceof Error && Reflect.get(error, 'code') === 'EAGAIN') continue
      throw error
    }
  }
}

/** JSON as runc prints it: two-space indent and a final newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/** A left-aligned table with columns separated by at least three spaces (runc uses tabwriter padding 3). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd((widths[column] ?? 0) + 3)))
      .join('')
      .trimEnd()
  return [header, ...rows].map((cells) => `${line(cells)}\n`).join('')
}
