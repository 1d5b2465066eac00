#!/usr/bin/env node
// The system programs the test suite runs: real browsers, proxies and brokers from Debian's
// packages, never stand-ins. `npm test` runs this first (pretest), and so does `.ci/run`.
// As root it installs whatever is missing (`apt-get update` once, then `apt-get install`);
// otherwise it stops before any test runs with the one command to type. A missing program is a
// failure, never a skipped test: a suite that skips its browser test is green and proves less.
//
// Plain Node, no dependencies: it runs before `npm ci` has built anything.
import { spawnSync } from 'node:child_process'
import { accessSync, constants, readFileSync } from 'node:fs'

/** Program the tests run → the Debian package that ships it (the one list, read by a test too). */
const SYSTEM_DEPS = JSON.parse(readFileSync(new URL('./system-deps.json', import.meta.url), 'utf8'))

/** An nginx module (`.so`) is loaded, not run: it need only be readable. */
function present(path) {
  try {
    accessSync(path, path.endsWith('.so') ? constants.R_OK : constants.X_OK)
    return true
  } catch {
    return false
  }
}

function runnable(path) {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function run(command, args) {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  return result.status === 0
}

const missing = SYSTEM_DEPS.filter((dep) => !present(dep.program))
if (missing.length === 0) process.exit(0)

const packages = [...new Set(missing.map((dep) => dep.package))]
const install = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (!isRoot || !runnable('/usr/bin/apt-get')) {
  process.stderr.write(
    `tests: missing ${missing.map((dep) => `${dep.program} (${dep.for})`).join(', ')}; run: sudo sh -c '${install}'\n`,
  )
  process.exit(1)
}

process.stderr.write(`tests: installing Debian packages the suite needs: ${packages.join(' ')}\n`)
const installed =
  run('apt-get', ['update', '-qq']) &&
  run('apt-get', [
    'install',
    '-y',
    '-qq',
    '-o',
    'Dpkg::Use-Pty=0',
    '--no-install-recommends',
    ...packages,
  ])
const stillMissing = SYSTEM_DEPS.filter((dep) => !present(dep.program))
if (!installed || stillMissing.length > 0) {
  process.stderr.write(
    `tests: could not install ${packages.join(' ')}${stillMissing.length > 0 ? ` (still missing: ${stillMissing.map((dep) => dep.program).join(', ')})` : ''}; run: ${install}\n`,
  )
  process.exit(1)
}
