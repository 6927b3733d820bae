/**
 * Cartenix client library: submit build requests, follow them through the rollups node, decode
 * notices and vouchers, validate them on-chain, execute vouchers, and rebuild locally to check.
 * Works with the real rollups node v2 and with the dev node alike.
 */
export { createNodeClient, type NodeClient } from './node/client.ts'
export type { NodeInput, NodeOutput, NodeReport, NodeEpoch, InputStatus, EpochStatus, DecodedOutput } from './node/wire.ts'
export type { CartenixOutput } from './node/outputs.ts'
export { requestBuild, type BuildRequestInput, type RequestBuildParameters, type RequestBuildReturnType } from './actions/requestBuild.ts'
export { getInput, type GetInputParameters } from './actions/getInput.ts'
export { listInputs, type ListInputsParameters, type ListInputsReturnType } from './actions/listInputs.ts'
export { getApplication, type GetApplicationParameters } from './actions/getApplication.ts'
export { inspectState, type InspectStateParameters, type InspectStateReturnType } from './actions/inspectState.ts'
export { waitForResult, type WaitForResultParameters, type WaitForResultReturnType } from './actions/waitForResult.ts'
export { waitForProof, type WaitForProofParameters } from './actions/waitForProof.ts'
export { listOutputs, type ListOutputsParameters, type ListOutputsReturnType } from './actions/listOutputs.ts'
export { getOutput, type GetOutputParameters } from './actions/getOutput.ts'
export { listReports, type ListReportsParameters } from './actions/listReports.ts'
export { validateNotice, type ValidateNoticeParameters, type ValidateNoticeReturnType } from './actions/validateNotice.ts'
export { executeVoucher, type ExecuteVoucherParameters } from './actions/executeVoucher.ts'
export { verifyLocally, requestBytes, type VerifyLocallyParameters, type VerifyLocallyReturnType } from './actions/verifyLocally.ts'
export { deployRegistry } from './actions/deployRegistry.ts'
export { readRegistry, type RegistryEntry } from './actions/readRegistry.ts'
export { encodeBuildResult, decodeBuildResult, encodeCallback, decodeCallback, buildResultStruct, type BuildResult, type BuildOutput } from './abi/buildResult.ts'
export { CartenixError } from './errors/base.ts'
export { InputNotAcceptedError, WaitTimeoutError, OutputNotProvenError, VoucherAlreadyExecutedError, NotAVoucherError } from './errors/build.ts'
export { NodeRpcError, NodeUnreachableError } from './errors/node.ts'
