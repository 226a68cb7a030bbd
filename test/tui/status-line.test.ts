import { describe, expect, it } from "vitest";
import { formatStatusLine, groupDigits, type StatusInfo } from "../../ui/tui/status-line.js";
import { lineText } from "../../ui/tui/styled-line.js";

const base: StatusInfo = {
  title: "/captures/very/long/path/to/nfs-trace-2024.pcapng",
  progress: { done: true, fraction: 1, counts: { exchanges: 1234567, errors: 12, unmatched: 3, malformed: 1, gaps: 1 } },
  shown: 1234567, filter: null, conversation: null, live: false, following: false, message: null,
};
const text = (info: Partial<StatusInfo>, width = 160): string => lineText(formatStatusLine({ ...base, ...info }, width));

describe("status line", () => {
  it("groups digits the same way whatever the locale", () => {
    expect(groupDigits(1234567)).toBe("1,234,567");
    expect(groupDigits(999)).toBe("999");
  });

  it("shows file, counts and issues, exactly the width, with the help hint", () => {
    const t = text({});
    expect(t.length).toBe(160);
    // A long path keeps its end.
    expect(t).toMatch(/^ ~[^|]*\/nfs-trace-2024\.pcapng \| 1,234,567 exchanges \| 12 errors 3 unmatched 1 malformed 1 gap /);
    expect(t.endsWith(" ?:help q:quit ")).toBe(true);
  });

  it("puts the filter, the conversation and loading before the issue counts", () => {
    const t = text({
      filter: "nfs.proc == READ", conversation: "10.0.0.1:800 <-> 10.0.0.2:2049 tcp", shown: 10,
      progress: { ...base.progress, done: false, fraction: 0.425 },
    }, 200);
    expect(t).toContain("10 of 1,234,567 shown | filter: nfs.proc == READ | conv: 10.0.0.1:800 <-> 10.0.0.2:2049 tcp | loading 42% | 12 errors");
  });

  it("says whether a live capture is followed", () => {
    expect(text({ live: true, following: true })).toContain("LIVE (following)");
    expect(text({ live: true, following: false })).toContain("LIVE (paused: G follows)");
  });

  it("escapes a hostile filter or title and still fits a narrow terminal", () => {
    const t = text({ title: "\x1b]0;x\x07", filter: "\x1b[2J" }, 60);
    expect(t.length).toBe(60);
    expect(t).not.toMatch(/[\u0000-\u001f]/);
    expect(t).toContain("\\x1b]0;x\\x07");
  });

  it("puts a message first, in the alert style", () => {
    const line = formatStatusLine({ ...base, message: "no later error" }, 120);
    expect(lineText(line).startsWith(" no later error | ")).toBe(true);
    expect(line[0]?.style.fg).toBe("red");
  });
});
