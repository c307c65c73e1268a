-- Tributary demo schema: the users / projects / files tables of the platform's reference stack.
-- Loaded by `tributary dev` into its embedded Postgres and by infra/ into the cluster's Postgres.
-- Idempotent: safe to run on every start.

create extension if not exists pgcrypto;

create table if not exists public.users (
  id uuid primary key default gen_random_uuid(),
  email text not null unique,
  name text,
  created_at timestamptz not null default now()
);

create table if not exists public.projects (
  id bigint generated always as identity primary key,
  owner_id uuid not null references public.users (id) on delete cascade,
  name text not null,
  settings jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

create table if not exists public.files (
  id bigint generated always as identity primary key,
  bucket text not null,
  key text not null,
  size bigint,
  content_type text,
  etag text,
  project_id bigint references public.projects (id) on delete set null,
  indexed_at timestamptz,
  created_at timestamptz not null default now(),
  unique (bucket, key)
);

-- db-events sends the primary key as old_record for updates and deletes (REPLICA IDENTITY DEFAULT).
-- Tables whose subscribers need the whole previous row set REPLICA IDENTITY FULL, e.g.:
alter table public.projects replica identity full;
