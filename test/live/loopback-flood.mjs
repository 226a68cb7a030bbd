// A small ONC-RPC flood over 127.0.0.1 to measure live capture: a UDP (or TCP)
// server answering NULL calls of a made-up program, and a client sending them at a
// set rate. Bounded in count and time; prints what it sent as one JSON line.
//
//   node test/live/loopback-flood.mjs --transport udp --port 40123 --count 200000 --rate 50000 --seconds 30
import dgram from "node:dgram";
import net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    transport: { type: "string", default: "udp" },
    port: { type: "string", default: "40123" },
    count: { type: "string", default: "100000" },
    rate: { type: "string", default: "20000" },
    seconds: { type: "string", default: "30" },
  },
});
const port = Number(values.port);
const count = Number(values.count);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const HOST = "127.0.0.1"; // loopback only

const PROG = 0x20000099;
function callBytes(xid) {
  const b = Buffer.alloc(40);
  b.writeUInt32BE(xid >>> 0, 0);
  b.writeUInt32BE(0, 4); // CALL
  b.writeUInt32BE(2, 8); // rpcvers
  b.writeUInt32BE(PROG, 12);
  b.writeUInt32BE(1, 16);
  b.writeUInt32BE(0, 20); // NULL
  return b; // AUTH_NONE cred and verf: zeros
}
function replyBytes(xid) {
  const b = Buffer.alloc(24);
  b.writeUInt32BE(xid >>> 0, 0);
  b.writeUInt32BE(1, 4); // REPLY, MSG_ACCEPTED, AUTH_NONE verf, SUCCESS: zeros
  return b;
}
function marked(msg) {
  const m = Buffer.alloc(4);
  m.writeUInt32BE((0x80000000 | msg.length) >>> 0, 0);
  return Buffer.concat([m, msg]);
}

const started = Date.now();
const deadline = started + seconds * 1000;
let sent = 0;
let replies = 0;
let repliesSent = 0;
let sendErrors = 0;
const onSent = (err) => {
  if (err) sendErrors++;
};

function finish(extra) {
  const elapsed = (Date.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ transport: values.transport, calls: sent, repliesSent, repliesReceived: replies, sendErrors, packetsOnWire: values.transport === "udp" ? sent + repliesSent - sendErrors : null, elapsed, callsPerSecond: Math.round(sent / elapsed), ...extra }) + "\n");
  process.exit(0);
}

/** Sends calls at `rate` per second, in slices of 1 ms, until count or deadline. */
function pace(sendOne, done) {
  const perMs = Math.max(1, rate / 1000);
  let due = 0;
  const t0 = performance.now();
  const timer = setInterval(() => {
    const target = Math.min(count, Math.floor((performance.now() - t0) * perMs));
    while (sent < target) sendOne(sent++);
    due = target;
    if (sent >= count || Date.now() > deadline) {
      clearInterval(timer);
      done();
    }
  }, 1);
  return () => due;
}

if (values.transport === "udp") {
  const server = dgram.createSocket("udp4");
  const client = dgram.createSocket("udp4");
  server.on("message", (msg, rinfo) => {
    repliesSent++;
    server.send(replyBytes(msg.readUInt32BE(0)), rinfo.port, rinfo.address, onSent);
  });
  client.on("message", () => replies++);
  server.bind(port, HOST, () => {
    client.bind(0, HOST, () => {
      pace((i) => client.send(callBytes(i + 1), port, HOST, onSent), () => {
        const wait = setInterval(() => {
          if (replies >= sent || Date.now() > deadline + 1000) {
            clearInterval(wait);
            finish({});
          }
        }, 20);
      });
    });
  });
} else {
  const server = net.createServer((sock) => {
    let pending = Buffer.alloc(0);
    sock.on("data", (d) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      const out = [];
      while (pending.length >= 44) {
        out.push(marked(replyBytes(pending.readUInt32BE(4))));
        pending = pending.subarray(44);
      }
      if (out.length) sock.write(Buffer.concat(out));
    });
  });
  server.listen(port, HOST, () => {
    const client = net.connect(port, HOST, () => {
      let got = Buffer.alloc(0);
      client.on("data", (d) => {
        got = got.length ? Buffer.concat([got, d]) : d;
        const n = Math.floor(got.length / 28);
        replies += n;
        got = got.subarray(n * 28);
      });
      pace((i) => client.write(marked(callBytes(i + 1))), () => {
        const wait = setInterval(() => {
          if (replies >= sent || Date.now() > deadline + 1000) {
            clearInterval(wait);
            finish({});
          }
        }, 20);
      });
    });
    client.setNoDelay(true);
  });
}
