#!/bin/sh
# Supabase-compatible roles: PostgREST logs in as `authenticator` and switches to `anon`, `authenticated` or
# `service_role` from the JWT's `role` claim (keys from `tributary keys`). db-events logs in as `db_events`,
# which may open replication connections. Passwords come from the tributary-postgres Secret.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v authenticator_password="$AUTHENTICATOR_PASSWORD" \
  -v db_events_password="$DB_EVENTS_PASSWORD" <<'SQL'
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit password :'authenticator_password';
grant anon, authenticated, service_role to authenticator;

-- db-events: replication connections, and reading the slot's position for its lag metrics.
create role db_events login replication password :'db_events_password';
grant pg_monitor to db_events;

-- As in Supabase: the API roles see the public schema; row-level security decides which rows.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant select on tables to anon;
alter default privileges in schema public grant all on tables to authenticated, service_role;
alter default privileges in schema public grant usage, select on sequences to authenticated, service_role;
alter default privileges in schema public grant execute on functions to anon, authenticated, service_role;
SQL
