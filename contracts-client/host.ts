/**
 * The client library in Node: everything index.ts exports, plus what needs Node's file system,
 * child processes or solc: rebuilding a notice's derivation with the local Nix, deploying the
 * registry compiled from its source, and the binary cache gateway.
 */
export * from './index.ts'
export { verifyLocally, type VerifyLocallyParameters, type VerifyLocallyReturnType, type OutputComparison } from './actions/verifyLocally.ts'
export { deployRegistry } from './actions/deployRegistry.ts'
export { startCacheGateway, createCacheApp, type CacheGateway, type CacheGatewayOptions, type CacheGatewayStatus } from './cache/server.ts'
export { NoticeIndex, type NoticeIndexStatus } from './cache/notices.ts'
export { loadSigner, type NarInfoSigner } from './cache/signing.ts'
export { parseUpstream, type Upstream } from './cache/upstream.ts'
export { lockedFixedPaths, type FixedPath } from './cache/fixed.ts'
export { hashPart } from './cache/narinfo.ts'
export { SigningKeyError, UpstreamError, NarMismatchError } from './errors/cache.ts'
