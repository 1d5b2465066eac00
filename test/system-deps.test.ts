import { accessSync, constants, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

/**
 * `npm test` installs the system programs in test/system-deps.json before any test runs. This
 * keeps that list honest: every program a test or a bench runs by path is in it, and every
 * program in it is there, so a new user's first `npm test` never meets a missing one mid-suite.
 */
interface SystemDep {
  readonly program: string
  readonly package: string
  readonly for: string
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DEPS: readonly SystemDep[] = JSON.parse(
  readFileSync(join(ROOT, 'test/system-deps.json'), 'utf8'),
)
/** Run by the installer itself, never by a test. */
const INSTALLER_ONLY = new Set(['/usr/bin/apt-get'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.(ts|mts|mjs|js)$/.test(entry.name) ? [path] : []
  })
}

/** Quoted absolute paths of system programs under /usr/bin and /usr/sbin in a file. */
function programsIn(text: string): string[] {
  return [...text.matchAll(/['"`](\/usr\/s?bin\/[\w.+-]+)['"`]/g)].map((match) => match[1]!)
}

describe('the system programs the suite needs', () => {
  test('every program a test or bench runs by path is in test/system-deps.json', () => {
    const listed = new Set(DEPS.map((dep) => dep.program))
    const unlisted = ['test', 'bench'].flatMap((dir) =>
      sourceFiles(join(ROOT, dir)).flatMap((file) =>
        programsIn(readFileSync(file, 'utf8'))
          .filter((program) => !listed.has(program) && !INSTALLER_ONLY.has(program))
          .map((program) => `${relative(ROOT, file)}: ${program}`),
      ),
    )
    expect(unlisted).toEqual([])
  })

  test('each listed program is installed and runnable (npm test installs them first)', () => {
    const missing = DEPS.filter((dep) => {
      try {
        // An nginx module is loaded, not run: readable is enough (as test/system-deps.mjs checks).
        accessSync(dep.program, dep.program.endsWith('.so') ? constants.R_OK : constants.X_OK)
        return false
      } catch {
        return true
      }
    }).map((dep) => `${dep.program} (apt-get install ${dep.package})`)
    expect(missing).toEqual([])
  })

  test('the scan finds a path the way tests write them', () => {
    expect(programsIn(`const NGINX = '/usr/sbin/nginx'; spawn("/usr/bin/redis-server")`)).toEqual([
      '/usr/sbin/nginx',
      '/usr/bin/redis-server',
    ])
  })
})
