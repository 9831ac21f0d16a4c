-- Which aggregator instance ran the last pass. An instance that did not, and
-- sees that another one passed recently, stands by instead of taking turns:
-- taking turns would make every pass load the flow table from here rather
-- than reuse the one in memory, which costs seconds for a large table.
alter table aggregator_progress add column last_pass_by text;
