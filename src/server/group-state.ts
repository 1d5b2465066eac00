import type { PollSlot } from './poll-hub.js'
import type { SseSlot } from './sse-hub.js'
import type { WsSlot } from './ws-hub.js'

/** What each transport keeps per subscription group. */
export interface GroupState {
  readonly sse: SseSlot
  readonly poll: PollSlot
  readonly ws: WsSlot
}

export function createGroupState(_subscription: unknown, id: number): GroupState {
  return { sse: { members: [] }, poll: { parked: [] }, ws: { members: 0, topic: `g${id}` } }
}
