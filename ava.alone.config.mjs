// Test files that must not run next to others: they mount named cgroup v1 hierarchies in the
// host's mount namespace, which every container created meanwhile by another file would join
// (as with runc) and then find gone. `npm run test:ts` runs them after the rest, on their own.
export default {
  files: ['test/alone/**/*.spec.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  timeout: '2m',
  concurrency: 1,
}
// One file of them: `npx ava --config ava.alone.config.mjs test/alone/<file>.spec.ts`.
