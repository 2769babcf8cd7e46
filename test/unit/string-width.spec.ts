/**
 * The CLI bundle's `string-width` (ts/cli/string-width.ts): the columns yargs lays help out by,
 * compared with the real package on the text kinds lxts prints and a few it does not.
 */
import test from 'ava'
import realWidth from 'string-width'

import stringWidth from '../../ts/cli/string-width.js'

const samples = [
  '',
  'run a process in a running container',
  '--preserve-fds  pass N more fds (3 … 3+N-1)',
  '\u001b[1mbold\u001b[22m and \u001b[31mred\u001b[39m',
  '\u001b]8;;https://example.org\u0007link\u001b]8;;\u0007',
  'café déjà vu',
  'e\u0301 (combining accent)',
  '日本語のテキスト',
  '한국어',
  'ｆｕｌｌｗｉｄｔｈ',
  'zero\u200bwidth',
  'tab\there',
]

for (const s of samples) {
  test(`width of ${JSON.stringify(s)} is the string-width package's`, (t) => {
    t.is(stringWidth(s), realWidth(s))
  })
}
