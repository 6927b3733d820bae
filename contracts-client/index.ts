/**
 * Cartenix client library: submit build requests, follow them through the rollups node, decode
 * notices and vouchers, validate them on-chain, execute vouchers, read the registry. Works with
 * the real rollups node v2 and with the dev node alike, in Node and in a browser: nothing this
 * entry imports needs Node (test/layers.test.ts checks it). What does (rebuilding locally,
 * deploying the registry, the binary cache gateway) is in host.ts, which re-exports this too.
 */
export { createNodeClient, type NodeClient } from './node/client.ts'
export type { NodeInput, NodeOutput, NodeReport, NodeEpoch, NodeApplication, InputStatus, EpochStatus, DecodedOutput } from '../dapp/protocol/nodeApi.ts'
export { describeInputStatus, inputStatusWords } from '../dapp/protocol/nodeApi.ts'
export { withBuildResult, type CartenixOutput } from './node/outputs.ts'
export { decodeReport, reportReason, failureReportTypes, type DecodedReport, type AdvanceReport, type ReportType } from '../dapp/protocol/reports.ts'
export type { InspectQuery, InspectAnswer } from '../dapp/protocol/inspect.ts'
export { requestBuild, type BuildRequestInput, type RequestBuildParameters, type RequestBuildReturnType } from './actions/requestBuild.ts'
export { getInput, type GetInputParameters } from './actions/getInput.ts'
export { listInputs, type ListInputsParameters, type ListInputsReturnType } from './actions/listInputs.ts'
export { listEpochs, type ListEpochsParameters, type ListEpochsReturnType } from './actions/listEpochs.ts'
export { getApplication, type GetApplicationParameters, type GetApplicationReturnType } from './actions/getApplication.ts'
export { listApplications, type ListApplicationsParameters, type ListApplicationsReturnType } from './actions/listApplications.ts'
export { inspectState, type InspectStateParameters, type InspectStateReturnType } from './actions/inspectState.ts'
export { waitForResult, type WaitForResultParameters, type WaitForResultReturnType } from './actions/waitForResult.ts'
export { waitForProof, type WaitForProofParameters } from './actions/waitForProof.ts'
export { listOutputs, type ListOutputsParameters, type ListOutputsReturnType } from './actions/listOutputs.ts'
export { getOutput, type GetOutputParameters } from './actions/getOutput.ts'
export { listReports, type ListReportsParameters } from './actions/listReports.ts'
export { validateNotice, type ValidateNoticeParameters, type ValidateNoticeReturnType } from './actions/validateNotice.ts'
export { executeVoucher, type ExecuteVoucherParameters, type ExecuteVoucherReturnType } from './actions/executeVoucher.ts'
export { uploadSource, type UploadSourceParameters, type UploadSourceReturnType, type UploadProgress } from './actions/uploadSource.ts'
export { readRegistry, type RegistryEntry } from './actions/readRegistry.ts'
export { readConsensus, listClaims, votesByEpoch, type ConsensusFacts, type Claim, type ListClaimsParameters, type EpochVotes } from './actions/listClaims.ts'
export { requestBytes } from '../dapp/protocol/request.ts'
export { encodeUploadChunk, decodeUploadChunk, encodeSourceAdded, decodeSourceAdded, isSourceAdded, chunkRange, chunkCount, maxChunkBytes, type UploadChunk, type SourceAdded, type SourceMode } from '../dapp/protocol/sourceUpload.ts'
export { encodeBuildResult, decodeBuildResult, encodeCallback, decodeCallback, buildResultStruct, type BuildResult, type BuildOutput, type ClosurePath } from '../dapp/protocol/buildResult.ts'
export { inputBoxAbi, etherPortalAbi, authorityAbi, quorumAbi, applicationAbi, inputsAbi, outputsAbi, dataAvailabilityAbi } from './abi/rollups.ts'
export { cartenixRegistryAbi } from './contracts/registryAbi.ts'
export { CartenixError } from '../dapp/lib/errors.ts'
export { InputNotAcceptedError, WaitTimeoutError, OutputNotProvenError, VoucherAlreadyExecutedError, NotAVoucherError } from './errors/build.ts'
export { NodeRpcError, NodeUnreachableError } from './errors/node.ts'
