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
