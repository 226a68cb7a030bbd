/**
 * What the build (`npm run build`, run by `npm test` first) leaves in dist/: the CLI
 * as one bundled file with chunks for the TUI and the subcommands, which starts and
 * runs as tsc's unbundled entry does. The tests that run dist/ui/cli.js (hostile
 * captures, libvirt, live capture, the TUI in tmux) all run the bundle.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../sample-files.js";

const UI = join(ROOT, "dist", "ui");
const SAMPLE = join(ROOT, "samples", "rpcbind", "rpcinfo-tcp-udp.pcapng");

describe("the built CLI", () => {
  it("is one bundled file, tsc's entry kept beside it, the TUI and subcommands in chunks", () => {
    const bundle = readFileSync(join(UI, "cli.js"), "utf8");
    expect(bundle.startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(bundle).not.toContain('from "./cli-main.js"');
    expect(readFileSync(join(UI, "cli-entry.js"), "utf8")).toContain('from "./cli-main.js"');
    const chunks = readdirSync(UI).filter((name) => /^bundle-.*\.js$/.test(name));
    expect(chunks).toEqual(expect.arrayContaining(["bundle-app.js", "bundle-diff.js", "bundle-write.js"]));
    // Static imports of the bundle: node's own modules only (blessed and cap are loaded when used).
    const imported = [...bundle.matchAll(/^import\b[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]!);
    expect(imported.length).toBeGreaterThan(3);
    expect(imported.filter((spec) => !spec.startsWith("node:"))).toEqual([]);
    expect(existsSync(join(ROOT, "dist", "builtin-specs.json"))).toBe(true);
  });

  it("prints the same summary and stats as tsc's unbundled entry", () => {
    for (const args of [["summary", SAMPLE], ["summary", "--json", "-V", SAMPLE], ["stats", SAMPLE], ["diff", SAMPLE, SAMPLE]]) {
      const bundled = execFileSync(process.execPath, [join(UI, "cli.js"), ...args], { encoding: "utf8" });
      const unbundled = execFileSync(process.execPath, [join(UI, "cli-entry.js"), ...args], { encoding: "utf8" });
      expect(bundled.length, args.join(" ")).toBeGreaterThan(200);
      expect(bundled, args.join(" ")).toBe(unbundled);
    }
  });
});
