/**
 * A server process the harness may sample and fault: the embedded tickstorm, a server it started
 * from `target.command`, or one it was given the pid of. Faults (`stall`, `restart`) and the
 * runner need only this.
 */
export interface ServerProcess {
  readonly url: string
  /** The process sampled for CPU and memory (a restart makes a new one). */
  readonly pid: number
  /** Stops what the harness started (an attached server is only let go if it was frozen). */
  stop(): Promise<void>
  /** Freezes the server (SIGSTOP) for `ms`, then lets it go on (SIGCONT): a stalled server. */
  stall(ms: number): void
  /** Freezes the server (SIGSTOP) until it is stopped or restarted. */
  freeze(): void
  /** Kills the server (SIGKILL) and starts it again on the same port: a crash and restart. */
  restart(): Promise<void>
}
