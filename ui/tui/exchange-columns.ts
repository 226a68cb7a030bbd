/**
 * Columns of the exchange list: which fit in a given width, how wide each is, and
 * how one row is written into them. Pure functions of (row, layout).
 */
import type { ExchangeRow } from "./data-source.js";
import { STYLES, type Segment, type StyledLine, type TextStyle } from "./styled-line.js";
import { escapeForTerminal, padLeft, padRight, truncateEnd, truncateStart } from "./terminal-text.js";

export type ColumnId =
  | "no" | "time" | "endpoints" | "transport" | "xid" | "program" | "procedure" | "status" | "rtt" | "sizes";

interface ColumnSpec {
  readonly id: ColumnId;
  readonly title: string;
  /** Narrowest useful width. */
  readonly min: number;
  /** Width wanted; flexible columns may grow past it. */
  readonly ideal: number;
  /**
   * Flexible columns only (0 for fixed ones): width below which a less important
   * fixed column is dropped rather than squeezing this one.
   */
  readonly comfortable: number;
  readonly align: "left" | "right";
  /** Columns with the lowest value are dropped first when the terminal is narrow; null: never. */
  readonly dropRank: number | null;
}

/** In display order. */
const SPECS: readonly ColumnSpec[] = [
  { id: "no", title: "No.", min: 4, ideal: 7, comfortable: 0, align: "right", dropRank: null },
  { id: "time", title: "Time", min: 6, ideal: 10, comfortable: 0, align: "right", dropRank: 4 },
  { id: "endpoints", title: "Client -> Server", min: 16, ideal: 43, comfortable: 32, align: "left", dropRank: null },
  { id: "transport", title: "Tp", min: 3, ideal: 3, comfortable: 0, align: "left", dropRank: 1 },
  { id: "xid", title: "XID", min: 10, ideal: 10, comfortable: 0, align: "left", dropRank: 3 },
  { id: "program", title: "Program", min: 6, ideal: 10, comfortable: 0, align: "left", dropRank: 5 },
  { id: "procedure", title: "Procedure / Info", min: 10, ideal: 30, comfortable: 22, align: "left", dropRank: null },
  { id: "status", title: "Status", min: 7, ideal: 13, comfortable: 0, align: "left", dropRank: 6 },
  { id: "rtt", title: "RTT", min: 8, ideal: 8, comfortable: 0, align: "right", dropRank: 7 },
  { id: "sizes", title: "Call/Reply", min: 9, ideal: 11, comfortable: 0, align: "right", dropRank: 2 },
];

/** Order in which fixed columns get their ideal width when space is short. */
const IMPORTANCE: readonly ColumnId[] = ["no", "status", "rtt", "program", "xid", "time", "sizes", "transport"];

export interface LaidOutColumn {
  readonly id: ColumnId;
  readonly title: string;
  readonly width: number;
  readonly align: "left" | "right";
}

export interface ColumnLayout {
  /** Columns kept, in display order. */
  readonly columns: readonly LaidOutColumn[];
  /** Width of the selection gutter at the start of each line. */
  readonly gutter: number;
  readonly width: number;
}

const GUTTER = 1;
const SEPARATOR = 1;

function isFlexible(spec: ColumnSpec): boolean {
  return spec.comfortable > 0;
}

/**
 * Choose columns and widths for a terminal `width` columns wide: the least
 * important fixed columns are dropped until the others fit at their ideal width
 * with the flexible ones (addresses, procedure) at a comfortable width; then
 * widths are shared out.
 */
export function layoutColumns(width: number): ColumnLayout {
  const kept = [...SPECS];
  const overhead = (): number => GUTTER + SEPARATOR * Math.max(0, kept.length - 1);
  const wanted = (): number =>
    overhead() + kept.reduce((sum, c) => sum + (isFlexible(c) ? c.comfortable : c.ideal), 0);
  const dropOne = (): boolean => {
    let victim = -1;
    for (let i = 0; i < kept.length; i++) {
      const rank = kept[i]?.dropRank;
      if (rank == null) continue;
      if (victim < 0 || rank < (kept[victim]?.dropRank ?? Infinity)) victim = i;
    }
    if (victim < 0) return false;
    kept.splice(victim, 1);
    return true;
  };
  while (wanted() > width && dropOne()) { /* drop the next column */ }

  const widths = new Map<ColumnId, number>(kept.map((c) => [c.id, c.min]));
  let extra = width - overhead() - kept.reduce((sum, c) => sum + c.min, 0);
  const give = (spec: ColumnSpec, upTo: number): void => {
    const current = widths.get(spec.id) ?? spec.min;
    const amount = Math.max(0, Math.min(extra, upTo - current));
    widths.set(spec.id, current + amount);
    extra -= amount;
  };
  // Flexible columns first get to a comfortable width, then fixed ones to their
  // ideal (most important first), then flexible ones to their ideal; the
  // procedure column takes whatever remains.
  for (const spec of kept) if (isFlexible(spec)) give(spec, spec.comfortable);
  for (const id of IMPORTANCE) {
    const spec = kept.find((c) => c.id === id);
    if (spec) give(spec, spec.ideal);
  }
  for (const spec of kept) if (isFlexible(spec)) give(spec, spec.ideal);
  if (extra > 0) widths.set("procedure", (widths.get("procedure") ?? 0) + extra);

  const columns = kept.map((c) => ({ id: c.id, title: c.title, width: widths.get(c.id) ?? c.min, align: c.align }));
  return { columns, gutter: GUTTER, width };
}

export function formatXid(xid: number | null): string {
  if (xid === null) return "";
  return "0x" + (xid >>> 0).toString(16).padStart(8, "0");
}

/** A duration in seconds as a short human string: 87us, 3.25ms, 41.7ms, 1.204s. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 0) return "-" + formatDuration(-seconds);
  if (seconds < 1e-3) return `${Math.round(seconds * 1e6)}us`;
  const ms = seconds * 1e3;
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${ms.toFixed(1)}ms`;
  if (seconds < 100) return `${seconds.toFixed(3)}s`;
  return `${seconds.toFixed(0)}s`;
}

/** Byte counts: exact up to 99999, then k/M/G with one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes < 100_000) return String(bytes);
  if (bytes < 1024 * 1024 * 100) return `${(bytes / 1024).toFixed(0)}k`;
  if (bytes < 1024 * 1024 * 1024 * 10) return `${(bytes / (1024 * 1024)).toFixed(1)}M`;
  return `${(bytes / (1024 * 1024 * 1024)).toFixed(1)}G`;
}

/** Seconds with as many decimals (up to 6, microseconds) as fit in `width`. */
export function formatTime(seconds: number, width = 20): string {
  for (let decimals = 6; decimals > 0; decimals--) {
    const text = seconds.toFixed(decimals);
    if (text.length <= width) return text;
  }
  return seconds.toFixed(0);
}

/** "client -> server" in `width` columns, cutting each address at its start so host and port stay. */
export function formatEndpoints(client: string, server: string, width: number): string {
  const arrow = " -> ";
  const c = escapeForTerminal(client);
  const s = escapeForTerminal(server);
  if (c.length + arrow.length + s.length <= width) return c + arrow + s;
  const room = width - arrow.length;
  if (room < 4) return truncateEnd(c + arrow + s, width);
  let cw = Math.floor(room / 2);
  let sw = room - cw;
  // Give the shorter side only what it needs.
  if (c.length < cw) { sw += cw - c.length; cw = c.length; }
  else if (s.length < sw) { cw += sw - s.length; sw = s.length; }
  return truncateStart(c, cw) + arrow + truncateStart(s, sw);
}

/** The colour a whole row is drawn in, by what it is. */
export function rowStyle(row: ExchangeRow): TextStyle {
  switch (row.kind) {
    case "malformed": return STYLES.malformed;
    case "gap": return STYLES.gap;
    case "unmatched-call":
    case "orphan-reply": return row.isError ? STYLES.error : STYLES.unmatched;
    case "exchange": return row.isError ? STYLES.error : STYLES.normal;
  }
}

export function isSlow(row: ExchangeRow, slowRtt: number | null): boolean {
  return slowRtt !== null && row.rtt !== null && row.rtt > slowRtt;
}

function cellText(row: ExchangeRow, id: ColumnId, width: number, slow: boolean): string {
  switch (id) {
    case "no": return String(row.index);
    case "time": return formatTime(row.time, width);
    case "endpoints": return formatEndpoints(row.client, row.server, width);
    case "transport": return row.transport;
    case "xid": return formatXid(row.xid);
    case "program": return escapeForTerminal(row.program);
    case "procedure": {
      if (row.kind === "gap") return "--- gap: " + escapeForTerminal(row.info) + " ---";
      let text = escapeForTerminal(row.procedure);
      if (row.info) text += " " + escapeForTerminal(row.info);
      if (row.retransmits > 0) text += ` [${row.retransmits} retrans]`;
      return text;
    }
    case "status": return escapeForTerminal(row.status);
    case "rtt": return row.rtt === null ? "" : formatDuration(row.rtt) + (slow ? "!" : "");
    case "sizes": {
      if (row.kind === "gap") return "";
      const call = row.callBytes > 0 ? formatBytes(row.callBytes) : "-";
      const reply = row.replyBytes > 0 ? formatBytes(row.replyBytes) : "-";
      return `${call}/${reply}`;
    }
  }
}

/** One row of the list, exactly `layout.width` columns, without the selection overlay. */
export function formatRow(row: ExchangeRow, layout: ColumnLayout, slowRtt: number | null, marker = " "): StyledLine {
  const base = rowStyle(row);
  const slow = isSlow(row, slowRtt);
  const segments: Segment[] = [{ text: padRight(marker, layout.gutter), style: base }];
  let used = layout.gutter;
  layout.columns.forEach((col, i) => {
    if (i > 0) {
      segments.push({ text: " ", style: base });
      used += 1;
    }
    const text = cellText(row, col.id, col.width, slow);
    const cell = col.align === "right" ? padLeft(text, col.width) : padRight(text, col.width);
    const style = slow && col.id === "rtt" ? { ...base, ...STYLES.slow } : base;
    segments.push({ text: cell, style });
    used += col.width;
  });
  if (used < layout.width) segments.push({ text: " ".repeat(layout.width - used), style: base });
  return segments;
}

/** The column titles, laid out like the rows. */
export function formatHeader(layout: ColumnLayout, style: TextStyle): StyledLine {
  let text = " ".repeat(layout.gutter);
  layout.columns.forEach((col, i) => {
    if (i > 0) text += " ";
    text += col.align === "right" ? padLeft(col.title, col.width) : padRight(col.title, col.width);
  });
  return [{ text: padRight(text, layout.width), style }];
}
