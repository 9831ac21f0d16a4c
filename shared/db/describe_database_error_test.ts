import assert from "node:assert/strict";
import { databaseErrorKind, describeDatabaseError } from "./describe_database_error.ts";

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

Deno.test("databaseErrorKind() tells a refusal of new connections from a statement's 55000", () => {
  const refusal = coded("55000", 'database "traffic" is not currently accepting connections');
  assert.equal(databaseErrorKind(refusal), "unavailable");
  assert.equal(databaseErrorKind(coded("55000", "lock not available")), "statement");
  assert.equal(
    describeDatabaseError(refusal, { databaseUrl: "postgres://ta@db:5432/traffic" }),
    "PostgreSQL at ta@db:5432/traffic is not serving now " +
      '(55000: database "traffic" is not currently accepting connections)',
  );
});

Deno.test("databaseErrorKind() sorts refused logins, missing databases and lost sockets", () => {
  assert.equal(databaseErrorKind(coded("28P01")), "rejected");
  assert.equal(databaseErrorKind(coded("3D000")), "rejected");
  assert.equal(databaseErrorKind(coded("ECONNREFUSED")), "unreachable");
  assert.equal(databaseErrorKind(new Error("x", { cause: coded("ECONNRESET") })), "lost");
  assert.equal(databaseErrorKind(coded("42P01")), "statement");
});

Deno.test("databaseErrorKind() reads Deno's socket errors, SQLSTATE class 08 and a Unix socket with nothing behind it", () => {
  assert.equal(databaseErrorKind(new Deno.errors.BrokenPipe("pipe")), "lost");
  assert.equal(databaseErrorKind(new Deno.errors.NetworkUnreachable("net")), "unreachable");
  assert.equal(databaseErrorKind(coded("08001")), "unreachable");
  assert.equal(databaseErrorKind(coded("08006")), "lost");
  const socketGone = Object.assign(coded("ENOENT", "connect ENOENT /tmp/x/.s.PGSQL.5432"), {
    syscall: "connect",
  });
  assert.equal(databaseErrorKind(socketGone), "unreachable");
  assert.equal(databaseErrorKind(coded("ENOENT", "open migrations/001.sql")), "statement");
});

Deno.test("databaseErrorKind() looks past a statement error and into an AggregateError for the connection problem", () => {
  const wrapped = Object.assign(new Error("query failed", { cause: coded("ECONNRESET") }), {
    code: "XX000",
  });
  assert.equal(databaseErrorKind(wrapped), "lost");
  assert.equal(
    databaseErrorKind(new AggregateError([new Error("x"), coded("ECONNREFUSED")])),
    "unreachable",
  );
  assert.equal(
    describeDatabaseError(new AggregateError([coded("ECONNREFUSED")]), {
      databaseUrl: "postgres://ta@db:5432/traffic",
    }),
    "cannot reach PostgreSQL at ta@db:5432/traffic (ECONNREFUSED): " +
      "check the host and port in DATABASE_URL and that the server is running",
  );
  assert.equal(describeDatabaseError(coded("42P01", "no table")), "42P01: no table");
});
