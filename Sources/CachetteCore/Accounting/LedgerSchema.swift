import GRDB

/// The ledger's tables in the sidecar's SQLite file, migrated by the ledger when it
/// opens the file. Its migrations share GRDB's table with `CachetteDatabase`'s under
/// their own names, so files made before the split skip what they already have.
enum LedgerSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v3: ledger") { db in
            try db.execute(
                sql: """
                    CREATE TABLE ledger (
                        time REAL NOT NULL,
                        route TEXT NOT NULL,
                        model TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        prompt_tokens INTEGER NOT NULL,
                        completion_tokens INTEGER NOT NULL,
                        cached_prompt_tokens INTEGER NOT NULL,
                        saved_cache_tokens INTEGER NOT NULL,
                        saved_compression_tokens INTEGER NOT NULL,
                        prompt_tokens_before_compression INTEGER NOT NULL,
                        counted INTEGER NOT NULL,
                        latency_ms REAL NOT NULL,
                        spent_usd REAL NOT NULL,
                        saved_usd REAL NOT NULL,
                        saved_compression_usd REAL NOT NULL
                    );
                    CREATE INDEX ledger_by_time ON ledger(time);
                    CREATE TABLE model_totals (
                        model TEXT NOT NULL PRIMARY KEY,
                        requests INTEGER NOT NULL,
                        hits INTEGER NOT NULL,
                        input_tokens INTEGER NOT NULL,
                        output_tokens INTEGER NOT NULL,
                        cached_input_tokens INTEGER NOT NULL,
                        saved_tokens INTEGER NOT NULL,
                        saved_compression_tokens INTEGER NOT NULL,
                        spent_usd REAL NOT NULL,
                        saved_usd REAL NOT NULL,
                        saved_compression_usd REAL NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v4: ledger rollup") { db in
            // Per minute and per hour sums of the ledger, for /stats/series: a month of
            // requests at any rate is at most 43,200 minutes and 720 hours per outcome.
            try db.execute(
                sql: """
                    CREATE TABLE ledger_rollup (
                        resolution INTEGER NOT NULL,
                        bucket INTEGER NOT NULL,
                        outcome TEXT NOT NULL,
                        requests INTEGER NOT NULL,
                        saved_cache_tokens INTEGER NOT NULL,
                        saved_compression_tokens INTEGER NOT NULL,
                        spent_usd REAL NOT NULL,
                        saved_cache_usd REAL NOT NULL,
                        saved_compression_usd REAL NOT NULL,
                        PRIMARY KEY (resolution, bucket, outcome)
                    ) WITHOUT ROWID;
                    """)
            for resolution in Ledger.rollupResolutions {
                try db.execute(
                    sql: """
                        INSERT INTO ledger_rollup
                        SELECT ?, CAST(time / ? AS INTEGER) * ?, outcome, count(*), sum(saved_cache_tokens),
                               sum(saved_compression_tokens), sum(spent_usd), sum(saved_usd - saved_compression_usd),
                               sum(saved_compression_usd)
                        FROM ledger GROUP BY 2, 3
                        """, arguments: [resolution, resolution, resolution])
            }
        }
        migrator.registerMigration("v6: ledger per model and hour") { db in
            // /stats's windows from hourly sums plus their two partial hours of rows: a
            // week is at most 168 rows per model, not a week of requests.
            try db.execute(
                sql: """
                    CREATE TABLE ledger_model_hours (
                        bucket INTEGER NOT NULL,
                        model TEXT NOT NULL,
                        requests INTEGER NOT NULL,
                        hits INTEGER NOT NULL,
                        input_tokens INTEGER NOT NULL,
                        output_tokens INTEGER NOT NULL,
                        cached_input_tokens INTEGER NOT NULL,
                        saved_tokens INTEGER NOT NULL,
                        saved_compression_tokens INTEGER NOT NULL,
                        spent_usd REAL NOT NULL,
                        saved_usd REAL NOT NULL,
                        saved_compression_usd REAL NOT NULL,
                        PRIMARY KEY (bucket, model)
                    ) WITHOUT ROWID;
                    INSERT INTO ledger_model_hours
                    SELECT CAST(time / 3600 AS INTEGER) * 3600, model, count(*), sum(outcome = 'hit'),
                           sum(CASE WHEN outcome = 'hit' THEN 0 ELSE prompt_tokens END),
                           sum(CASE WHEN outcome = 'hit' THEN 0 ELSE completion_tokens END),
                           sum(CASE WHEN outcome = 'hit' THEN 0 ELSE cached_prompt_tokens END),
                           sum(saved_cache_tokens + saved_compression_tokens), sum(saved_compression_tokens),
                           sum(spent_usd), sum(saved_usd), sum(saved_compression_usd)
                    FROM ledger GROUP BY 1, 2;
                    """)
        }
        migrator.registerMigration("v7: misses per model") { db in
            // The hit ratio is hits / (hits + misses) everywhere, so the per-model sums
            // need misses. Hours are summed from their rows exactly. All-time sums older
            // than the rows kept cannot be split by outcome: what is not a hit, nor a
            // kept row of another outcome, is taken as a miss (before this version the
            // ledger booked hit, stale, miss, bypass and error only).
            try db.execute(
                sql: """
                    ALTER TABLE model_totals ADD COLUMN misses INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_model_hours ADD COLUMN misses INTEGER NOT NULL DEFAULT 0;
                    UPDATE ledger_model_hours SET misses = (
                        SELECT count(*) FROM ledger WHERE ledger.model = ledger_model_hours.model AND outcome = 'miss'
                            AND time >= ledger_model_hours.bucket AND time < ledger_model_hours.bucket + 3600);
                    UPDATE model_totals SET misses = max(0, requests - hits - (
                        SELECT count(*) FROM ledger WHERE ledger.model = model_totals.model AND outcome NOT IN ('hit', 'miss')));
                    """)
        }
        migrator.registerMigration("v8: the provider's prompt cache") { db in
            // Its writes per request, and its dollars: reads' savings and writes' premium,
            // fixed at the prices of the day like the rest. Older rows booked none.
            try db.execute(
                sql: """
                    ALTER TABLE ledger ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE ledger ADD COLUMN provider_read_savings_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE ledger ADD COLUMN provider_write_premium_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE model_totals ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE model_totals ADD COLUMN provider_read_savings_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE model_totals ADD COLUMN provider_write_premium_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_model_hours ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_model_hours ADD COLUMN provider_read_savings_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_model_hours ADD COLUMN provider_write_premium_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_rollup ADD COLUMN saved_provider_cache_usd REAL NOT NULL DEFAULT 0;
                    """)
        }
        return migrator
    }
}
