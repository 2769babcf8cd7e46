/**
 * lxts as a user gets it from the registry: `npm pack` of this checkout and a platform package
 * made as the release workflow makes it (the `.node` and the static helper side by side), both
 * installed into an empty project. Its `lxts` command and `import 'lxts'` must run containers
 * without anything from the checkout.
 */
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import test from 'ava'
import { REPO } from '../helpers/env.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const run = promisify(execFile)

h.it('an installed package (main + platform package) runs containers from its CLI and as a library', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-installed-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env = { ...process.env, LXTS_HELPER: '', npm_config_update_notifier: 'false' }
  // The main package as `npm publish` would pack it (its build is this checkout's).
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, env })
  // The platform package: what .github/workflows/release.yml puts in npm/<platform>/.
  const node = readdirSync(REPO).find((f) => /^lxts\.linux-.+\.node$/.test(f))
  t.truthy(node, 'a built binding')
  const platform = (node ?? '').slice('lxts.'.length, -'.node'.length)
  const plat = join(dir, 'platform')
  mkdirSync(plat)
  for (const f of [node ?? '', 'lxts-helper']) copyFileSync(join(REPO, f), join(plat, f))
  const version = JSON.parse(await (await import('node:fs/promises')).readFile(join(REPO, 'package.json'), 'utf8')).version as string
  writeFileSync(join(plat, 'package.json'), JSON.stringify({ name: `lxts-${platform}`, version, main: node, files: [node, 'lxts-helper'], os: ['linux'] }))
  await run('npm', ['pack', '--pack-destination', dir], { cwd: plat, env })
  const app = join(dir, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}')
  const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz')).map((f) => join(dir, f))
  t.is(tarballs.length, 2)
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], { cwd: app, env, timeout: 90_000 })

  const cli = join(app, 'node_modules', 'lxts', 'bin', 'lxts.js')
  const b = h.bundle(['sh', '-c', 'cat /lxts-marker'])
  const r = await run(process.execPath, [cli, '--root', h.root(), 'run', '-b', b.dir, b.id], { cwd: app, env })
  t.regex(r.stdout, new RegExp(`marker-${b.id}`), 'the installed CLI ran the container')

  const c = h.bundle(['sh', '-c', 'exit 7'])
  const script = `import { Runtime } from 'lxts'
const exit = await new Runtime({ root: ${JSON.stringify(h.root())} }).run(${JSON.stringify(c.id)}, { bundle: ${JSON.stringify(c.dir)}, stdio: 'ignore' })
console.log(JSON.stringify(exit))`
  const l = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env })
  t.is((JSON.parse(l.stdout) as { exitCode: number }).exitCode, 7, 'the installed library ran the container')
})
