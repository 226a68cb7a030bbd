/**
 * The status line at the bottom: what is open, how much of it, what is filtered,
 * whether it is still loading or following a live capture, and the last message.
 */
import type { Progress } from "./data-source.js";
import { STYLES, type Segment, type StyledLine } from "./styled-line.js";
import { escapeForTerminal, truncateEnd, truncateStart } from "./terminal-text.js";

export interface StatusInfo {
  readonly title: string;
  readonly progress: Progress;
  readonly shown: number;
  readonly filter: string | null;
  /** Label of the conversation the view is restricted to. */
  readonly conversation: string | null;
  readonly live: boolean;
  readonly following: boolean;
  /** Transient message (answer to the last key), shown first. */
  readonly message: string | null;
}

/** 1234567 → "1,234,567" (fixed grouping, independent of the locale). */
export function groupDigits(n: number): string {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function formatStatusLine(info: StatusInfo, width: number): StyledLine {
  const c = info.progress.counts;
  const parts: { text: string; alert: boolean }[] = [];
  if (info.message) parts.push({ text: escapeForTerminal(info.message), alert: true });
  // A long path keeps its end (the file name).
  parts.push({ text: truncateStart(escapeForTerminal(info.title), Math.max(16, Math.floor(width / 4))), alert: false });
  const shown = info.filter !== null || info.conversation !== null
    ? `${groupDigits(info.shown)} of ${groupDigits(c.exchanges)} shown`
    : `${groupDigits(c.exchanges)} exchange${c.exchanges === 1 ? "" : "s"}`;
  parts.push({ text: shown, alert: false });
  // What the view is and whether it is complete come before the issue counts.
  if (info.filter !== null) parts.push({ text: "filter: " + escapeForTerminal(info.filter), alert: false });
  if (info.conversation !== null) parts.push({ text: "conv: " + escapeForTerminal(info.conversation), alert: false });
  // A live capture is never "done"; its own marker below says what is going on.
  if (!info.progress.done && !info.live) {
    const f = info.progress.fraction;
    parts.push({ text: f === null ? "loading..." : `loading ${Math.floor(f * 100)}%`, alert: false });
  }
  if (info.live) parts.push({ text: info.following ? "LIVE (following)" : "LIVE (paused: G follows)", alert: false });
  const issues: string[] = [];
  if (c.errors > 0) issues.push(`${groupDigits(c.errors)} error${c.errors === 1 ? "" : "s"}`);
  if (c.unmatched > 0) issues.push(`${groupDigits(c.unmatched)} unmatched`);
  if (c.malformed > 0) issues.push(`${groupDigits(c.malformed)} malformed`);
  if (c.gaps > 0) issues.push(`${groupDigits(c.gaps)} gap${c.gaps === 1 ? "" : "s"}`);
  if (issues.length > 0) parts.push({ text: issues.join(" "), alert: false });

  const hint = " ?:help q:quit ";
  const showHint = width >= 40;
  const room = showHint ? width - hint.length : width;
  const segments: Segment[] = [];
  let used = 0;
  for (const [i, part] of parts.entries()) {
    if (used >= room) break;
    const piece = truncateEnd((i === 0 ? " " : " | ") + part.text, room - used);
    segments.push({ text: piece, style: part.alert ? STYLES.statusAlert : STYLES.status });
    used += piece.length;
  }
  if (used < room) segments.push({ text: " ".repeat(room - used), style: STYLES.status });
  if (showHint) segments.push({ text: hint, style: STYLES.status });
  return segments;
}
