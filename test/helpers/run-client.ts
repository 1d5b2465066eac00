import { spawn } from 'node:child_process'

export interface ClientRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a client program we did not write (curl, ab) to its end and resolves with what it said.
 * The caller bounds it with the program's own timeout option (`--max-time`, `-s`).
 */
export function runClient(program: string, args: readonly string[]): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Debian's curl: a client nobody on the project wrote. */
export const CURL = '/usr/bin/curl'

/**
 * One curl request that keeps no body and prints only `writeOut` (curl's -w variables, such as
 * `%{http_code}`): `protocol` is a curl flag (`--http1.0`, `--http2-prior-knowledge`, …).
 */
export function curlWriteOut(
  url: string,
  protocol: string,
  options: { maxTimeSec: number; writeOut?: string },
): Promise<ClientRun> {
  const { maxTimeSec, writeOut = '%{http_code}' } = options
  return runClient(CURL, [
    '-sS',
    protocol,
    '--max-time',
    String(maxTimeSec),
    '-o',
    '/dev/null',
    '-w',
    writeOut,
    url,
  ])
}
