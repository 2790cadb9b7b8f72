"""SQLite storage: one file, WAL mode, named migrations, quotas, jobs and a media cache."""
