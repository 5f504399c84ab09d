DROP TYPE feedback_rating;
DROP TYPE message_role;
