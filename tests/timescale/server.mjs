// Serves TimescaleDB (PostgreSQL 17.5 + TimescaleDB 2.23 compiled to WASM, in memory) on 127.0.0.1 for
// tests/test_timescale.py. Usage: node server.mjs PORT. Prints "ready <port>" once it accepts connections.
// One client connection at a time (later ones queue); no background workers, so policies only run via
// CALL run_job(id). An oracle of SQL semantics, not of performance.
import { PGlite } from "@electric-sql/pglite";
import { timescaledb } from "@electric-sql/pglite/timescaledb";
import { PGLiteSocketHandler, PGLiteSocketServer } from "@electric-sql/pglite-socket";

const port = Number.parseInt(process.argv[2] ?? "", 10);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error("usage: node server.mjs PORT (1..65535)");
  process.exit(2);
}

// COPY ... FROM STDIN over the wire aborts the WASM backend (and the process) in this pglite build, and
// the ingest writer COPYs every batch. This shim answers the COPY itself: it collects the client's
// CopyData messages, then runs the same COPY reading them from pglite's /dev/blob device, so PostgreSQL
// parses the same rows in the same transaction and the client gets the usual "COPY n" reply.
const COPY_FROM_STDIN = /^\s*COPY\s[\s\S]*\bFROM\s+STDIN\b/i;
const passThrough = PGLiteSocketHandler.prototype.handleData;

function frame(type, body) {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, "latin1");
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function simpleQuery(sql) {
  return frame("Q", Buffer.concat([Buffer.from(sql, "utf8"), Buffer.from([0])]));
}

function copyStatement(chunk) {
  if (chunk.length < 6 || chunk[0] !== 0x51) return null; // 'Q': a simple query
  const length = chunk.readInt32BE(1);
  if (chunk.length !== 1 + length) return null;
  const sql = chunk.toString("utf8", 5, length); // without the trailing NUL
  return COPY_FROM_STDIN.test(sql) ? sql : null;
}

async function finishCopy(handler, state, failure) {
  const db = handler.db;
  let reply;
  if (failure === null) {
    await db._handleBlob(new Blob(state.parts));
    try {
      reply = await db.execProtocolRaw(simpleQuery(state.sql.replace(/\bFROM\s+STDIN\b/i, "FROM '/dev/blob'")));
    } finally {
      await db._cleanupBlob();
    }
  } else {
    const message = `COPY from stdin failed: ${failure}`.replaceAll("'", "''");
    reply = await db.execProtocolRaw(simpleQuery(`DO $$BEGIN RAISE EXCEPTION '${message}'; END$$`));
  }
  handler.socket?.write(Buffer.from(reply));
}

PGLiteSocketHandler.prototype.handleData = async function (chunk) {
  if (!this.copyIn) {
    const sql = copyStatement(chunk);
    if (sql === null) return passThrough.call(this, chunk);
    this.copyIn = { sql, parts: [], pending: Buffer.alloc(0) };
    const binary = /\bBINARY\b/i.test(sql) ? 1 : 0;
    this.socket.write(frame("G", Buffer.from([binary, 0, 0]))); // CopyInResponse, columns unspecified
    return;
  }
  const state = this.copyIn;
  state.pending = Buffer.concat([state.pending, chunk]);
  while (state.pending.length >= 5) {
    const length = state.pending.readInt32BE(1);
    if (state.pending.length < 1 + length) break;
    const type = String.fromCharCode(state.pending[0]);
    const body = Buffer.from(state.pending.subarray(5, 1 + length));
    state.pending = state.pending.subarray(1 + length);
    if (type === "d") {
      state.parts.push(body);
    } else if (type === "c" || type === "f") {
      this.copyIn = null;
      await finishCopy(this, state, type === "c" ? null : body.toString("utf8").replace(/\0$/, ""));
      return;
    } // Flush/Sync during COPY IN are ignored, as PostgreSQL does
  }
};

// Every client connection is served by pglite's one backend session, which would carry over whatever
// the previous client left: an open transaction, prepared statements (psycopg names them _pg3_0, ... on
// every connection), temp tables, settings, advisory locks. Reset it whenever a client attaches, as a
// real server starts a fresh session, and set the usual server defaults instead of pglite's own
// (client_min_messages debug3 floods clients with notices; TimeZone GMT).
const RESET_SESSION = ["ROLLBACK", "DISCARD ALL", "SET client_min_messages = 'notice'", "SET TimeZone = 'UTC'"];

async function resetSession(db) {
  for (const sql of RESET_SESSION) await db.execProtocolRaw(simpleQuery(sql)); // replies discarded
}

const attach = PGLiteSocketHandler.prototype.attach;
PGLiteSocketHandler.prototype.attach = async function (socket) {
  const handler = await attach.call(this, socket); // resolves once it holds pglite exclusively
  await resetSession(this.db);
  return handler;
};

const db = await PGlite.create("memory://", { extensions: { timescaledb } });
const server = new PGLiteSocketServer({ db, port, host: "127.0.0.1", connectionQueueTimeout: 120000 });
await server.start();
console.log(`ready ${port}`);

async function stop() {
  await server.stop();
  await db.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
