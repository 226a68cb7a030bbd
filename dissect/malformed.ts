/**
 * The one error kind that means "bad input". Each stage catches it at exactly one
 * place and turns it into a partial result plus an issue; any other exception is a bug.
 *
 * - truncated: past what was captured (snaplen cut the packet)
 * - short: past what the packet itself declared
 * - over-limit: a length or count beyond a configured limit (see Limits)
 * - invalid: a value that cannot be right (RPC version 3, bool = 7, …)
 */
export type MalformedCode = "truncated" | "short" | "over-limit" | "invalid";

export class Malformed extends Error {
  constructor(
    readonly code: MalformedCode,
    readonly offset: number,
    readonly path: readonly (string | number)[],
    readonly detail: string,
  ) {
    super(`${code} at +${offset}${path.length ? ` (${formatPath(path)})` : ""}: ${detail}`);
    this.name = "Malformed";
  }
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

/** Named anomalies, Zeek-style: nothing is dropped without one. */
export type IssueCode =
  | "malformed"
  | "gap"
  | "resync"
  | "record-too-long"
  | "zero-length-fragment"
  | "pending-evicted"
  | "unanswered"
  | "unpaired-reply"
  | "retransmission"
  | "retransmit-mismatch"
  | "duplicate-reply"
  | "trailing-bytes"
  | "truncated"
  | "not-rpc"
  | "body-undecoded"
  | "encrypted";

export interface Issue {
  readonly code: IssueCode;
  readonly detail: string;
  /** Byte offset within the message (record) where it applies, when known. */
  readonly offset?: number;
}
