/** The sample captures under samples/, for tests that run over all of them. */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..");

/** Every .pcap/.pcapng below samples/, sorted; samples/hostile/ (broken on purpose, tested in test/hostile/) left out. */
export function sampleCaptures(dir = join(ROOT, "samples")): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== "hostile") out.push(...sampleCaptures(p));
    } else if (/\.pcap(ng)?$/.test(name)) out.push(p);
  }
  return out.sort();
}

/**
 * The samples, plus the hostile captures whose bodies decode into awkward values
 * (control characters in strings, a union with no arm): for tests that compare two
 * ways of showing every decoded body.
 */
export function bodySampleCaptures(): string[] {
  return [
    ...sampleCaptures(),
    join(ROOT, "samples", "hostile", "hostile-strings.pcap"),
    join(ROOT, "samples", "hostile", "union-no-arm.pcap"),
  ];
}

/** The spec the demo-service samples need, for tests that decode every sample's bodies. */
export const DEMO_SPEC = join(ROOT, "samples", "demo-service", "demo.x");
