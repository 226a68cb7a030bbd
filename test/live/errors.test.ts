/**
 * When live capture cannot work, the message says exactly why and how to fix it,
 * with exit status 2; reading files keeps working. The "cap missing" and "cap not
 * built" cases are made real by pointing RPCSCOPE_CAP_MODULE at a module that is not
 * there or whose native part is missing; "no permission" by running as nobody.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, ENTRY, ensureBuilt, ROOT, run, which } from "./helpers.js";
import { linkTypeFromCap, wireLengthFromHeaders } from "../../capture/live-capture.js";
import { LinkType } from "../../capture/frame.js";
import { buildIpv4Tcp, buildIpv6Udp, wrapEthernet, wrapSll } from "../../capture/packet-builder.js";
import { prefixLength } from "../../ui/commands/interfaces.js";
import { liveSettings } from "../../ui/commands/capture.js";

ensureBuilt();

const SAMPLE = join(ROOT, "samples", "rpcbind", "rpcinfo-tcp-udp.pcapng");

/** Temporary directories the tests make, removed when they are done. */
const made: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe("when live capture is impossible", () => {
  it("cap not installed: says so and how to install it, exit 2; summary of a file still works", () => {
    const env = { RPCSCOPE_CAP_MODULE: "/nonexistent/rpcscope-test/cap" };
    const r = run(process.execPath, [ENTRY, "capture", "-i", "lo", "--duration", "1"], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^rpcscope: live capture needs the optional package 'cap' \(a libpcap binding\), which is not installed: apt-get install libpcap-dev && npm install cap\n$/);
    const list = run(process.execPath, [ENTRY, "interfaces"], env);
    expect(list.status).toBe(2);
    expect(list.stderr).toMatch(/not installed/);
    const offline = run(process.execPath, [CLI, "summary", SAMPLE], env);
    expect(offline.status).toBe(0);
    expect(offline.stdout).toMatch(/RPC messages/);
  });

  it("cap installed but its native part not built: says to rebuild it, exit 2", () => {
    const pkg = tempDir("rpcscope-fake-cap-");
    // Like cap's lib/Cap.js: requires the addon that node-gyp would have built.
    writeFileSync(join(pkg, "index.js"), "module.exports = require('./build/Release/cap.node');\n");
    const r = run(process.execPath, [ENTRY, "capture", "-i", "lo"], { RPCSCOPE_CAP_MODULE: join(pkg, "index.js") });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^rpcscope: the optional package 'cap' is installed but its native part did not build or load \(Cannot find module '\.\/build\/Release\/cap\.node'.*\): apt-get install libpcap-dev && npm rebuild cap\n$/);
  });

  it("a module that is not the binding is reported as such", () => {
    const pkg = tempDir("rpcscope-fake-cap-");
    writeFileSync(join(pkg, "index.js"), "module.exports = { Cap: 42 };\n");
    const r = run(process.execPath, [ENTRY, "interfaces"], { RPCSCOPE_CAP_MODULE: join(pkg, "index.js") });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is not the cap libpcap binding; reinstall it: npm install cap && apt-get install libpcap-dev && npm rebuild cap/);
  });

  const setpriv = which("setpriv");
  const isRoot = process.getuid?.() === 0;
  const whyNoUnprivileged = !isRoot ? "the tests do not run as root, so cannot switch to an unprivileged user" : !setpriv ? "setpriv is not installed" : null;
  if (whyNoUnprivileged) console.log(`test/live/errors: permission test skipped: ${whyNoUnprivileged}`);

  it.skipIf(whyNoUnprivileged !== null)("an unprivileged user: says capturing needs root or CAP_NET_RAW and how to grant it, exit 2", () => {
    // nobody needs only read access to the tree, and a HOME it may use.
    const home = tempDir("rpcscope-nobody-");
    chmodSync(home, 0o777);
    const r = run(setpriv!, ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", process.execPath, ENTRY, "capture", "-i", "lo", "--duration", "1"], { HOME: home });
    if (r.stderr.includes("EACCES") && r.stderr.includes("entry.mjs")) {
      console.log("test/live/errors: the work tree is not readable by nobody; permission test cannot run here");
      return;
    }
    expect(r.status, `stderr: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(/^rpcscope: not allowed to capture on lo \(libpcap: .*(not permitted|ermission).*\): capturing needs root or the CAP_NET_RAW and CAP_NET_ADMIN capabilities; run as root, or let node capture: sudo setcap cap_net_raw,cap_net_admin=eip \$\(which node\)\n$/);
    // Listing interfaces needs no privilege.
    const list = run(setpriv!, ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, ENTRY, "interfaces"], { HOME: home });
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/\blo\b.*127\.0\.0\.1\/8.*\[loopback\]/);
  });

  it.skipIf(!isRoot)("an interface that does not exist, and a bad BPF filter (as root)", () => {
    const none = run(process.execPath, [ENTRY, "capture", "-i", "nosuchif0", "--duration", "1"]);
    expect(none.status).toBe(2);
    expect(none.stderr).toBe("rpcscope: no interface named 'nosuchif0'; see 'rpcscope interfaces'\n");
    const bad = run(process.execPath, [ENTRY, "capture", "-i", "lo", "-f", "port port", "--duration", "1"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/rpcscope: bad capture filter 'port port': .*syntax error.*pcap-filter\(7\)/);
  });

  it("usage errors: no interface, bad count, bad duration, both -f and filter words", () => {
    const cases: [string[], RegExp][] = [
      [["capture"], /live capture needs -i IFACE/],
      [["capture", "-i", "lo", "-c", "0"], /-c expects a positive packet count, got '0'/],
      [["capture", "-i", "lo", "--duration", "soon"], /--duration expects a positive number of seconds, got 'soon'/],
      [["capture", "-i", "lo", "-f", "udp", "port", "111"], /either with -f or as trailing words/],
      [["capture", "-i", "lo", "--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = run(process.execPath, [ENTRY, ...args]);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
  });
});

describe("live capture helpers", () => {
  it("maps cap's link type names to LINKTYPE numbers", () => {
    expect(linkTypeFromCap("ETHERNET")).toBe(LinkType.ETHERNET);
    expect(linkTypeFromCap("LINKTYPE_LINUX_SLL")).toBe(LinkType.LINUX_SLL);
    expect(linkTypeFromCap("RAW")).toBe(LinkType.RAW);
    expect(linkTypeFromCap("NULL")).toBe(LinkType.NULL);
    expect(linkTypeFromCap("Unknown linktype 276")).toBe(LinkType.LINUX_SLL2);
    expect(linkTypeFromCap("Unknown linktype 12")).toBe(LinkType.RAW);
    expect(linkTypeFromCap("something else")).toBeNull();
  });

  it("takes the wire length of a frame cut at the snaplen from its IP header", () => {
    const payload = new Uint8Array(1000);
    const tcp = wrapEthernet(buildIpv4Tcp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 1, dport: 2, seq: 1, payload }));
    expect(wireLengthFromHeaders(tcp, LinkType.ETHERNET)).toBe(tcp.length);
    expect(wireLengthFromHeaders(tcp.subarray(0, 100), LinkType.ETHERNET)).toBe(tcp.length);
    const v6 = wrapSll(buildIpv6Udp({ src: "::1", dst: "::1", sport: 1, dport: 2, payload }));
    expect(wireLengthFromHeaders(v6.subarray(0, 80), LinkType.LINUX_SLL)).toBe(v6.length);
    // Too short to tell, or not IP: the captured length.
    expect(wireLengthFromHeaders(tcp.subarray(0, 10), LinkType.ETHERNET)).toBe(10);
    expect(wireLengthFromHeaders(Uint8Array.of(1, 2, 3), 12345)).toBe(3);
  });

  it("netmasks to prefix lengths", () => {
    expect(prefixLength("255.0.0.0")).toBe(8);
    expect(prefixLength("255.255.255.255")).toBe(32);
    expect(prefixLength("ffff:ffff:ffff:ffff::")).toBe(64);
    expect(prefixLength("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toBe(128);
    expect(prefixLength("255.0.255.0")).toBeNull();
    expect(prefixLength("nonsense")).toBeNull();
  });

  it("settings from options and trailing filter words", () => {
    expect(liveSettings({ interface: "lo", count: "5", duration: "2.5", write: "x.pcapng" }, ["port", "111"])).toEqual({
      device: "lo", bpf: "port 111", writePath: "x.pcapng", maxPackets: 5, durationSeconds: 2.5, bufferBytes: null,
    });
  });
});
