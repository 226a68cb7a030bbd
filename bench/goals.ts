/**
 * The performance goals of issue #9, checked against a bench run's measurements:
 * each goal with the figure measured and whether it was reached, so a run says
 * plainly where the project stands (a goal whose rows were not run says so).
 *
 * Ratios to tshark are medians of the ratios within rounds (commands side by side
 * see the same drift of the machine); ratios to the bare read are of the medians,
 * as the bench's "how many times slower than a bare read" lines give them.
 */

export interface RoundMeasurement {
  readonly seconds: number;
  readonly peakRssMb: number;
}

/** The bench's row labels the goals read. */
export const GOAL_ROWS = {
  json: "rpcscope summary --json",
  stats: "rpcscope stats",
  bodies: "rpcscope summary --json -V (bodies)",
  tsharkFields: "tshark -Y rpc -T fields",
  tsharkSrt: "tshark -z rpc,srt,100003,3",
  tsharkFull: "tshark -V (full decode)",
  bareRead: "tcpdump -r F -w /dev/null (libpcap)",
} as const;

export interface GoalVerdict {
  readonly goal: string;
  /** The figure measured ("16.9×", "130 MB"), or why there is none. */
  readonly measured: string;
  /** null when it could not be measured in this run. */
  readonly met: boolean | null;
  /**
   * For a goal on a ratio: in how many rounds the ratio of that round alone reached it
   * (on this machine the ratios drift from round to round, and a median a hair either
   * side of a goal says less than "4 of 5 rounds").
   */
  readonly rounds?: { readonly met: number; readonly of: number };
}

/** The median the bench reports (of an even count, the upper of the two middle values). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A ratio as judged: the figure, and the same ratio within each round. */
interface Ratio {
  readonly value: number;
  readonly perRound: readonly number[];
}

/** Median over rounds of slow/fast: how many times faster `fast` was. Null without both rows in every round. */
function timesFaster(rounds: ReadonlyMap<string, readonly RoundMeasurement[]>, fast: string, slow: string): Ratio | null {
  const f = rounds.get(fast);
  const s = rounds.get(slow);
  if (!f || !s || f.length === 0 || f.length !== s.length) return null;
  const perRound = f.map((x, i) => s[i]!.seconds / x.seconds);
  return { value: median(perRound), perRound };
}

/** Median time of `row` over median time of `base` (per round: that round's two times, when both ran every round). */
function timesSlower(rounds: ReadonlyMap<string, readonly RoundMeasurement[]>, row: string, base: string): Ratio | null {
  const r = rounds.get(row);
  const b = rounds.get(base);
  if (!r || !b || r.length === 0 || b.length === 0) return null;
  const perRound = r.length === b.length ? r.map((x, i) => x.seconds / b[i]!.seconds) : [];
  return { value: median(r.map((x) => x.seconds)) / median(b.map((x) => x.seconds)), perRound };
}

/** The goals as issue #9 sets them, each judged on `rounds` (label → one measurement per round). */
export function judgeGoals(rounds: ReadonlyMap<string, readonly RoundMeasurement[]>): GoalVerdict[] {
  const verdicts: GoalVerdict[] = [];
  const judge = (goal: string, ratio: Ratio | null, reaches: (x: number) => boolean, missing: string): void => {
    if (ratio === null) {
      verdicts.push({ goal, measured: missing, met: null });
      return;
    }
    const verdict: GoalVerdict = { goal, measured: `${ratio.value.toFixed(1)}×`, met: reaches(ratio.value) };
    const of = ratio.perRound.length;
    verdicts.push(of > 0 ? { ...verdict, rounds: { met: ratio.perRound.filter(reaches).length, of } } : verdict);
  };
  const atLeast = (goal: string, ratio: Ratio | null, target: number, missing: string): void =>
    judge(goal, ratio, (x) => x >= target, missing);
  const atMost = (goal: string, ratio: Ratio | null, target: number, missing: string): void =>
    judge(goal, ratio, (x) => x <= target, missing);
  atLeast("summary --json at least 20× tshark -T fields", timesFaster(rounds, GOAL_ROWS.json, GOAL_ROWS.tsharkFields), 20, "tshark not run");
  atLeast("stats at least 10× tshark -z rpc,srt", timesFaster(rounds, GOAL_ROWS.stats, GOAL_ROWS.tsharkSrt), 10, "tshark not run");
  atMost("summary --json within 3× of the bare read", timesSlower(rounds, GOAL_ROWS.json, GOAL_ROWS.bareRead), 3, "tcpdump not run");
  atMost("stats within 3× of the bare read", timesSlower(rounds, GOAL_ROWS.stats, GOAL_ROWS.bareRead), 3, "tcpdump not run");
  atLeast("bodies (--json -V) at least 5× tshark -V", timesFaster(rounds, GOAL_ROWS.bodies, GOAL_ROWS.tsharkFull), 5, "tshark not run");
  let peak = 0;
  let seen = false;
  for (const [label, ms] of rounds) {
    if (!label.startsWith("rpcscope ")) continue;
    for (const m of ms) {
      peak = Math.max(peak, m.peakRssMb);
      seen = true;
    }
  }
  verdicts.push(seen
    ? { goal: "peak RSS of every rpcscope command below 150 MB", measured: `${peak.toFixed(0)} MB`, met: peak < 150 }
    : { goal: "peak RSS of every rpcscope command below 150 MB", measured: "no rpcscope row ran", met: null });
  return verdicts;
}

/** The verdicts as the bench prints them, a line each. */
export function goalLines(verdicts: readonly GoalVerdict[]): string[] {
  return verdicts.map((v) => {
    const rounds = v.rounds ? `${v.rounds.met} of ${v.rounds.of} rounds` : "";
    return `  ${v.goal.padEnd(52)} ${v.measured.padStart(15)}  ${rounds.padStart(15)}  ${v.met === null ? "not measured" : v.met ? "met" : "NOT met"}`;
  });
}
