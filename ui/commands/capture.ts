/**
 * `rpcscope capture -i IFACE …`: live capture, one line (or NDJSON object) per RPC
 * message the moment its last byte is captured, in the same formats as `summary`;
 * optionally every packet to a pcap/pcapng file. Also `runLiveTui` for
 * `rpcscope -i IFACE` (the terminal UI on a live capture).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { LiveCaptureError } from "../../capture/live-capture.js";
import { detachAnalyzed, type AnalyzedMessage, type AnalyzeResult } from "../analyze.js";
import { treeLines } from "../body-format.js";
import { COMMON_OPTIONS, commonOptions, registryFor, UsageError, type CommonOptions } from "../cli-options.js";
import { LineWriter } from "../line-writer.js";
import { formatLiveReport, LiveLines, LiveSession, type LiveSettings } from "../live-source.js";
import { namesFor } from "../names.js";
import { LineCache, summaryJson, summaryJsonLine, summaryLine } from "../summary-format.js";
import { escapeForTerminal, jsonSafeStringify } from "../text-safety.js";

/** Options of live capture (also what `rpcscope -i IFACE` needs for the live TUI). */
export const CAPTURE_OPTIONS = {
  interface: { type: "string", short: "i" },
  "capture-filter": { type: "string", short: "f" },
  write: { type: "string", short: "w" },
  count: { type: "string", short: "c" },
  duration: { type: "string" },
  "buffer-size": { type: "string", short: "B" },
} satisfies NonNullable<ParseArgsConfig["options"]>;

export const CAPTURE_USAGE = `rpcscope capture — live capture of ONC-RPC traffic on an interface

Usage:
  rpcscope capture -i IFACE [-f 'BPF filter'] [-w FILE.pcap|FILE.pcapng] [-c COUNT]
                   [--duration SECONDS] [--json] [-V] [-Y EXPR] [BPF filter words…]
  rpcscope -i IFACE [-f …] [-w …]     the terminal UI on a live capture
  rpcscope interfaces [--json]        interfaces that can be captured on

Each RPC message is printed as soon as its last byte is captured, in the form of
'rpcscope summary' (--json: NDJSON; a call's peerFrame is null there, its reply is
not seen yet; with -Y a call's line waits up to 1 s for its reply to be judged).

Options:
  -i, --interface IFACE      interface to capture on (see 'rpcscope interfaces')
  -f, --capture-filter BPF   libpcap filter, tcpdump syntax (e.g. 'port 111 or port 2049');
                             words after the options are taken as the filter too
  -w, --write FILE           write every captured packet (pcapng when FILE ends in .pcapng,
                             else nanosecond pcap), flushed after each batch
  -c, --count N              stop after N packets
  --duration SECONDS         stop after SECONDS
  -B, --buffer-size KiB      libpcap's kernel buffer (default 32768 = 32 MiB). On lo each packet
                             takes a 128 KiB slot, so that is ~500 packets of slack: raise it
                             (e.g. -B 524288) for fast loopback traffic; it counts in the RSS
  --json, -V, -Y, --spec, --define, --limit   as for 'rpcscope summary'

Capturing needs root or CAP_NET_RAW+CAP_NET_ADMIN, and the optional 'cap' package
(apt-get install libpcap-dev && npm rebuild cap). Timestamps come from rpcscope's
clock when a packet is handed over (cap gives none). Ctrl-C or SIGTERM stop cleanly;
the report (packets received, written, dropped) goes to standard error.
Exit status: 0 success, 2 bad usage or capture impossible.`;

export interface CaptureValues {
  interface?: string | undefined;
  "capture-filter"?: string | undefined;
  write?: string | undefined;
  count?: string | undefined;
  duration?: string | undefined;
  "buffer-size"?: string | undefined;
}

/** Turns parsed CAPTURE_OPTIONS values (and trailing filter words) into settings; UsageError when wrong. */
export function liveSettings(values: CaptureValues, filterWords: readonly string[] = []): LiveSettings {
  const device = values.interface;
  if (device === undefined || device === "") throw new UsageError("live capture needs -i IFACE (see 'rpcscope interfaces')");
  const flagFilter = values["capture-filter"];
  if (flagFilter !== undefined && filterWords.length > 0) {
    throw new UsageError("give the capture filter either with -f or as trailing words, not both");
  }
  let maxPackets: number | null = null;
  if (values.count !== undefined) {
    if (!/^[1-9][0-9]{0,15}$/.test(values.count)) throw new UsageError(`-c expects a positive packet count, got '${escapeForTerminal(values.count)}'`);
    maxPackets = Number(values.count);
  }
  let durationSeconds: number | null = null;
  if (values.duration !== undefined) {
    const d = Number(values.duration);
    if (!/^\d+(\.\d+)?$/.test(values.duration) || !(d > 0) || d > 1e9) {
      throw new UsageError(`--duration expects a positive number of seconds, got '${escapeForTerminal(values.duration)}'`);
    }
    durationSeconds = d;
  }
  let bufferBytes: number | null = null;
  const b = values["buffer-size"];
  if (b !== undefined) {
    if (!/^[1-9][0-9]{0,9}$/.test(b) || Number(b) > 2097151) throw new UsageError(`-B expects a buffer size in KiB (1 to 2097151), got '${escapeForTerminal(b)}'`);
    bufferBytes = Number(b) * 1024;
  }
  return {
    device,
    bpf: flagFilter ?? filterWords.join(" "),
    writePath: values.write ?? null,
    maxPackets,
    durationSeconds,
    bufferBytes,
  };
}

/** The message of a capture that cannot start, on stderr; exit status 2. */
function cannotCapture(err: LiveCaptureError): number {
  process.stderr.write(`rpcscope: ${escapeForTerminal(err.message)}\n`);
  return 2;
}

function writeReport(settings: LiveSettings, session: LiveSession, result: AnalyzeResult | null): void {
  for (const line of formatLiveReport(settings.device, settings.writePath, session.report(result))) {
    process.stderr.write(`rpcscope: ${escapeForTerminal(line)}\n`);
  }
}

/** `rpcscope capture …` (argv after the word "capture"). */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { ...COMMON_OPTIONS, ...CAPTURE_OPTIONS },
  });
  if (values.help) {
    process.stdout.write(CAPTURE_USAGE + "\n");
    return 0;
  }
  const opts = commonOptions(values);
  const settings = liveSettings(values, positionals);
  const registry = await registryFor(opts);
  let session: LiveSession;
  try {
    session = LiveSession.open(settings);
  } catch (err) {
    if (err instanceof LiveCaptureError) return cannotCapture(err);
    throw err;
  }
  return captureToOutput(session, settings, opts, registry);
}

async function captureToOutput(
  session: LiveSession,
  settings: LiveSettings,
  opts: CommonOptions,
  registry: Awaited<ReturnType<typeof registryFor>>,
): Promise<number> {
  const names = namesFor(registry);
  const cache = new LineCache(names);
  const out = new LineWriter(1);
  const filter = opts.filter;
  const lines = new LiveLines((line) => out.line(line), filter !== null);
  const render = (m: AnalyzedMessage): string | null => {
    if (filter && !filter({ exchange: m.msg.exchange, message: m.msg, args: m.args, res: m.res, names })) return null;
    if (opts.json) return opts.verbose ? jsonSafeStringify(summaryJson(m, names, true)) : summaryJsonLine(m, cache);
    const text = [summaryLine(m, names, "", cache)];
    if (opts.verbose) {
      if (m.args) text.push(...treeLines(m.args, "          "));
      if (m.res) text.push(...treeLines(m.res, "          "));
    }
    return text.join("\n");
  };
  session.stopOnSignals();
  process.stderr.write(
    `rpcscope: capturing on ${escapeForTerminal(settings.device)} (link type ${session.capture.linkTypeName})` +
      `${settings.bpf ? `, filter '${escapeForTerminal(settings.bpf)}'` : ""}` +
      `${settings.writePath ? `, writing ${escapeForTerminal(settings.writePath)}` : ""}\n`,
  );
  let result: AnalyzeResult | null = null;
  try {
    result = await session.run(
      { limits: opts.limits, registry, decodeBodies: opts.verbose || (filter?.needsBody ?? false) },
      {
        message(m) {
          // Rendered once the reply is known: the bodies are copied out of the record.
          const kept = detachAnalyzed(m);
          lines.push(m.msg, () => render(kept));
        },
        exchangeResolved(ex) {
          lines.exchangeResolved(ex);
        },
        streamIssue(issue) {
          if (!opts.json && !filter && (issue.code === "gap" || issue.code === "resync" || issue.code === "record-too-long")) {
            out.line(`${String(issue.frame).padStart(6)}  ${issue.code}: ${escapeForTerminal(issue.detail)}`);
          }
        },
      },
      () => {
        // Live: every batch's lines go out now, not when 64 KiB have gathered.
        lines.tick();
        out.flush();
        if (out.closed) session.stop("output-closed");
      },
    );
  } finally {
    lines.finish();
    out.flush();
    writeReport(settings, session, result);
  }
  return 0;
}

export interface LiveTuiOptions {
  readonly settings: LiveSettings;
  readonly common: CommonOptions;
}

/** The terminal UI on a live capture (`rpcscope -i IFACE`); returns the exit status. */
export async function runLiveTui(opts: LiveTuiOptions): Promise<number> {
  const { settings, common } = opts;
  const registry = await registryFor(common);
  const names = namesFor(registry);
  let session: LiveSession;
  try {
    session = LiveSession.open(settings);
  } catch (err) {
    if (err instanceof LiveCaptureError) return cannotCapture(err);
    throw err;
  }
  const { CaptureIndex } = await import("../capture-index.js");
  const { runTui } = await import("../tui/app.js");
  const index = new CaptureIndex({ title: `live: ${settings.device}`, live: true, registry, names, limits: common.limits });
  // SIGTERM ends the program (the file is already complete); Ctrl-C is a key in the UI.
  session.stopOnSignals((signal) => {
    if (signal === "SIGTERM") setImmediate(() => process.exit(143));
  });
  let result: AnalyzeResult | null = null;
  let failure: unknown = null;
  const analysis = session.run({ limits: common.limits, registry, ...index.decodeOptions() }, index.handlers(), () => {}).then(
    (r) => {
      result = r;
      index.finished();
    },
    (err: unknown) => {
      failure = err;
      index.finished();
    },
  );
  if (common.filter) index.setFilter(common.filter.source);
  try {
    await runTui(index);
  } finally {
    session.stop("quit");
    await analysis;
    index.close();
    writeReport(settings, session, result);
  }
  if (failure) throw failure;
  return 0;
}
