import { ERROR_CODES, TickstormError } from '../../errors.js'
import { parseSubscribeRequest, type SubscribeRequest } from '../subscribe-request.js'

/**
 * Close codes the server uses (RFC 6455 §7.4): 1001 on shutdown, 1008 for a message that breaks
 * the protocol repeatedly, 1013 "try again later" when a socket cannot keep up.
 */
export const WS_CLOSE = Object.freeze({ GOING_AWAY: 1001, POLICY: 1008, TRY_AGAIN_LATER: 1013 })

export type ClientMessage = ({ op: 'subscribe' } & SubscribeRequest) | { op: 'unsubscribe' }

/** Parses one client message strictly; every failure is a coded `TS_ERR_BAD_MESSAGE`. */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new TickstormError(
      ERROR_CODES.BAD_MESSAGE,
      'message is not valid JSON; send {"op":"subscribe","symbols":["AAPL"]}',
    )
  }
  const op =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as { op?: unknown }).op
      : undefined
  if (op === undefined) {
    // `[1,2]`, `"text"`, `{}`: valid JSON that is no operation at all.
    throw new TickstormError(
      ERROR_CODES.BAD_MESSAGE,
      'a message must be a JSON object with an "op" field: {"op":"subscribe","symbols":["AAPL"]} ' +
        '(or "symbols":"*"), or {"op":"unsubscribe"}',
    )
  }
  if (op === 'unsubscribe') {
    if (Object.keys(value as object).length !== 1) {
      throw new TickstormError(ERROR_CODES.BAD_MESSAGE, 'unsubscribe takes no other keys')
    }
    return { op: 'unsubscribe' }
  }
  if (op !== 'subscribe') {
    throw new TickstormError(
      ERROR_CODES.BAD_MESSAGE,
      `unknown op ${JSON.stringify(op)}; use "subscribe" or "unsubscribe"`,
    )
  }
  return { op: 'subscribe', ...parseSubscribeRequest(value, ERROR_CODES.BAD_MESSAGE, ['op']) }
}
