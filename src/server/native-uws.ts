import uWS from 'uWebSockets.js'
import { ERROR_CODES, TickstormError } from '../errors.js'

export type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  us_listen_socket,
  WebSocket,
} from 'uWebSockets.js'

/**
 * The npm build of uWebSockets.js falls back to a pure-JS server, with only a `console.warn`, when
 * its native addon fails to load (wrong Node ABI, glibc, platform) or when `UWS_USE_FALLBACK` is
 * set. That server is an order of magnitude slower and would make every figure tickstorm reports
 * meaningless, so it is refused. The native `App` is a C++ function: its source text is
 * `[native code]`.
 */
export function nativeUws(): typeof uWS {
  const source = Function.prototype.toString.call(uWS.App)
  if (!source.includes('[native code]')) {
    const abi = `${process.platform}-${process.arch}, Node ${process.version} (ABI ${process.versions.modules})`
    throw new TickstormError(
      ERROR_CODES.UWS_NOT_NATIVE,
      `uWebSockets.js is not running natively on ${abi}: it loaded its pure-JS fallback, ` +
        'which is too slow to measure anything. Check that UWS_USE_FALLBACK is not set, and use a ' +
        'Node version and platform the package ships a binary for (node_modules/uWebSockets.js/binaries).',
      {
        details: { platform: process.platform, arch: process.arch, abi: process.versions.modules },
      },
    )
  }
  return uWS
}
