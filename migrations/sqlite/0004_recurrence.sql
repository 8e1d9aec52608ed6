-- Recurrence: the series start (DTSTART) a task's rule is anchored at, as a local
-- wall time in the task's zone ("YYYY-MM-DD" or "YYYY-MM-DDTHH:MM", as the user gave
-- it: a time in a DST gap is kept unmoved). NULL when the task does not recur or was
-- written before this migration (the task's own due is then the start).
-- See docs/recurrence.md.
ALTER TABLE tasks ADD COLUMN series_start TEXT;
