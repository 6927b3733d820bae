import { decodeBuildResult, type BuildResult } from '../../dapp/protocol/buildResult.ts'
import { decodeSourceAdded, isSourceAdded, type SourceAdded } from '../../dapp/protocol/sourceUpload.ts'
import type { NodeOutput } from '../../dapp/protocol/nodeApi.ts'

/** An output as the node lists it, with the Cartenix BuildResult (or SourceAdded) when it is a Cartenix notice. */
export type CartenixOutput = NodeOutput & { result?: BuildResult; source?: SourceAdded }

export function withBuildResult(output: NodeOutput): CartenixOutput {
  if (output.decoded.type !== 'Notice') return output
  try {
    if (isSourceAdded(output.decoded.payload)) return { ...output, source: decodeSourceAdded(output.decoded.payload) }
    return { ...output, result: decodeBuildResult(output.decoded.payload) }
  } catch {
    // Not every notice of an application need be a BuildResult; such notices come back as they are.
    return output
  }
}
