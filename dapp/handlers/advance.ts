import { keccak256, pad, type Hex } from 'viem'
import { buildResultVersion, encodeBuildResult, encodeCallback, type BuildResult } from '../protocol/buildResult.ts'
import { buildDerivation } from '../nix/build.ts'
import { BuildFailedError, EvaluationError, MissingSourcesError, NotReproducibleError } from '../nix/errors.ts'
import { narHashToHex } from '../protocol/narHash.ts'
import { describeTarget, instantiate } from '../nix/instantiate.ts'
import { logExcerpt } from '../nix/log.ts'
import { parseBuildRequest, requestBytes } from '../protocol/request.ts'
import { RollupRequestError } from '../protocol/rollupClient.ts'
import { type AdvanceRequest, type FinishStatus } from '../protocol/rollupHttp.ts'
import { sendReport, type BackendContext } from '../context.ts'
import { buildResultToJson } from '../protocol/reports.ts'
import { isUploadPayload } from '../protocol/sourceUpload.ts'
import { handleUpload } from './upload.ts'

/**
 * One build request: parse, evaluate, check sources, build, publish. A request that cannot be
 * built as asked (malformed, fails to evaluate, misses a source) is rejected with a report that
 * says why. A build that runs and fails is a fact worth proving: a notice with success false,
 * plus a report with the log tail, and the input is accepted.
 */
export async function handleAdvance(context: BackendContext, request: AdvanceRequest): Promise<FinishStatus> {
  const { metadata } = request.data
  const payload = requestBytes({ payload: request.data.payload, sender: metadata.msg_sender }, context.config.etherPortal)
  if (isUploadPayload(payload)) return handleUpload(context, request, payload)
  const parsed = parseBuildRequest(payload)
  if (!parsed.ok) {
    await sendReport(context, { type: 'rejected', reason: parsed.reason })
    return 'reject'
  }
  const { target, callback } = parsed.request
  const name = describeTarget(target)
  context.log(`input ${metadata.input_index}: ${name}`)

  let drvPath: string
  try {
    const drvPaths = await instantiate(target, { system: context.system, timeoutMs: context.config.evalTimeoutMs, memoryBytes: context.config.evalMemoryBytes })
    if (drvPaths.length !== 1) {
      await sendReport(context, { type: 'rejected', reason: `${name} must evaluate to exactly one derivation, got ${drvPaths.length}` })
      return 'reject'
    }
    drvPath = drvPaths[0] ?? ''
  } catch (error) {
    if (!(error instanceof EvaluationError)) throw error
    await sendReport(context, { type: 'rejected', reason: 'evaluation failed', log: logExcerpt(error.log, context.config.logTailBytes) })
    return 'reject'
  }

  const base = {
    version: buildResultVersion,
    requestHash: keccak256(payload),
    inputIndex: BigInt(metadata.input_index),
    system: context.system,
    drvPath,
  }
  let result: BuildResult
  try {
    const built = await buildDerivation(drvPath, {
      system: context.system,
      reproduce: true,
      buildTimeoutMs: context.config.buildTimeoutMs,
      logTailBytes: context.config.logTailBytes,
      maxFileBytes: context.config.buildMaxFileBytes,
      maxProcesses: context.config.buildMaxProcesses,
      minFreeDiskBytes: context.config.buildMinFreeDiskBytes,
    })
    result = {
      ...base,
      success: true,
      outputs: built.outputs.map((o) => ({ name: o.name, path: o.path, narHash: narHashToHex(o.narHash), narSize: o.narSize, references: o.references })),
      closure: built.closure.map((c) => ({ path: c.path, narHash: narHashToHex(c.narHash), narSize: c.narSize, references: c.references })),
    }
  } catch (error) {
    if (error instanceof MissingSourcesError) {
      await sendReport(context, {
        type: 'rejected',
        reason: 'fixed-output sources missing from the machine; nothing was built',
        drvPath,
        missing: error.missing.map((m) => ({ name: m.name, mode: m.mode, sha256: m.sha256, storePath: m.storePath })),
      })
      return 'reject'
    }
    if (error instanceof NotReproducibleError) {
      result = { ...base, success: false, outputs: [] }
      await sendReport(context, { type: 'not-reproducible', drvPath, derivation: error.derivation, logTail: error.logTail })
    } else {
      if (!(error instanceof BuildFailedError)) throw error
      result = { ...base, success: false, outputs: [] }
      await sendReport(context, { type: 'build-failed', drvPath, logTail: error.logTail })
    }
  }

  try {
    await publish(context, result, callback)
  } catch (error) {
    if (!(error instanceof RollupRequestError)) throw error
    // The node refused an output: the input cannot be accepted without it. Say so, with the
    // result, rather than lose it silently.
    await sendReport(context, { type: 'rejected', reason: `could not emit the result: ${error.message}`, result: buildResultToJson(result) })
    return 'reject'
  }
  return 'accept'
}

async function publish(context: BackendContext, result: BuildResult, callback: Hex | undefined): Promise<void> {
  context.results.stage(result)
  const notice = await context.rollup.notice(encodeBuildResult(result))
  context.log(`input ${result.inputIndex}: notice ${notice} ${result.success ? 'built' : 'failed'} ${result.drvPath}`)
  if (callback && result.success) {
    // The rollup API takes the value as a 32-byte big-endian uint256.
    const voucher = await context.rollup.voucher(callback, pad('0x0', { size: 32 }), encodeCallback(result))
    context.log(`input ${result.inputIndex}: voucher ${voucher} to ${callback}`)
  }
  await sendReport(context, { type: result.success ? 'built' : 'failed', result: buildResultToJson(result) })
}
