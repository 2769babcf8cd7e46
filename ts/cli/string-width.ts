/**
 * `string-width` for the CLI bundle (scripts/build-cli.mjs resolves both copies yargs and
 * cliui import to this file). The package segments graphemes with `Intl.Segmenter` and
 * matches `\p{RGI_Emoji}`: compiling that took ~45 ms of every yargs command (`exec`, `ps`,
 * `events`…) before it parsed an argument. lxts's help is ASCII and Latin text; this counts
 * code points without ANSI escapes, combining marks and zero-width characters, and East
 * Asian wide and fullwidth ones as two columns, which lays that text out the same.
 */
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g
const ZERO_WIDTH = /[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufe00-\ufe0f\ufeff]/

function wide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
}

/** Columns `text` takes in a terminal. */
export default function stringWidth(text: string): number {
  let width = 0
  for (const ch of text.replace(ANSI, '')) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || ZERO_WIDTH.test(ch)) continue
    width += wide(cp) ? 2 : 1
  }
  return width
}
