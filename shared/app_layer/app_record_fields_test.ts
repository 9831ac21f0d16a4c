import assert from "node:assert/strict";
import {
  APP_RECORD_FIELD_NAMES,
  type AppRecordFields,
  appRecordFields,
  clearAppFields,
  NO_APP_FIELDS,
} from "./app_record_fields.ts";

Deno.test("appRecordFields() gives every field, in record order, null without metadata", () => {
  const none = appRecordFields(null);
  assert.deepEqual(Object.keys(none), APP_RECORD_FIELD_NAMES);
  assert.deepEqual(none, NO_APP_FIELDS);
  assert.ok(!Object.isFrozen(none), "a fresh object the caller may fill");
  assert.notEqual(appRecordFields(null), none);
});

Deno.test("appRecordFields() keeps the shape and fills only the message's fields", () => {
  const fields = appRecordFields({
    app_protocol: "dns",
    dns_query: "example.net",
    dns_qtype: 1,
    dns_rcode: 0,
    dns_answers: ["192.0.2.1", "192.0.2.2"],
    dns_cnames: [],
    dns_ttl: 60,
  });
  assert.deepEqual(Object.keys(fields), APP_RECORD_FIELD_NAMES);
  assert.deepEqual(fields, {
    ...NO_APP_FIELDS,
    app_protocol: "dns",
    dns_query: "example.net",
    dns_qtype: 1,
    dns_rcode: 0,
    dns_answers: "192.0.2.1,192.0.2.2",
    dns_ttl: 60,
  });
});

Deno.test("clearAppFields() sets every app-layer field to null and adds none", () => {
  const filled = Object.fromEntries(
    APP_RECORD_FIELD_NAMES.map((name) => [name, "x"]),
  ) as unknown as AppRecordFields;
  clearAppFields(filled);
  assert.deepEqual(Object.keys(filled), APP_RECORD_FIELD_NAMES);
  assert.deepEqual(filled, NO_APP_FIELDS);
});
