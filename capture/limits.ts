/**
 * Every resource limit in one place, with documented defaults. Each stage reads
 * the limits it needs from this object; the CLI sets them from flags. Hitting a
 * limit is never silent: the stage that hits it reports a named issue.
 */
export interface Limits {
  /** Largest ONC-RPC record (sum of fragments) we will assemble. */
  readonly maxRecordBytes: number;
  /** Largest libvirt message (libvirt's own VIR_NET_MESSAGE_MAX is 32 MiB + header). */
  readonly maxLibvirtMessageBytes: number;
  /** Out-of-order bytes buffered per TCP direction before we flush forward with a gap. */
  readonly maxTcpBufferedPerDirection: number;
  /** Out-of-order bytes buffered over all flows. */
  readonly maxTcpBufferedTotal: number;
  /** Flows tracked at once; the least recently seen is evicted beyond this. */
  readonly maxFlows: number;
  /** A flow idle for this many capture-time seconds is evicted. */
  readonly flowIdleSeconds: number;
  /** IP datagrams being reassembled from fragments at once. */
  readonly maxFragmentBuffers: number;
  /** Bytes held in fragment buffers over all datagrams. */
  readonly maxFragmentBytesTotal: number;
  /** Seconds (capture time) a fragment buffer waits for its missing pieces. */
  readonly fragmentTimeoutSeconds: number;
  /** Calls waiting for a reply; the oldest is evicted beyond this. */
  readonly maxPendingCalls: number;
  /** Capture-time seconds a call waits for its reply before it is reported unanswered. */
  readonly replyTimeoutSeconds: number;
  /**
   * Answered (and given-up) calls remembered to recognise a retransmission that
   * crosses its reply, a duplicate reply, or a late reply: at most this many, for
   * at most `recentAnsweredSeconds`. Each is a row of numbers (about 80 bytes);
   * only the newest 512 also keep their exchange for a late message to join.
   */
  readonly maxRecentAnswered: number;
  readonly recentAnsweredSeconds: number;
  /** Elements in one XDR array. */
  readonly maxXdrArrayElements: number;
  /** Nesting depth of XDR values (structs, unions, arrays, optional data). */
  readonly maxXdrDepth: number;
  /** Length of one XDR opaque or string. */
  readonly maxXdrOpaqueBytes: number;
  /** Fields produced while decoding one body. */
  readonly maxXdrFieldsPerBody: number;
  /** Nesting of .x includes and type references while resolving a schema. */
  readonly maxSchemaDepth: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxRecordBytes: 16 * 1024 * 1024,
  maxLibvirtMessageBytes: 32 * 1024 * 1024 + 24,
  maxTcpBufferedPerDirection: 8 * 1024 * 1024,
  maxTcpBufferedTotal: 256 * 1024 * 1024,
  maxFlows: 65_536,
  flowIdleSeconds: 600,
  maxFragmentBuffers: 4_096,
  maxFragmentBytesTotal: 64 * 1024 * 1024,
  fragmentTimeoutSeconds: 30,
  maxPendingCalls: 100_000,
  replyTimeoutSeconds: 120,
  maxRecentAnswered: 8_192,
  recentAnsweredSeconds: 30,
  maxXdrArrayElements: 1_000_000,
  maxXdrDepth: 64,
  maxXdrOpaqueBytes: 16 * 1024 * 1024,
  maxXdrFieldsPerBody: 200_000,
  maxSchemaDepth: 64,
});

export function withLimits(overrides: Partial<Limits>): Limits {
  return Object.freeze({ ...DEFAULT_LIMITS, ...overrides });
}
