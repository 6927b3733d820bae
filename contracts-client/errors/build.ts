import { CartenixError } from '../../dapp/lib/errors.ts'
import { reportReason, type DecodedReport } from '../../dapp/protocol/reports.ts'
import { describeInputStatus } from '../../dapp/protocol/nodeApi.ts'


/** The node processed the input and did not accept it; its reports say why. */
export class InputNotAcceptedError extends CartenixError {
  override name = 'InputNotAcceptedError' as const
  readonly inputIndex: bigint
  readonly status: string
  readonly reports: DecodedReport[]
  constructor(args: { inputIndex: bigint; status: string; reports: DecodedReport[] }) {
    const reasons = args.reports.map((r) => reportReason(r) ?? JSON.stringify(r.json ?? r.payload))
    super(`Input ${args.inputIndex} was not accepted: ${/^[A-Z_]+$/.test(args.status) ? describeInputStatus(args.status) : args.status}`, { details: reasons.join('\n') || undefined })
    this.inputIndex = args.inputIndex
    this.status = args.status
    this.reports = args.reports
  }
}

export class WaitTimeoutError extends CartenixError {
  override name = 'WaitTimeoutError' as const
  constructor(args: { what: string; timeoutMs: number }) {
    super(`Timed out after ${args.timeoutMs} ms waiting for ${args.what}`)
  }
}

/** An output whose epoch has no claim yet has no proof: there is nothing to validate or execute. */
export class OutputNotProvenError extends CartenixError {
  override name = 'OutputNotProvenError' as const
  constructor(args: { outputIndex: bigint }) {
    super(`Output ${args.outputIndex} has no proof yet: its epoch's claim is not computed (wait for it, or pass waitForClaim)`)
  }
}

export class VoucherAlreadyExecutedError extends CartenixError {
  override name = 'VoucherAlreadyExecutedError' as const
  constructor(args: { outputIndex: bigint; transactionHash?: string | null }) {
    super(`Voucher ${args.outputIndex} was already executed${args.transactionHash ? ` (transaction ${args.transactionHash})` : ''}; a voucher runs once`)
  }
}

export class NotAVoucherError extends CartenixError {
  override name = 'NotAVoucherError' as const
  constructor(args: { outputIndex: bigint; type: string }) {
    super(`Output ${args.outputIndex} is a ${args.type}, not a voucher: only vouchers can be executed`)
  }
}
