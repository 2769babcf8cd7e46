/** Reading a piped stdio stream to its end. */

/**
 * All of `s` as text, once it has ended. A container's or exec's `wait()` can resolve
 * before Node has read the last of its pipes (as with child_process's 'exit' before
 * 'close'), so tests read output through this, never through 'data' handlers alone.
 */
export function readAll(s: NodeJS.ReadableStream | null): Promise<string> {
  return new Promise((resolve, reject) => {
    if (s === null) return resolve('')
    let out = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => (out += d))
    s.on('end', () => resolve(out))
    s.on('close', () => resolve(out)) // destroyed before its end: what came
    s.on('error', reject)
  })
}
