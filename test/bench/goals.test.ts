/** bench/goals.ts: issue #9's goals judged on a bench run's measurements. */
import { describe, expect, it } from "vitest";
import { GOAL_ROWS, goalLines, judgeGoals, type RoundMeasurement } from "../../bench/goals.js";

const m = (seconds: number, peakRssMb = 90): RoundMeasurement => ({ seconds, peakRssMb });

/** Five rounds of the rows the goals read (the evening run of 2026-12-07, times rounded to 10 ms). */
function run(): Map<string, RoundMeasurement[]> {
  return new Map([
    [GOAL_ROWS.json, [0.83, 1.02, 0.97, 1.06, 0.91].map((s) => m(s, 92))],
    [GOAL_ROWS.stats, [0.64, 0.72, 0.70, 0.76, 0.72].map((s) => m(s, 90))],
    [GOAL_ROWS.bodies, [3.24, 3.30, 3.08, 3.71, 3.73].map((s) => m(s, 130))],
    [GOAL_ROWS.tsharkFields, [17.67, 15.52, 16.40, 15.63, 18.72].map((s) => m(s, 1114))],
    [GOAL_ROWS.tsharkSrt, [6.03, 4.76, 6.15, 6.80, 6.80].map((s) => m(s, 1114))],
    [GOAL_ROWS.tsharkFull, [22.58, 22.32, 22.80, 22.73, 25.76].map((s) => m(s, 1114))],
    [GOAL_ROWS.bareRead, [0.38, 0.26, 0.27, 0.31, 0.34].map((s) => m(s, 6))],
  ]);
}

describe("the bench's goals", () => {
  it("judges each goal on medians of the rounds' ratios, and the bare read on median times", () => {
    const v = judgeGoals(run());
    expect(v.map((x) => [x.measured, x.met])).toEqual([
      ["16.9×", false], // json: rounds 21.3, 15.2, 16.9, 14.7, 20.6
      ["8.9×", false], // stats: 9.4, 6.6, 8.8, 8.9, 9.4 (the run itself, unrounded, gave 9.0)
      ["3.1×", false], // json 0.97 s over tcpdump's 0.31 s
      ["2.3×", true], // stats 0.72 s over 0.31 s
      ["6.9×", true], // bodies: 7.0, 6.8, 7.4, 6.1, 6.9
      ["130 MB", true], // the largest rpcscope peak; tshark's 1114 MB does not count
    ]);
  });

  it("counts the rounds whose own ratio reaches each goal", () => {
    const v = judgeGoals(run());
    expect(v.map((x) => x.rounds)).toEqual([
      { met: 2, of: 5 }, // json: 21.3 and 20.6 reach 20×
      { met: 0, of: 5 }, // stats: 9.4 at most
      { met: 2, of: 5 }, // json over tcpdump, round by round: 2.18, 3.92, 3.59, 3.42, 2.68
      { met: 5, of: 5 }, // stats over tcpdump: 1.68 … 2.77
      { met: 5, of: 5 },
      undefined, // memory: one figure over every run
    ]);
    expect(goalLines(v)[0]).toMatch(/16\.9×\s+2 of 5 rounds\s+NOT met$/);
    expect(goalLines(v)[3]).toMatch(/2\.3×\s+5 of 5 rounds\s+met$/);
    // A bare read timed in fewer rounds than the command gives the median ratio alone.
    const rounds = run();
    rounds.set(GOAL_ROWS.bareRead, [m(0.3, 6), m(0.3, 6)]);
    expect(judgeGoals(rounds)[2]).toEqual({ goal: "summary --json within 3× of the bare read", measured: "3.2×", met: false });
  });

  it("reaches a goal exactly at its bound, and not a hair short of it", () => {
    const rounds = run();
    rounds.set(GOAL_ROWS.json, rounds.get(GOAL_ROWS.tsharkFields)!.map((x) => m(x.seconds / 20)));
    rounds.set(GOAL_ROWS.stats, rounds.get(GOAL_ROWS.tsharkSrt)!.map((x) => m(x.seconds / 9.99)));
    const v = judgeGoals(rounds);
    expect(v[0]).toMatchObject({ measured: "20.0×", met: true });
    expect(v[1]).toMatchObject({ measured: "10.0×", met: false });
  });

  it("says which goals a run without tshark or tcpdump could not measure", () => {
    const rounds = run();
    for (const key of [GOAL_ROWS.tsharkFields, GOAL_ROWS.tsharkSrt, GOAL_ROWS.tsharkFull, GOAL_ROWS.bareRead]) rounds.delete(key);
    const v = judgeGoals(rounds);
    expect(v.map((x) => x.met)).toEqual([null, null, null, null, null, true]);
    expect(v[0]!.measured).toBe("tshark not run");
    expect(v[2]!.measured).toBe("tcpdump not run");
    expect(goalLines(v)[0]).toMatch(/not measured$/);
  });

  it("fails the memory goal on any rpcscope command at 150 MB or more", () => {
    const rounds = run();
    rounds.set("rpcscope summary -V (bodies as text)", [m(4.6, 118), m(4.5, 150)]);
    const v = judgeGoals(rounds);
    expect(v[5]).toEqual({ goal: "peak RSS of every rpcscope command below 150 MB", measured: "150 MB", met: false });
    expect(goalLines(v)[5]).toMatch(/NOT met$/);
  });
});
