/** How the waiting actions poll the node: how long in all, how often, and what stops them. */
export type PollingParameters = {
  timeoutMs?: number
  pollIntervalMs?: number
  /** Stops the wait (a page navigated away, a command interrupted): the action rejects with the signal's reason. */
  signal?: AbortSignal
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
