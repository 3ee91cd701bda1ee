-- CP-IS access notices (PostgreSQL): a full read of a child on a plan by
-- another agency's staff tells the child's allocated worker (`to_user_id`) or
-- the duty team of the lead social care agency (`to_team`, `team:AGENCY/TEAM`),
-- with a notice of kind `cpis_access`. Adding columns fires no row trigger:
-- the table stays append-only.
-- Numbered 0060 to leave 0050-0059 to other features built alongside.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

ALTER TABLE access_notices DROP CONSTRAINT access_notices_kind_check;
ALTER TABLE access_notices ADD CONSTRAINT access_notices_kind_check
    CHECK (kind IN ('new_relationship', 'relationship_held', 'break_glass', 'cpis_access'));
ALTER TABLE access_notices ADD COLUMN to_user_id BIGINT NULL;
ALTER TABLE access_notices ADD COLUMN to_team TEXT NULL
    CHECK (to_team IS NULL OR length(to_team) BETWEEN 1 AND 300);

CREATE INDEX access_notices_to_user ON access_notices (to_user_id, seq);
CREATE INDEX access_notices_to_team ON access_notices (to_team, seq);
