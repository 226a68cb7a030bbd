/**
 * CSV output for `summary --csv` and `stats --csv`: one header row, then one
 * row per RPC message (summary) or per procedure / conversation / client
 * (stats). Rows end in "\n" when joined by the caller (every CSV reader takes
 * LF as well as RFC 4180's CRLF).
 *
 * Cells, in this order of treatment:
 *  1. text is escaped as for the terminal (ui/text-safety.ts): no control
 *     character, bidi override or line separator from a packet or a .x file
 *     reaches the file raw — a CSV opened in a terminal or a spreadsheet shows
 *     `\x1b`, not an escape sequence;
 *  2. a text cell that starts with = + - @ gets a leading ' so that a
 *     spreadsheet shows it as text instead of evaluating a formula (the OWASP
 *     "CSV injection" advice; tab and CR, also on that list, were escaped in 1);
 *     numeric cells are written by us from numbers and are never prefixed, so a
 *     negative time stays a number;
 *  3. RFC 4180 §2: a cell holding a comma, a double quote, or spaces at either
 *     end is enclosed in double quotes, with each double quote doubled (CR and
 *     LF cannot occur after step 1).
 */
import type { AnalyzedMessage } from "./analyze.js";
import { findBodyStatus } from "./filter/fields.js";
import type { ProcedureStats, StatsReport, ConversationStats, ClientStats, RttRange, RttSummary } from "./stats.js";
import { callTriple, peerFrameOf, rttOf, type Names } from "./summary-format.js";
import { escapeForTerminal } from "./text-safety.js";

const NEEDS_QUOTES = /[",]|^\s|\s$/;
const FORMULA_START = /^[=+\-@]/;

/** A text cell: escaped, guarded against formula evaluation, quoted per RFC 4180 when needed. */
export function csvText(text: string): string {
  let s = escapeForTerminal(text);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A numeric cell: empty for null / NaN / ±Infinity; `decimals` fixes the digits after the point. */
export function csvNumber(value: number | null | undefined, decimals?: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "";
  return decimals === undefined ? String(value) : value.toFixed(decimals);
}

/** One CSV row from cells already made by csvText / csvNumber (no line end). */
export function csvRow(cells: readonly string[]): string {
  return cells.join(",");
}

// ---------------------------------------------------------------------------
// summary --csv

/**
 * Columns of `rpcscope summary --csv`, one row per RPC message in the order
 * the summary prints them:
 *
 * | column | content |
 * |---|---|
 * | frame | frame number where the message completes |
 * | time | seconds since the first frame, 6 decimals |
 * | src, sport, dst, dport | addresses and ports of this message |
 * | transport | tcp or udp |
 * | xid | transaction id, 0x + 8 hex digits (empty when the header is malformed) |
 * | kind | call, reply or malformed |
 * | prog, vers, proc | numbers (a reply: its call's); empty when unknown |
 * | program, procedure | names from the specs (procedure `proc-N` when unknown) |
 * | status | replies: SUCCESS, PROG_MISMATCH, … ; empty on calls |
 * | body_status | replies with a decoded result: its status enum (NFS3_OK, NFS3ERR_NOENT, DEMO_IO_ERROR) |
 * | peer_frame | the call's frame on a reply, the reply's frame on a call |
 * | rtt | replies: response time in seconds, 9 decimals |
 * | length | bytes of the RPC message |
 * | issues | named issues of the message and its body, separated by ";" |
 */
export const SUMMARY_CSV_COLUMNS: readonly string[] = [
  "frame", "time", "src", "sport", "dst", "dport", "transport", "xid", "kind", "prog", "vers", "proc",
  "program", "procedure", "status", "body_status", "peer_frame", "rtt", "length", "issues",
];

/** The header row of `summary --csv` (no line end). */
export function csvHeader(): string {
  return csvRow(SUMMARY_CSV_COLUMNS);
}

/** What every summary row starts with, either protocol: where and when the message was, and its id (xid or serial). */
export function csvMessageCells(
  msg: { readonly frame: number; readonly src: string; readonly sport: number; readonly dst: string; readonly dport: number; readonly transport: string },
  time: number, id: number | null,
): string[] {
  return [
    csvNumber(msg.frame),
    csvNumber(time, 6),
    csvText(msg.src),
    csvNumber(msg.sport),
    csvText(msg.dst),
    csvNumber(msg.dport),
    csvText(msg.transport),
    id === null ? "" : `0x${id.toString(16).padStart(8, "0")}`,
  ];
}

/**
 * One `summary --csv` row for a message (no line end). Body status needs decoded
 * bodies: `m.res`, or the cell as csvBodyStatus made it while the results were there.
 */
export function summaryCsvRow(m: AnalyzedMessage, names: Names, bodyStatusCell: string = csvBodyStatus(m)): string {
  const { msg } = m;
  const h = msg.header;
  const triple = callTriple(msg);
  const issues: string[] = [];
  for (const i of msg.issues) issues.push(i.code);
  for (const i of m.bodyIssues) if (i.code !== "body-undecoded") issues.push(i.code);
  return csvRow([
    ...csvMessageCells(msg, m.time, h ? h.xid : null),
    h ? h.kind : "malformed",
    csvNumber(triple?.prog),
    csvNumber(triple?.vers),
    csvNumber(triple?.proc),
    triple ? csvText(names.programName(triple.prog) ?? "") : "",
    triple ? csvText(names.procedureName(triple.prog, triple.vers, triple.proc)) : "",
    h?.kind === "reply" ? csvText(h.status) : "",
    bodyStatusCell,
    csvNumber(peerFrameOf(msg)),
    csvNumber(rttOf(msg), 9),
    csvNumber(msg.length),
    csvText([...new Set(issues)].join(";")),
  ]);
}

/** The body_status cell of a message (from its decoded results). */
export function csvBodyStatus(m: AnalyzedMessage): string {
  const bodyStatus = m.msg.header?.kind === "reply" ? findBodyStatus(m.res) : null;
  return bodyStatus ? csvBodyStatusCell(bodyStatus.name, bodyStatus.value) : "";
}

/** The body_status cell of a status enum's value (and name, when the enum has one). */
export function csvBodyStatusCell(name: string | null | undefined, value: number): string {
  return csvText(name ?? `UNKNOWN(${value})`);
}

// ---------------------------------------------------------------------------
// stats --csv

export type StatsCsvTable = "procedures" | "conversations" | "clients";

const COUNTER_COLUMNS = ["calls", "replies", "errors", "retransmissions", "unanswered", "call_bytes", "reply_bytes"] as const;

/**
 * Columns of `rpcscope stats --csv` (response times in milliseconds, 6 decimals;
 * an empty cell when there is no response time):
 *
 * procedures: program, prog, vers, procedure, proc, calls, replies, errors,
 *   retransmissions, unanswered, call_bytes, reply_bytes, rtt_count, rtt_min_ms,
 *   rtt_avg_ms, rtt_p50_ms, rtt_p95_ms, rtt_p99_ms, rtt_max_ms,
 *   rtt_exact (true, or false when the percentiles are histogram estimates),
 *   errors_by_status ("STATUS=COUNT" separated by ";", most frequent first)
 * conversations: transport, client, client_port, server, server_port, the
 *   counters, rtt_count, rtt_min_ms, rtt_avg_ms, rtt_max_ms
 * clients: client, the counters, rtt_count, rtt_min_ms, rtt_avg_ms, rtt_max_ms
 *
 * No totals row (a reader sums the columns it wants).
 */
export const STATS_CSV_COLUMNS: { readonly [T in StatsCsvTable]: readonly string[] } = {
  procedures: [
    "program", "prog", "vers", "procedure", "proc", ...COUNTER_COLUMNS, "rtt_count", "rtt_min_ms", "rtt_avg_ms",
    "rtt_p50_ms", "rtt_p95_ms", "rtt_p99_ms", "rtt_max_ms", "rtt_exact", "errors_by_status",
  ],
  conversations: [
    "transport", "client", "client_port", "server", "server_port", ...COUNTER_COLUMNS,
    "rtt_count", "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms",
  ],
  clients: ["client", ...COUNTER_COLUMNS, "rtt_count", "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms"],
};

function ms(seconds: number | undefined): string {
  return seconds === undefined ? "" : csvNumber(seconds * 1000, 6);
}

function counterCells(c: ProcedureStats | ConversationStats | ClientStats): string[] {
  return [c.calls, c.replies, c.errors, c.retransmissions, c.unanswered, c.callBytes, c.replyBytes].map((n) => csvNumber(n));
}

function rangeCells(r: RttRange | RttSummary | null): string[] {
  return [r ? csvNumber(r.count) : "0", ms(r?.min), ms(r?.avg), ms(r?.max)];
}

/** One table of a stats report as CSV text: the header row, then one row per entry, each ending in "\n". */
export function statsToCsv(report: StatsReport, table: StatsCsvTable = "procedures"): string {
  const rows: string[] = [csvRow(STATS_CSV_COLUMNS[table])];
  if (table === "procedures") {
    for (const p of report.procedures) {
      const r = p.rtt;
      rows.push(csvRow([
        csvText(p.progName ?? ""), csvNumber(p.prog), csvNumber(p.vers), csvText(p.procName), csvNumber(p.proc),
        ...counterCells(p),
        r ? csvNumber(r.count) : "0", ms(r?.min), ms(r?.avg), ms(r?.p50), ms(r?.p95), ms(r?.p99), ms(r?.max),
        r ? String(r.exact) : "",
        csvText(p.errorsByStatus.map((e) => `${e.status}=${e.count}`).join(";")),
      ]));
    }
  } else if (table === "conversations") {
    for (const c of report.conversations) {
      rows.push(csvRow([
        csvText(c.transport), csvText(c.client), csvNumber(c.clientPort), csvText(c.server), csvNumber(c.serverPort),
        ...counterCells(c), ...rangeCells(c.rtt),
      ]));
    }
  } else {
    for (const c of report.clients) rows.push(csvRow([csvText(c.address), ...counterCells(c), ...rangeCells(c.rtt)]));
  }
  return rows.join("\n") + "\n";
}
