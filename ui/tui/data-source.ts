/**
 * What the terminal UI needs from a capture, and nothing more. The CLI implements
 * this over the capture index (file or live); the UI never sees frames, flows or
 * the dissector. Kept free of blessed types so a source can be written and tested
 * without a terminal library.
 *
 * Identity: a row's `index` (the exchange number shown in the "No." column) is
 * stable for the whole session; a *position* (0 … rowCount()-1) is where a row
 * sits in the current view and changes with the filter or the conversation.
 * The view is ordered by `index`, ascending.
 *
 * Strings in rows, trees and statistics are raw (they may hold bytes from a
 * packet): the UI escapes every one of them before it reaches the terminal.
 * Do not escape them beforehand (ui/text-safety.ts): the backslashes of those
 * escapes would be shown doubled.
 */
import type { Transport } from "../../capture/transport.js";

export type RowKind = "exchange" | "unmatched-call" | "orphan-reply" | "malformed" | "gap";

/** One line of the exchange list: a summary, cheap to produce on demand. */
export interface ExchangeRow {
  /** Exchange number, stable across filters (the "No." column). */
  readonly index: number;
  readonly kind: RowKind;
  /** First frame of the exchange (Wireshark's numbering). */
  readonly firstFrame: number;
  /** Seconds since the first frame of the capture. */
  readonly time: number;
  /** "address:port" of the caller. */
  readonly client: string;
  /** "address:port" of the callee. */
  readonly server: string;
  readonly transport: Transport;
  readonly xid: number | null;
  /** Program and version as the user should read it, e.g. "NFS v3", "100099 v1". */
  readonly program: string;
  readonly procedure: string;
  /** Short extra: COMPOUND operations, an NFS file name, a gap's size… */
  readonly info: string;
  /** Reply status as text ("NFS3_OK", "PROG_UNAVAIL", "no reply", …). */
  readonly status: string;
  /** Drawn as an error (RPC or program-level failure, malformed record). */
  readonly isError: boolean;
  /** Reply time minus call time in seconds, when both were seen. */
  readonly rtt: number | null;
  readonly callBytes: number;
  readonly replyBytes: number;
  readonly retransmits: number;
}

/** Byte range within one of the `Detail.bytes` records. */
export interface ByteRange {
  readonly message: "call" | "reply";
  readonly offset: number;
  readonly length: number;
}

/** One node of the decoded call + reply, as Wireshark's packet-details pane shows it. */
export interface TreeNode {
  readonly label: string;
  readonly children: readonly TreeNode[];
  /**
   * Stable name of the node's kind ("rpc.cred", "nfs.fattr3"), used to remember
   * which nodes the user expanded when they move to another exchange. Optional:
   * without it the node's position among its siblings is used.
   */
  readonly key?: string;
  /** Bytes to highlight when the node is selected. */
  readonly range?: ByteRange;
  readonly isError?: boolean;
}

/** The bytes of one RPC message (record without marks), and where they came from. */
export interface DetailBytes {
  readonly message: "call" | "reply";
  readonly bytes: Uint8Array;
  /** Frames the record was assembled from, in stream order. */
  readonly frames: readonly number[];
}

export interface Detail {
  /** Call and reply as one tree (top-level nodes: RPC call, program call, RPC reply, …). */
  readonly tree: readonly TreeNode[];
  readonly bytes: readonly DetailBytes[];
}

export type FilterResult =
  | { readonly ok: true }
  /** `column` is the 0-based offset in the expression where the problem is. */
  | { readonly ok: false; readonly column: number; readonly message: string };

export interface IssueCounts {
  readonly exchanges: number;
  readonly errors: number;
  readonly unmatched: number;
  readonly malformed: number;
  readonly gaps: number;
}

export interface Progress {
  /** False while the file is still being indexed in the background. */
  readonly done: boolean;
  /** 0 … 1 while loading a file when the total is known; null otherwise (live, stdin). */
  readonly fraction: number | null;
  /** Over the whole capture (not only the current view). */
  readonly counts: IssueCounts;
}

export interface TuiDataSource {
  /** File name or interface name, shown in the status line. */
  readonly title: string;
  /** True for a live capture: the list follows new rows until the user scrolls up. */
  readonly live: boolean;

  /** Rows in the current view (filter and conversation applied). */
  rowCount(): number;
  /** The row at a position of the current view, 0 ≤ position < rowCount(). */
  row(position: number): ExchangeRow;
  /**
   * Position in the current view of the row with this exchange index or, when that
   * row is not in the view, of the first row after it (rowCount() if none): a
   * lower bound, so the selection stays near the same place when the view changes.
   */
  positionOf(exchangeIndex: number): number;
  /**
   * Position of the nearest row strictly after (direction 1) or before (-1)
   * `position` whose `isError` is set, or null. Sources with an error index answer
   * without reading every row in between.
   */
  nextError(position: number, direction: 1 | -1): number | null;

  /** Decoded call + reply of one exchange; may re-read the capture file. */
  detail(exchangeIndex: number): Promise<Detail>;

  /**
   * Compile and apply a display filter; null clears it. On error the view is
   * unchanged. A source may fill the new view in the background: answer ok at
   * once and report the rows as they come through `onChange`.
   */
  setFilter(expression: string | null): FilterResult;
  /** Restrict the view to the conversation of this exchange (null: all conversations). */
  setConversation(exchangeIndex: number | null): void;

  progress(): Progress;
  /** Text of the statistics screen (RPC programs, procedures, RTTs, errors…). */
  statsLines(): readonly string[];
  /**
   * Round-trip time in seconds above which an exchange is marked slow (e.g. the
   * 95th percentile of the capture), or null to let the UI use its own threshold.
   */
  slowRtt(): number | null;

  /** Called when rows are added or change (background loading, live capture). Returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}
