import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterEach, expect } from 'vitest'

const BIN = fileURLToPath(new URL('../../bin/tickstorm.js', import.meta.url))
const children: ChildProcess[] = []

export interface Run {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exit: Promise<number | null>
}

/** The CLI runs from compiled output, as users run it; `npm test` builds first. */
export function expectBuilt(): void {
  expect(
    existsSync(new URL('../../dist/src/cli/main.js', import.meta.url)),
    'run `npm run build` first',
  ).toBe(true)
}

/** Runs the real CLI (compiled, as users run it) with plain node. */
export function tickstorm(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, stdout: () => stdout, stderr: () => stderr, exit }
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
})
