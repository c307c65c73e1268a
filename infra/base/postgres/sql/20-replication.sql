-- The publication db-events streams (DB_EVENTS_PUBLICATION, DB_EVENTS_TABLES=public.*). Created here because
-- a publication of a whole schema needs a superuser; db-events finds it in place and leaves it as is.
-- Transactional outbox messages (pg_logical_emit_message(true, 'tributary', ...)) need no publication.
create publication tributary_db_events for tables in schema public;

-- REPLICA IDENTITY: with the default (the primary key), updates and deletes carry only the key in
-- old_record. Tables whose subscribers need the previous row set FULL (10-demo-schema.sql does it for
-- public.projects); FULL makes Postgres write whole old rows to WAL, so use it where it pays off.
-- A table without a primary key and without REPLICA IDENTITY FULL/USING INDEX cannot be updated or
-- deleted from while it is in the publication: give every published table a primary key.
--   alter table public.<table> replica identity full;
