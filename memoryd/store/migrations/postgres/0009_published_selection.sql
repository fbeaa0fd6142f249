-- ../0009_published_selection.sql: the selection each published tree consolidated.
ALTER TABLE published_trees ADD COLUMN selection TEXT;
