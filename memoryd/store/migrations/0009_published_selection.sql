-- The selection each published tree consolidated (memoryd/store/published.py): the newest
-- trees are kept now, not only the newest one, and a host that missed some records each in
-- its run history with its own selection, which a rollback to it restores and a forget's
-- purge reads. One "<thread id> <source_updated_at>" per line; NULL for a tree published
-- before this column existed. Written only on PostgreSQL, like the table.
ALTER TABLE published_trees ADD COLUMN selection TEXT;
