/**
 * CSV output (ui/csv.ts): golden files for `summary --csv` and `stats --csv`
 * on real recordings, and the cell rules: RFC 4180 quoting, no control
 * characters, no formula a spreadsheet would evaluate.
 */
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { analyzeCapture, type AnalyzedMessage } from "../../ui/analyze.js";
import {
  csvHeader, csvNumber, csvRow, csvText, STATS_CSV_COLUMNS, statsToCsv, summaryCsvRow, SUMMARY_CSV_COLUMNS,
} from "../../ui/csv.js";
import { bodyErrorName } from "../../ui/filter/fields.js";
import { namesFor } from "../../ui/names.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { StatsCollector } from "../../ui/stats.js";
import { escapeForTerminal } from "../../ui/text-safety.js";
import type { Exchange } from "../../dissect/rpc-types.js";
import { runCli } from "../hostile/cli-run.js";
import { bodySampleCaptures, DEMO_SPEC } from "../sample-files.js";

const ROOT = join(import.meta.dirname, "..", "..");

async function summaryCsv(file: string, specs: string[] = []): Promise<string> {
  const registry = await loadRegistry({ userSpecs: specs, defines: new Map() });
  const names = namesFor(registry);
  const rows = [csvHeader()];
  await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: true }, {
    message(m: AnalyzedMessage) {
      rows.push(summaryCsvRow(m, names));
    },
  });
  return rows.join("\n") + "\n";
}

async function statsCsv(file: string, specs: string[]): Promise<string> {
  const registry = await loadRegistry({ userSpecs: specs, defines: new Map() });
  const names = namesFor(registry);
  const stats = new StatsCollector();
  const bodyStatus = new WeakMap<Exchange, string | null>();
  await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: true }, {
    message(m) {
      if (m.msg.exchange && m.msg.header?.kind === "reply") bodyStatus.set(m.msg.exchange, bodyErrorName(m.res));
    },
    exchangeResolved(ex) {
      stats.add(ex, names, null, bodyStatus.get(ex) ?? null);
    },
  });
  const report = stats.result();
  return ["procedures", "conversations", "clients"].map((t) => statsToCsv(report, t as "procedures")).join("\n");
}

/** A small RFC 4180 reader, to check that what we write reads back cell for cell. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      cell += c;
      i++;
      continue;
    }
    if (c === '"' && cell === "") { quoted = true; i++; continue; }
    if (c === ",") { row.push(cell); cell = ""; i++; continue; }
    if (c === "\n") { row.push(cell); rows.push(row); row = []; cell = ""; i++; continue; }
    cell += c;
    i++;
  }
  if (cell !== "" || row.length > 0) { row.push(cell); rows.push(row); }
  return rows;
}

describe("summary --csv", () => {
  it("matches the golden file for rpcinfo-tcp-udp.pcapng", async () => {
    const csv = await summaryCsv(join(ROOT, "samples", "rpcbind", "rpcinfo-tcp-udp.pcapng"));
    await expect(csv).toMatchFileSnapshot("golden/rpcinfo-tcp-udp.summary.csv");
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual(SUMMARY_CSV_COLUMNS);
    expect(rows).toHaveLength(1 + 46); // 23 calls, 23 replies
    for (const r of rows) expect(r).toHaveLength(SUMMARY_CSV_COLUMNS.length);
    const col = (name: string): number => SUMMARY_CSV_COLUMNS.indexOf(name);
    const mismatch = rows.filter((r) => r[col("status")] === "PROG_MISMATCH");
    expect(mismatch.map((r) => [r[col("frame")], r[col("xid")], r[col("vers")], r[col("peer_frame")], r[col("rtt")]]))
      .toEqual([["84", "0xe8417ccd", "7", "82", "0.000027000"]]);
  });

  it("matches the golden file for variant-error.pcap with the demo spec (body status column)", async () => {
    const csv = await summaryCsv(join(ROOT, "samples", "demo-service", "variant-error.pcap"), [join(ROOT, "samples", "demo-service", "demo.x")]);
    await expect(csv).toMatchFileSnapshot("golden/variant-error.summary.csv");
    const rows = parseCsv(csv);
    const col = (name: string): number => SUMMARY_CSV_COLUMNS.indexOf(name);
    expect(rows.filter((r) => r[col("body_status")] !== "" && r[col("body_status")] !== "body_status")
      .map((r) => [r[col("procedure")], r[col("body_status")]])).toEqual([["STORE", "DEMO_OK"], ["CHECK", "DEMO_IO_ERROR"]]);
  });
});

describe("stats --csv", () => {
  it("matches the golden file for variant-error.pcap (procedures, conversations, clients)", async () => {
    const csv = await statsCsv(join(ROOT, "samples", "demo-service", "variant-error.pcap"), [join(ROOT, "samples", "demo-service", "demo.x")]);
    await expect(csv).toMatchFileSnapshot("golden/variant-error.stats.csv");
    const tables = csv.split("\n\n").map((t) => parseCsv(t.endsWith("\n") ? t : `${t}\n`));
    expect(tables.map((t) => t[0])).toEqual([STATS_CSV_COLUMNS.procedures, STATS_CSV_COLUMNS.conversations, STATS_CSV_COLUMNS.clients]);
    const procs = tables[0]!;
    const check = procs.find((r) => r[3] === "CHECK")!;
    const at = (name: string): string => check[STATS_CSV_COLUMNS.procedures.indexOf(name)]!;
    expect([at("program"), at("vers"), at("calls"), at("errors"), at("errors_by_status"), at("rtt_count")])
      .toEqual(["demo", "2", "1", "1", "DEMO_IO_ERROR=1", "1"]);
    expect(tables[1]!).toHaveLength(3); // two TCP connections
  });
});

describe("CSV cells", () => {
  it("quote per RFC 4180 only when needed", () => {
    expect(csvText("plain")).toBe("plain");
    expect(csvText("a,b")).toBe('"a,b"');
    expect(csvText('say "hi"')).toBe('"say ""hi"""');
    expect(csvText(" padded ")).toBe('" padded "');
    expect(csvText("")).toBe("");
  });

  it("guard against formula injection", () => {
    expect(csvText("=HYPERLINK(\"http://x\")")).toBe("\"'=HYPERLINK(\"\"http://x\"\")\"");
    expect(csvText("+1")).toBe("'+1");
    expect(csvText("-2+3")).toBe("'-2+3");
    expect(csvText("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvText("a=b")).toBe("a=b");
    // Numbers we write are not text: a negative number stays a number.
    expect(csvNumber(-0.5, 3)).toBe("-0.500");
    expect(csvNumber(null)).toBe("");
    expect(csvNumber(Number.NaN)).toBe("");
    expect(csvNumber(Infinity)).toBe("");
    expect(csvRow(["1", csvText("x,y")])).toBe('1,"x,y"');
  });

  it("never carry a control character, bidi override or line break", () => {
    expect(csvText("a\nb")).toBe("a\\nb");
    expect(csvText("\tcmd")).toBe("\\tcmd");
    expect(csvText("\u001b]0;pwned\u0007")).toBe("\\x1b]0;pwned\\x07");
    expect(csvText("abc\u202edcba")).toBe("abc\\u{202e}dcba");
    expect(csvText("\r=1")).toBe("\\r=1");
  });

  it("read back (RFC 4180) as the terminal-escaped text, with ' before a formula start", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "binary", maxLength: 10 }), (a, b) => {
      const line = csvRow([csvText(a), csvText(b)]);
      expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/);
      const expected = [a, b].map((s) => {
        const text = escapeForTerminal(s);
        return /^[=+\-@]/.test(text) ? `'${text}` : text;
      });
      expect(parseCsv(`${line}\n`)).toEqual([expected]);
    }), { numRuns: 2000 });
  });
});

describe("summary --csv reads bodies from their bytes where it can", () => {
  // Without a filter, a body that checks clean is not decoded (its status is a word of
  // its bytes); with one, every body is decoded and its tree kept. `rpc || libvirt`
  // selects every message, so both ways must write the same rows.
  const limits = [[], ["--limit", "maxXdrArrayElements=2", "--limit", "maxXdrOpaqueBytes=16"], ["--limit", "maxXdrDepth=3"]];
  it("writes the rows decoding every body writes, on every sample and with limits that make bodies malformed", () => {
    let statuses = 0;
    let bodyIssues = 0;
    for (const file of bodySampleCaptures()) {
      for (const extra of limits) {
        const args = ["summary", "--csv", "--spec", DEMO_SPEC, ...extra, file];
        const fast = runCli(args);
        const decoded = runCli([...args.slice(0, 2), "-Y", "rpc || libvirt", ...args.slice(2)]);
        expect(fast.status, fast.stderr).toBe(0);
        const text = fast.stdout.toString("utf8");
        expect(text, `${file} ${extra.join(" ")}`).toBe(decoded.stdout.toString("utf8"));
        for (const row of parseCsv(text).slice(1)) {
          if (row[15]) statuses++;
          if (/malformed|trailing-bytes/.test(row[19] ?? "")) bodyIssues++;
        }
      }
    }
    // Both ways of the fast path were taken: statuses read from bytes, and bodies decoded for what is wrong with them.
    expect(statuses).toBeGreaterThan(100);
    expect(bodyIssues).toBeGreaterThan(10);
  }, 120_000);
});
