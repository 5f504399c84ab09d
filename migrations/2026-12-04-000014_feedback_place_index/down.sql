DROP INDEX feedback_place_idx;
