/**
 * The SQLite schema, one migration per version: MIGRATIONS[v] takes a file from `user_version` v to v+1.
 * Never edit a released migration; add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    pipeline_name TEXT NOT NULL,
    pipeline_version TEXT NOT NULL,
    pipeline_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    current_step_index INTEGER NOT NULL,
    total_steps INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    total_cost_usd REAL NOT NULL,
    total_tokens INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error_message TEXT
  );
  CREATE INDEX runs_by_status ON runs (status);
  CREATE INDEX runs_by_pipeline ON runs (pipeline_name);
  CREATE INDEX runs_by_created ON runs (created_at);

  -- One row per top-level step run, append-only: its result and a patch of its context changes. Keyed
  -- by (run_id, seq) itself, so appending a step writes one b-tree, not a table and an index.
  CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    step_index INTEGER NOT NULL,
    history_index INTEGER NOT NULL,
    step_name TEXT NOT NULL,
    success INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    token_counts INTEGER NOT NULL,
    latency_s REAL NOT NULL,
    created_at TEXT NOT NULL,
    result BLOB NOT NULL,
    patch BLOB,
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID;

  -- The latest full context of each run; patches of steps after its seq are replayed on top.
  CREATE TABLE snapshots (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    context BLOB NOT NULL
  );

  CREATE TABLE traces (
    run_id TEXT PRIMARY KEY,
    trace BLOB NOT NULL,
    created_at TEXT NOT NULL
  );

  -- The persistent step cache (SQLiteCache): results by cache key, with expiry and use time for eviction.
  CREATE TABLE cache (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL
  );
  CREATE INDEX cache_by_use ON cache (used_at);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
