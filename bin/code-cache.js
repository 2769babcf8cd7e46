// Runs the CommonJS bundle of the CLI with V8's code cache, which Node 20 has no switch for
// (module.enableCompileCache() came in 22.1), so the bytecode of the code a verb runs is not
// compiled again on every start: -8 to -15 ms per command.
//
// The cache sits next to the bundle, one file per Node version, arch and set of Node flags
// (<bundle>.<version>-<arch>-<flags tag>.v8cache), and is used only when all of these hold:
// - its header names this Node (version, arch, V8) and this bundle: the sha256 that
//   scripts/build-cli.mjs appends to it (hashing 300 kB here would cost ~4 ms) and the
//   file's identity (device, inode, size, mtime, ctime), so an edit after the build also
//   invalidates it;
// - the file is a regular file owned by us or by the bundle's owner, and not writable by
//   group or others (whoever can write the bundle could run code as us anyway; nobody else may);
// - its two copies of V8's data are byte-equal, and V8's own checksum of it holds
//   (--verify-snapshot-checksum, below): a damaged cache would otherwise crash every start;
// - V8 accepts it (it checks its own version, flags and the source length).
// Otherwise the bundle is compiled as usual and, on exit, the cache is written (by one writer
// at a time, renamed over the old one, so readers never see half of it); a directory we cannot
// write (a read-only install) just means no cache. A cache written by `--version` or help,
// which compile little, is replaced by the first run of a verb.
'use strict'
const { closeSync, fstatSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, constants } = require('node:fs')
const { dirname } = require('node:path')
const { createRequire } = require('node:module')
const { pathToFileURL } = require('node:url')
const vm = require('node:vm')
// V8 checks a code cache's checksum only with this flag (release builds skip it): without it a
// damaged cache crashes every start until the file is removed. ~0 ms for a good cache; it also
// makes the caches this process writes carry the checksum.
require('node:v8').setFlagsFromString('--verify-snapshot-checksum')

const FORMAT = 'lxts-v8cache-1'
const BUILD_MARK = '\n//# lxts-build-sha256='

/**
 * The parameters the bundle is wrapped in: a CommonJS module's, the URL it reads for
 * import.meta.url, and an import() (of ES modules: the napi loader, when the bundle does not
 * load the .node file itself), which code compiled by vm.Script cannot call without a flag.
 */
const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', '__lxtsBundleUrl', '__lxtsImport']

/** Whether these arguments only print the version or help (which compile little of the bundle). */
function isLight(args) {
  return args.length === 0 || args.some((arg) => arg === '--version' || arg === '-v' || arg === '--help' || arg === '-h')
}

/** The header line a cache for this bundle and this Node must carry; undefined: no caching. */
function cacheKey(source, stat) {
  const mark = source.lastIndexOf(BUILD_MARK)
  if (mark === -1) return undefined
  const sha = source.slice(mark + BUILD_MARK.length).trim()
  const { version, arch } = process
  return [FORMAT, version, arch, process.versions.v8, sha, stat.dev, stat.ino, stat.size, stat.mtimeMs, stat.ctimeMs].join(' ')
}

/** The cache's header fields and payload when it is safe to read, else undefined. */
function readCache(file, owner) {
  let fd
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
    const stat = fstatSync(fd)
    const uid = process.geteuid?.()
    if (!stat.isFile() || (stat.uid !== uid && stat.uid !== owner) || (stat.mode & 0o022) !== 0) return undefined
    const data = readFileSync(fd)
    const newline = data.indexOf(10)
    if (newline === -1) return undefined
    const [key, kind, size] = data.subarray(0, newline).toString('latin1').split('\t')
    const length = Number(size)
    const first = data.subarray(newline + 1, newline + 1 + length)
    if (!(length > 0) || data.length !== newline + 1 + 2 * length || !first.equals(data.subarray(newline + 1 + length))) return undefined
    return { key, kind, data: first }
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Writes the cache atomically (a temp file renamed over it), by one writer at a time: the temp
 * name is fixed and taken with O_EXCL, so a second writer (or a read-only install, which fails
 * the same open) skips it before paying for `createCachedData`. A temp file a killed writer left
 * behind is removed after a minute. No fsync: a torn file fails the checks above.
 */
function writeCache(file, key, kind, produce) {
  const temp = `${file}.tmp`
  let fd
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644)
  } catch (err) {
    try {
      if (err.code === 'EEXIST' && Date.now() - statSync(temp).mtimeMs > 60_000) unlinkSync(temp)
    } catch {
      // gone meanwhile
    }
    return
  }
  try {
    const data = produce()
    const content = Buffer.concat([Buffer.from(`${key}\t${kind}\t${data.length}\n`, 'latin1'), data, data])
    for (let at = 0; at < content.length; ) at += writeSync(fd, content, at)
    closeSync(fd)
    fd = undefined
    renameSync(temp, file)
  } catch {
    try {
      if (fd !== undefined) closeSync(fd)
      unlinkSync(temp) // ours: this process created it
    } catch {
      // already gone
    }
  }
}

/**
 * A short tag for what else a cache depends on: V8 rejects a cache made under other flags, so
 * callers that differ (NODE_OPTIONS, node's own arguments) each get their file instead of
 * replacing one another's at every call. FNV-1a: hashing modules cost milliseconds to load.
 */
function flagsTag() {
  const text = `${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h.toString(16).padStart(8, '0')
}

/** Compiles and runs the bundle at `path` (as a CommonJS module) for `args`. */
function runBundle(path, args) {
  const source = readFileSync(path, 'utf8')
  const stat = statSync(path)
  const key = cacheKey(source, stat)
  const file = `${path}.${process.version}-${process.arch}-${flagsTag()}.v8cache`
  const kind = isLight(args) ? 'light' : 'full'
  const cache = key === undefined ? undefined : readCache(file, stat.uid)
  const valid = cache !== undefined && cache.key === key
  // The wrapper's first line is its own, so line numbers in stack traces are the bundle's.
  const script = new vm.Script(`(function (${PARAMS.join(', ')}) {\n${source}\n})`, {
    filename: path,
    lineOffset: -1,
    cachedData: valid ? cache.data : undefined,
  })
  if (key !== undefined && (!valid || script.cachedDataRejected === true || (cache.kind === 'light' && kind === 'full'))) {
    // on exit: the cache then holds the functions this command compiled, not only the top level
    process.once('exit', () => writeCache(file, key, kind, () => script.createCachedData()))
  }
  const module = { exports: {}, filename: path, id: path }
  const url = pathToFileURL(path).href
  const importer = (specifier) => import(specifier)
  script.runInThisContext().call(module.exports, module.exports, createRequire(path), module, path, dirname(path), url, importer)
}

module.exports = { runBundle }
