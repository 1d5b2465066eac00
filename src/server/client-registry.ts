/**
 * Connections by the client id a page chooses for itself (`client=<id>`), so that the demo page's
 * "drop connection" button can ask the server to cut exactly its own connection, as a network
 * fault would, and show the automatic resume. Ids are the client's own random strings.
 */
export interface ClientRegistry {
  /** Remembers how to cut one connection of `clientId`; returns the forget function. */
  add(clientId: string, cut: () => void): () => void
  /** Cuts every connection of `clientId`; returns how many. */
  cut(clientId: string): number
  readonly size: number
}

/** `[A-Za-z0-9_-]{1,64}`: safe in URLs and logs. */
export const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/

export function createClientRegistry(): ClientRegistry {
  const clients = new Map<string, Set<() => void>>()
  return {
    get size() {
      return clients.size
    },
    add(clientId, cut) {
      let set = clients.get(clientId)
      if (set === undefined) {
        set = new Set()
        clients.set(clientId, set)
      }
      set.add(cut)
      return () => {
        set.delete(cut)
        if (set.size === 0 && clients.get(clientId) === set) clients.delete(clientId)
      }
    },
    cut(clientId) {
      const set = clients.get(clientId)
      if (set === undefined) return 0
      const cuts = [...set]
      for (const cut of cuts) cut()
      return cuts.length
    },
  }
}
