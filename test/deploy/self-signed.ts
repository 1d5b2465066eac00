import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

export interface Certificate {
  readonly certPath: string
  readonly keyPath: string
}

/**
 * A throwaway P-256 certificate for 127.0.0.1 and localhost, valid for a day, made by the
 * `openssl` CLI in `dir`. Clients in the tests skip verification; nginx only needs a pair.
 */
export function selfSignedCertificate(dir: string): Certificate {
  const certPath = join(dir, 'cert.pem')
  const keyPath = join(dir, 'key.pem')
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
  } catch (error) {
    const cause = (error as { code?: string }).code === 'ENOENT' ? 'openssl is missing: ' : ''
    throw new Error(
      `${cause}could not make a certificate (apt-get install openssl; .ci/run does)`,
      {
        cause: error,
      },
    )
  }
  return { certPath, keyPath }
}
