-- Intake writes every record through every index of `records`. The two secondary
-- indexes of 0001 cost about a quarter of the append time; one (agency, seq)
-- index serves every listing by agency (with or without a kind filter) in log
-- order. A listing by kind alone walks the log in seq order, which the CLI can
-- afford and the API never does (a token reads its own agency only).
DROP INDEX IF EXISTS records_agency_kind_seq;
DROP INDEX IF EXISTS records_kind_seq;
CREATE INDEX records_agency_seq ON records (agency, seq);
