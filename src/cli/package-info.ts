import { execFileSync } from 'node:child_process'
import { readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// Which tickstorm this is: its version and, in a checkout of its own, its commit.

/** The root of this package: dist/src/cli/main.js → ../../../ */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * The commit of this tickstorm's own checkout (recorded in every result, shown by --version), or
 * null when it is not one: an installed package inside someone else's repository must not report
 * that repository's commit, so the checkout's top level must be this package's root.
 */
export function packageCommit(): string | null {
  try {
    const [top, commit] = execFileSync(
      'git',
      ['-C', PACKAGE_ROOT, 'rev-parse', '--show-toplevel', '--short', 'HEAD'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    )
      .toString()
      .trim()
      .split('\n')
    if (top === undefined || commit === undefined) return null
    return realpathSync(top) === realpathSync(PACKAGE_ROOT) ? commit : null
  } catch {
    return null
  }
}

/** `tickstorm 0.1.0 (commit e8df0f8, Node v20.20.2)`: what to paste into a bug report. */
export function versionLine(): string {
  const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    version: string
  }
  const commit = packageCommit()
  return `tickstorm ${version} (${commit === null ? '' : `commit ${commit}, `}Node ${process.version})`
}
