-- Why a flow raised an alert (issue 11): the five features that moved its
-- score most, as exact TreeSHAP contributions of the raw forest output,
-- [{"feature": "...", "value": 12, "contribution": 0.21}, ...] largest first.
-- Written by the aggregator (and `deno task rescore`) for every flow scored at
-- least ALERT_MIN_SCORE; null for the others and for flows stored before.
-- Nullable, so adding it rewrites no row.
alter table traffic_data
  add column explanation jsonb;
