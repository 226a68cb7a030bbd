/**
 * Places where rpcscope and tshark are expected to differ on a sample, each with the
 * reason. Keys are sample paths relative to the repository root; messages are
 * "frame/xid/kind" keys; fields name what differs ("presence" when one side lacks
 * the message entirely, or "all"). The test fails if an entry stops being needed.
 * In every case below tshark 4.0 decodes less than rpcscope; the synthetic README
 * (samples/synthetic/README.md) states the true content of each capture.
 */
export interface KnownDifference {
  readonly messages: readonly string[];
  readonly fields: readonly string[] | "all";
  readonly reason: string;
}

export const KNOWN_DIFFERENCES: Readonly<Record<string, readonly KnownDifference[]>> = {
  "samples/synthetic/midstream.pcap": [
    {
      messages: ["2/32769/call", "4/32770/call", "3/32769/reply", "5/32770/reply"],
      fields: ["presence", "peerFrame"],
      reason:
        "capture starts inside a record: tshark takes the tail's first 4 bytes for a record mark and loses the " +
        "server stream, so it shows neither reply; rpcscope resynchronises and pairs both",
    },
  ],
  "samples/synthetic/record-split.pcap": [
    {
      messages: ["19/4098/call", "23/4098/reply"],
      fields: ["presence", "peerFrame"],
      reason: "the DUMP reply's record mark is split across segments; tshark 4.0 shows it as continuation data",
    },
  ],
  "samples/synthetic/tcp-out-of-order.pcap": [
    {
      messages: ["7/8193/call", "11/8194/call", "19/8195/call", "10/8193/reply", "17/8194/reply", "20/8195/reply"],
      fields: ["presence", "peerFrame"],
      reason: "tshark 4.0 does not reassemble out-of-order segments by default (tcp.reassemble_out_of_order is off)",
    },
  ],
  "samples/synthetic/nanosecond.pcapng": [
    {
      messages: ["13/28676/call", "14/28676/reply"],
      fields: ["presence"],
      reason:
        "a call with rpcvers 3 answered by MSG_DENIED RPC_MISMATCH: tshark does not take it for RPC; rpcscope " +
        "shows the call (flagged malformed at offset 8) and pairs the denial with it",
    },
  ],
};
