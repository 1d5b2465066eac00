import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { waitForAsync } from '../helpers/wait-async.js'

/** Debian's nginx (`apt-get install nginx`; .ci/run installs it). */
export const NGINX = '/usr/sbin/nginx'

export interface Nginx {
  readonly pid: number
  readonly port: number
  /** nginx's error log so far, for failure messages. */
  errorLog(): string
  /** SIGTERM to the master (by its PID), which stops its workers; resolves once it exited. */
  stop(): Promise<void>
}

/**
 * The main config, a stand-in for Debian's /etc/nginx/nginx.conf, that includes `site` inside
 * `http { }` as Debian includes conf.d/*.conf. Everything nginx writes lives under `dir`. It
 * gzips whatever it may (JSON, and event streams too), so a stream arrives uncompressed only
 * because the site itself says `gzip off`.
 */
function mainConfig(dir: string, sitePath: string): string {
  return `daemon off;
worker_processes 2;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
    access_log ${join(dir, 'access.log')};
    client_body_temp_path ${join(dir, 'client_body')};
    proxy_temp_path ${join(dir, 'proxy')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    scgi_temp_path ${join(dir, 'scgi')};
    gzip on;
    gzip_min_length 1;
    gzip_types application/json text/event-stream;
    include ${sitePath};
}
`
}

/**
 * Starts nginx in the foreground (`daemon off`, so its PID is the master's) with its own prefix,
 * PID file, logs and temp paths in `dir`, serving `site` (an http-level config that listens on
 * `port`). Resolves once the port accepts connections; fails with nginx's own words if it exits
 * first. A missing nginx is an error, never a skip.
 */
export async function startNginx(options: {
  dir: string
  port: number
  site: string
}): Promise<Nginx> {
  const { dir, port, site } = options
  if (!existsSync(NGINX)) {
    throw new Error(`${NGINX} is missing: apt-get install nginx (.ci/run does)`)
  }
  // Run as root, nginx's workers drop to `nobody`, who must reach the temp paths under `dir`.
  chmodSync(dir, 0o755)
  const sitePath = join(dir, 'tickstorm.conf')
  const configPath = join(dir, 'nginx.conf')
  const errorLogPath = join(dir, 'error.log')
  writeFileSync(sitePath, site)
  writeFileSync(configPath, mainConfig(dir, sitePath))
  writeFileSync(errorLogPath, '')

  // -e: the error log from the first line on, before nginx has read the config.
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', configPath, '-e', errorLogPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  let hasExited = false
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      hasExited = true
      resolve()
    }),
  )
  const errorLog = () => readFileSync(errorLogPath, 'utf8')
  const pid = child.pid!

  const stop = async () => {
    if (!hasExited) process.kill(pid, 'SIGTERM')
    await exited
  }

  try {
    await waitForAsync(
      `nginx to listen on 127.0.0.1:${port}`,
      async () => hasExited || (await accepts(port)),
    )
  } catch (error) {
    await stop()
    throw error
  }
  if (hasExited) throw new Error(`nginx exited at start: ${output}${errorLog()}`)
  return { pid, port, errorLog, stop }
}

/** True if something accepts a TCP connection on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
