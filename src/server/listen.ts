import { createServer as createNetServer } from 'node:net'
import { ERROR_CODES, TickstormError } from '../errors.js'
import type { TemplatedApp, us_listen_socket } from './native-uws.js'

/**
 * uSockets' `LIBUS_LISTEN_EXCLUSIVE_PORT`: bind without SO_REUSEPORT. The typings only declare the
 * options argument for `listen(port, options, cb)`; the addon takes `(host, port, options, cb)`
 * as well (checked against this build: the exclusive bind fails beside any other listener).
 */
const LISTEN_EXCLUSIVE_PORT = 1

/** The one answer to a port that cannot be had, for the single server and the cluster alike. */
export function listenFailed(host: string, port: number, cause?: string): TickstormError {
  return new TickstormError(
    ERROR_CODES.LISTEN_FAILED,
    `cannot listen on ${host}:${port}: the port is in use (another tickstorm, or any other ` +
      'program) or the host is not an address of this machine',
    { details: { host, port, ...(cause === undefined ? {} : { cause }) } },
  )
}

type ListenWithOptions = (
  host: string,
  port: number,
  options: number,
  cb: (socket: us_listen_socket | false) => void,
) => TemplatedApp

/**
 * Binds `app` to `host:port`. This uWS build sets SO_REUSEPORT on every nonzero port it binds, so
 * a plain `listen` on a port another tickstorm already serves succeeds, and the kernel then splits
 * the clients between two unrelated markets. A server alone on its port therefore binds
 * exclusively: the bind itself is the check, so there is no window between a probe and the listen
 * for another process to slip into, whatever `host` resolves to (IPv4, IPv6, a name). Only the
 * workers of one cluster (`sharesPort`) bind with SO_REUSEPORT; `reservePort` checked the port
 * for them first.
 */
export function listenApp(
  app: TemplatedApp,
  host: string,
  port: number,
  sharesPort: boolean,
): Promise<us_listen_socket> {
  return new Promise<us_listen_socket>((resolve, reject) => {
    const done = (socket: us_listen_socket | false) => {
      if (socket) resolve(socket)
      else reject(listenFailed(host, port))
    }
    if (sharesPort) app.listen(host, port, done)
    else
      (app.listen as unknown as ListenWithOptions).call(
        app,
        host,
        port,
        LISTEN_EXCLUSIVE_PORT,
        done,
      )
  })
}

/**
 * For a cluster, before any worker starts: checks that the port is free (any other socket on it,
 * with or without SO_REUSEPORT, makes this exclusive bind fail) and resolves port 0 to a free port,
 * which every worker then binds with SO_REUSEPORT (uWS sets it only on a nonzero port).
 *
 * What this cannot close: between this probe and the workers' binds, a process of the same user
 * that also binds with SO_REUSEPORT (a second cluster starting at the same instant) could join the
 * port. Any other holder (a single tickstorm, which binds exclusively, or a program without
 * SO_REUSEPORT) makes the workers' own binds fail, and the cluster fails with this same error.
 */
export function reservePort(host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = createNetServer()
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(listenFailed(host, port, error.code ?? error.message))
    })
    probe.listen({ host, port, exclusive: true }, () => {
      const address = probe.address()
      const bound = typeof address === 'object' && address !== null ? address.port : port
      probe.close(() => resolve(bound))
    })
  })
}

/** `http://host:port` for a bound server, an IPv6 host in brackets. */
export function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}
