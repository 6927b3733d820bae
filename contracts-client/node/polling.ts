/** How the waiting actions poll the node: how long in all, and how often. */
export type PollingParameters = { timeoutMs?: number; pollIntervalMs?: number }

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
