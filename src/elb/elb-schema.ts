/**
 * The ELB engine's SQLite schema (`<data-dir>/elb.db`). Resources keep their normalized domain
 * form as JSON in `body`; the columns beside it are what lookups, uniqueness and cascades need.
 * `forwards` is derived: one row per (listener or rule, target group) a forward action names,
 * rewritten with its owner, so "which load balancers use this group" and "is it in use" are
 * one indexed query. Private keys sit in `certificates.private_key_pem`: the file is 0600.
 */
export const ELB_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE load_balancers (
    arn TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    UNIQUE (region, account, name)
  );
  CREATE TABLE target_groups (
    arn TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    UNIQUE (region, account, name)
  );
  CREATE TABLE listeners (
    arn TEXT PRIMARY KEY,
    lb_arn TEXT NOT NULL REFERENCES load_balancers (arn) ON DELETE CASCADE,
    port INTEGER NOT NULL,
    default_rule_arn TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (lb_arn, port)
  );
  CREATE TABLE rules (
    arn TEXT PRIMARY KEY,
    listener_arn TEXT NOT NULL REFERENCES listeners (arn) ON DELETE CASCADE,
    priority INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (listener_arn, priority)
  );
  CREATE TABLE forwards (
    owner TEXT NOT NULL,
    listener_arn TEXT NOT NULL REFERENCES listeners (arn) ON DELETE CASCADE,
    lb_arn TEXT NOT NULL,
    tg_arn TEXT NOT NULL
  );
  CREATE INDEX forwards_by_owner ON forwards (owner);
  CREATE INDEX forwards_by_group ON forwards (tg_arn);
  CREATE TABLE targets (
    tg_arn TEXT NOT NULL REFERENCES target_groups (arn) ON DELETE CASCADE,
    id TEXT NOT NULL,
    port INTEGER NOT NULL,
    az TEXT,
    state TEXT NOT NULL CHECK (state IN ('registered', 'draining')),
    deregistered_at INTEGER,
    PRIMARY KEY (tg_arn, id, port)
  );
  CREATE TABLE tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
  );
  CREATE TABLE certificates (
    arn TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    account TEXT NOT NULL,
    body TEXT NOT NULL,
    certificate_pem TEXT NOT NULL,
    chain_pem TEXT,
    private_key_pem TEXT NOT NULL
  );
  `,
];
