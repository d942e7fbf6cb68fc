-- True when tz names a zone of the server's timezone database (what pg_timezone_names lists),
-- spelled as the database spells it. A CHECK cannot query pg_timezone_names itself, and
-- "now() AT TIME ZONE tz" alone also accepts abbreviations ('PST', a fixed offset without DST
-- rules) and POSIX specs ('ABC+3'). Setting the TimeZone parameter rejects abbreviations and
-- reports the canonical name; POSIX specs always contain a digit, so only names with a digit
-- (Etc/GMT+5, EST5EDT) pay for the pg_timezone_names scan (about 40 ms).
-- IMMUTABLE so a CHECK may use it: the answer changes only when the server's tz data does.
-- The SET clause restores the caller's TimeZone when the function returns.
CREATE FUNCTION scheduler.is_valid_timezone(tz text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT SET timezone = 'UTC' AS $$
BEGIN
    PERFORM pg_catalog.set_config('timezone', tz, true);
    RETURN tz = pg_catalog.current_setting('timezone')
        AND (tz !~ '[0-9]' OR tz IN (SELECT z.name FROM pg_catalog.pg_timezone_names z));
EXCEPTION
    WHEN invalid_parameter_value THEN
        RETURN false;
END;
$$;
