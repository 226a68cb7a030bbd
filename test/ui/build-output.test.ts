/**
 * What the build (`npm run build`, run by `npm test` first) leaves in dist/: the CLI
 * as one CommonJS bundle with chunks for the TUI and the subcommands, its V8 code
 * cache, and the command that runs them (`dist/ui/rpcscope.cjs`), which prints what
 * tsc's unbundled entry (`dist/ui/cli.js`) prints. The tests that run the CLI
 * (hostile captures, libvirt, live capture, the TUI in tmux) all run the command.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import rpcscope from "../../dist/ui/rpcscope.cjs";
import { ROOT } from "../sample-files.js";

const UI = join(ROOT, "dist", "ui");
const COMMAND = join(UI, "rpcscope.cjs");
const BUNDLE = join(UI, "cli-bundle.cjs");
const SAMPLE = join(ROOT, "samples", "rpcbind", "rpcinfo-tcp-udp.pcapng");

const scratch = mkdtempSync(join(tmpdir(), "rpcscope-build-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the built CLI", () => {
  it("is one bundled file, the TUI and subcommands in chunks, run by the package's command", () => {
    const packageJson = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(packageJson.bin["rpcscope"]).toBe("dist/ui/rpcscope.cjs");
    expect(readFileSync(COMMAND, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    const bundle = readFileSync(BUNDLE, "utf8");
    expect(bundle).not.toContain('require("./cli-main.js")');
    expect(readFileSync(join(UI, "cli.js"), "utf8")).toContain('from "./cli-main.js"');
    const chunks = readdirSync(UI).filter((name) => /^bundle-.*\.cjs$/.test(name));
    expect(chunks).toEqual(expect.arrayContaining(["bundle-app.cjs", "bundle-diff.cjs", "bundle-write.cjs"]));
    // What the bundle requires when loaded: node's own modules only (blessed and cap are loaded when used).
    const required = [...bundle.matchAll(/^(?:let|const|var) \w+ = require\("([^"]+)"\)/gm)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(3);
    expect(required.filter((spec) => !spec.startsWith("node:"))).toEqual([]);
    // The bundle runs as a script (vm.Script), which has no import() to load a module with.
    expect(bundle).not.toMatch(/(?<![\w.$])import\(/);
    expect(existsSync(join(ROOT, "dist", "builtin-specs.json"))).toBe(true);
  });

  it("has a code cache that this node accepts for the bundle as built", () => {
    const cacheFile = rpcscope.cacheFileOf(BUNDLE);
    expect(readFileSync(cacheFile).length).toBeGreaterThan(100_000);
    expect(rpcscope.compileBundle(BUNDLE).cacheRejected).toBe(false);
    // Against a changed source V8 refuses it, and the bundle compiles from its source.
    const changed = join(scratch, "changed.cjs");
    writeFileSync(changed, `${readFileSync(BUNDLE, "utf8")}\n// changed\n`);
    expect(rpcscope.compileBundle(changed, cacheFile).cacheRejected).toBe(true);
  });

  it("prints the same summary and stats as tsc's unbundled entry", () => {
    for (const args of [["summary", SAMPLE], ["summary", "--json", "-V", SAMPLE], ["stats", SAMPLE], ["diff", SAMPLE, SAMPLE]]) {
      const bundled = execFileSync(process.execPath, [COMMAND, ...args], { encoding: "utf8" });
      const unbundled = execFileSync(process.execPath, [join(UI, "cli.js"), ...args], { encoding: "utf8" });
      expect(bundled.length, args.join(" ")).toBeGreaterThan(200);
      expect(bundled, args.join(" ")).toBe(unbundled);
    }
  });

  it("runs as well with a damaged code cache, without one, and without the bundle", () => {
    // A copy of what the CLI reads (the build, the specifications), whose cache is then garbage, then gone.
    for (const part of ["package.json", "dist", join("dissect", "specs")]) cpSync(join(ROOT, part), join(scratch, part), { recursive: true });
    const ui = join(scratch, "dist", "ui");
    const expected = execFileSync(process.execPath, [COMMAND, "stats", SAMPLE], { encoding: "utf8" });
    const run = (): string => execFileSync(process.execPath, [join(ui, "rpcscope.cjs"), "stats", SAMPLE], { encoding: "utf8" });
    expect(run()).toBe(expected);
    writeFileSync(join(ui, "cli-bundle.cjs.cache"), Buffer.alloc(4096, 0x5a));
    expect(rpcscope.compileBundle(join(ui, "cli-bundle.cjs")).cacheRejected).toBe(true);
    expect(run()).toBe(expected);
    rmSync(join(ui, "cli-bundle.cjs.cache"));
    expect(run()).toBe(expected);
    // Built without rolldown there is no bundle: the command runs tsc's entry.
    rmSync(join(ui, "cli-bundle.cjs"));
    expect(run()).toBe(expected);
  });
});
