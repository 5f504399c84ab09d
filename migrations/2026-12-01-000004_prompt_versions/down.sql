DROP TABLE prompt_versions;
DROP FUNCTION prompt_versions_refuse_content_change();
