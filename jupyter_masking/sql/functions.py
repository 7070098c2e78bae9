"""Which SQL functions a query may call: read-only allow-lists per dialect, everything else refused.

A function is known by one lowercase name: an untyped call (``exp.Anonymous``) by the name the
user wrote, a typed sqlglot node (``exp.Upper``, ``exp.ReadCSV``) by its first ``sql_names()``
entry, so ``read_csv`` is refused although sqlglot types it. The lists are data: a name is allowed
when it is in :data:`COMMON` or in the dialect's row of :data:`DIALECT_EXTRAS`. Refusals name the
function and, for the well-known dangerous ones, say why (:data:`DENIED`).

>>> import sqlglot
>>> check_functions(sqlglot.parse_one("SELECT upper(email), count(*) FROM t"), "duckdb")
>>> check_functions(sqlglot.parse_one("SELECT pg_read_file('/etc/passwd')"), "postgres")
Traceback (most recent call last):
...
jupyter_masking.errors.Refused: refused: function pg_read_file reads files on the database server \
(pg_read_file). Hint: query tables the gateway knows; ask an admin to load the file into a table
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

from jupyter_masking.errors import Refused

# Syntax that sqlglot models as functions (CASE, CAST, AND, EXISTS, ARRAY[...], {'a': 1}).
_SYNTAX = """and or xor not case cast try_cast if coalesce nullif extract exists all any array
    struct map var_map to_map collate"""
_STRING = """upper lower initcap length bit_length octet_length char_length trim ltrim rtrim pad
    substring left right replace reverse repeat concat concat_ws str_position split_part translate
    ascii chr unicode soundex levenshtein format starts_with ends_with contains space lpad rpad
    string_to_array array_to_string split md5 sha sha2 s_h_a2_digest hex unhex to_base64 from_base64
    regexp_like regexp_replace regexp_extract regexp_extract_all regexp_split regexp_substr
    regexp_instr regexp_count regexp_full_match regexp_matches regexp_split_to_array"""
_MATH = """abs sign round trunc ceil floor sqrt cbrt power exp ln log log10 log2 mod div pi degrees
    radians sin cos tan asin acos atan atan2 cot greatest least rand random width_bucket factorial
    is_nan is_inf"""
_DATE = """current_date current_timestamp current_time localtimestamp localtime now date datetime
    timestamp time date_trunc timestamp_trunc date_add date_sub datediff date_diff timestampdiff
    date_part datepart date_bin year quarter month week week_of_year day day_of_month day_of_week
    day_of_year hour minute second dayname monthname last_day make_date str_to_date str_to_time
    time_to_str to_char to_date to_timestamp unix_to_time time_to_unix"""
_AGGREGATE = """count count_if sum avg min max stddev stddev_samp stddev_pop variance variance_pop
    median mode percentile_cont percentile_disc approx_distinct approx_quantile corr covar_samp
    covar_pop regr_slope regr_intercept regr_r2 regr_count group_concat array_agg any_value
    logical_and logical_or bitwise_and_agg bitwise_or_agg first last arg_max arg_min kurtosis
    skewness grouping grouping_id"""
_WINDOW = """row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
    nth_value"""
_JSON = """json_extract json_extract_scalar jsonb_extract jsonb_extract_scalar json_keys json_type
    json_array_length json_valid json_each json_tree"""
_ARRAY = "explode unnest array_size array_contains array_position array_slice array_distinct"
_OTHER = "uuid typeof"


def _words(*texts: str) -> frozenset[str]:
    return frozenset(word for text in texts for word in text.split())


COMMON: frozenset[str] = _words(
    _SYNTAX, _STRING, _MATH, _DATE, _AGGREGATE, _WINDOW, _JSON, _ARRAY, _OTHER
)
"""Read-only functions every dialect may call (sqlglot's canonical names)."""

_POSTGRES = """
    age clock_timestamp statement_timestamp regexp_i_like convert_to convert_from timezone
    isfinite justify_days justify_hours justify_interval make_interval to_number to_json
    json_build_object jsonb_build_object json_agg jsonb_agg j_s_o_n_array_agg
    j_s_o_n_b_object_agg json_object_agg jsonb_extract_path_text json_extract_path_text
    jsonb_array_length jsonb_typeof json_typeof jsonb_pretty every bool_and bool_or
    string_agg quote_literal quote_ident encode decode digest sha224 sha256 sha384 sha512
    cardinality array_length array_upper array_lower array_remove array_cat array_append
    array_prepend regexp_split_to_table generate_series exploding_generate_series uuid
    gen_random_uuid array_contains_all array_contained_by jsonb_contains jsonb_exists
    j_s_o_n_b_contains_any_top_keys j_s_o_n_b_contains_all_top_keys j_s_o_n_b_contains_top_key
    j_s_o_n_b_path_exists jsonb_array_elements jsonb_array_elements_text json_array_elements
    json_array_elements_text jsonb_each jsonb_each_text json_each_text jsonb_object_keys
    json_object_keys jsonb_to_recordset json_to_recordset generate_subscripts
"""

_DUCKDB = """
    age epoch epoch_ms epoch_us epoch_ns today strftime strptime century decade era
    millennium microsecond millisecond isoyear isodow yearweek timezone_hour timezone_minute
    to_days to_hours to_months to_years time_bucket timestamp_from_parts date_from_parts
    make_timestamp current_localtimestamp hash prefix suffix printf strlen length_grapheme
    ord strip_accents nfc_normalize lcase ucase instr base64 bin bit_count even gcd lcm
    nextafter damerau_levenshtein hamming jaccard jarowinkler_similarity mismatches
    editdist3 list list_value list_sum list_distinct list_unique list_extract list_position
    list_contains list_has list_has_any list_has_all list_sort list_reverse_sort list_concat
    list_aggregate list_transform list_filter list_cosine_similarity array_distance
    array_concat array_overlaps array_sort array_has flatten cardinality element_at map_keys
    map_values struct_extract transform filter histogram entropy product fsum favg geomean
    reservoir_quantile approx_count_distinct generate_series range to_json
    json_extract_string string_split str_split string_split_regex gen_random_uuid sha1
    sha256 md5_number
"""

_MYSQL = """
    date_format now curdate curtime sysdate utc_timestamp unix_timestamp from_unixtime
    makedate period_diff sec_to_time time_to_sec to_days from_days weekday yearweek
    ts_or_ds_to_date ts_or_ds_to_timestamp microsecond number_to_str substring_index locate
    instr mid strcmp field elt stuff ucase lcase ord oct bin conv crc32 bitwise_count
    inet_aton inet_ntoa is_ipv4 json_unquote json_length json_contains json_search
    json_value json_array json_arrayagg j_s_o_n_object j_s_o_n_object_agg quote std
"""

_SQLITE = """
    julianday unixepoch datetime time strftime ts_or_ds_to_timestamp printf instr ifnull iif
    total likelihood quote substr glob like j_s_o_n_object j_s_o_n_array_agg
    j_s_o_n_object_agg json_group_array json_group_object json_array json_object
"""

# Spark SQL: no reflect/java_method (Java calls), input_file_name (paths), current_user,
# version, raise_error, read_files; sqlglot's canonical names where it types the call.
_SPARK = """
    date_format unix_to_str str_to_unix weekday timestamp_from_parts make_interval
    date_from_unix_date unix_date unix_seconds unix_millis timestamp_seconds timestamp_millis
    months_between add_months next_day ts_or_ds_add ts_or_ds_to_date to_timestamp_ntz
    to_timestamp_ltz try_to_timestamp convert_timezone array_unique_agg array_sort crc32
    conv bin format_number printf quantile every some std map_keys map_values json_tuple
    json_format from_json schema_of_json hash xxhash64 monotonically_increasing_id
    spark_partition_id randn shuffle array_max array_min array_union array_intersect
    array_except arrays_zip flatten transform filter forall zip_with reduce map_filter
    map_from_entries map_entries str_to_map regexp sentences btrim find_in_set mask
    luhn_check try_sum try_avg try_to_number to_number to_varchar count_min_sketch
    bitwise_xor_agg bitwise_count pmod positive negative log1p expm1 hypot cosh sinh tanh
    acosh asinh atanh e bround histogram_numeric cardinality array_compact array_append
    array_prepend array_remove array_insert get inline explode_outer posexplode
    posexplode_outer stack isnull isnotnull nvl2 nanvl overlay substring_index elt
    safe_add safe_subtract safe_multiply safe_divide equal_null encode decode
    generate_series range
"""

DIALECT_EXTRAS: dict[str, frozenset[str]] = {
    "postgres": _words(_POSTGRES),
    "duckdb": _words(_DUCKDB),
    "mysql": _words(_MYSQL),
    "sqlite": _words(_SQLITE),
    "spark": _words(_SPARK),
}
"""Extra read-only functions per dialect; ``mysql`` serves MariaDB too."""

FUNCTIONS_ALLOWED: dict[str, frozenset[str]] = {
    dialect: COMMON | extras for dialect, extras in DIALECT_EXTRAS.items()
}
"""The full allow-list per dialect; other dialects get :data:`COMMON` only."""

TABLE_FUNCTIONS_ALLOWED: frozenset[str] = _words(
    """unnest explode exploding_generate_series generate_series range generate_subscripts
    json_each json_tree jsonb_each jsonb_each_text json_each_text jsonb_array_elements
    jsonb_array_elements_text json_array_elements json_array_elements_text jsonb_to_recordset
    json_to_recordset regexp_split_to_table jsonb_object_keys json_object_keys"""
)
"""Functions allowed in FROM/JOIN: they only generate rows from their arguments (and must also be
on the dialect's allow-list)."""

_FILES = (
    "reads files on the database server",
    "query tables the gateway knows; ask an admin to load the file into a table",
)
_REMOTE = (
    "reaches other databases or URLs",
    "query tables of this connection; ask an admin to make the data available here",
)
_DYNAMIC = (
    "runs SQL text the gateway cannot check",
    "write the inner query directly instead of passing it as a string",
)
_STATE = (
    "changes session or server state",
    "remove it: the gateway only runs plain reads",
)
_CONFIG = (
    "reveals server configuration or environment",
    "remove it: server settings are not available through the gateway",
)
_STALL = (
    "can stall the database",
    "remove it: the gateway runs queries under a timeout and refuses deliberate waits",
)

_DENIED_GROUPS: tuple[tuple[tuple[str, str], str], ...] = (
    (
        _FILES,
        """read_csv read_csv_auto read_parquet read_json read_json_auto read_ndjson read_text
        read_blob read_xlsx glob sniff_csv parquet_scan parquet_metadata parquet_schema
        pg_read_file pg_read_binary_file pg_ls_dir pg_stat_file lo_import lo_export lo_get
        load_file load_extension readfile writefile to_file read_files""",
    ),
    (
        (
            "runs Java code on the cluster",
            "remove it: the gateway runs only built-in SQL functions",
        ),
        "reflect java_method try_reflect",
    ),
    (
        _REMOTE,
        """dblink dblink_exec postgres_scan postgres_query sqlite_scan mysql_scan mysql_query
        iceberg_scan delta_scan http_get http_post""",
    ),
    (_DYNAMIC, "query query_table query_to_xml query_to_xml_and_xmlschema cursor_to_xml"),
    (
        _STATE,
        """set_config nextval setval currval lastval txid_current pg_advisory_lock
        pg_try_advisory_lock pg_terminate_backend pg_cancel_backend pg_reload_conf
        pg_switch_wal get_lock release_lock last_insert_id last_insert_rowid changes
        total_changes setseed""",
    ),
    (
        _CONFIG,
        """current_setting getenv version current_user session_user current_role
        current_database current_schema current_schemas current_catalog user system_user
        database schema connection_id inet_server_addr pg_postmaster_start_time
        sqlite_version current_version duckdb_settings duckdb_extensions
        duckdb_secrets input_file_name input_file_block_start input_file_block_length""",
    ),
    (_STALL, "pg_sleep pg_sleep_for pg_sleep_until sleep benchmark zeroblob randomblob"),
)

DENIED: dict[str, tuple[str, str]] = {
    name: reason for reason, names in _DENIED_GROUPS for name in names.split()
}
"""Well-known dangerous functions: name -> (why, hint). They are refused like any unlisted name,
with a more precise message."""


def function_name(node: exp.Func) -> str:
    """The lowercase name a function node is checked under.

    >>> import sqlglot
    >>> function_name(sqlglot.parse_one("read_csv('x')", read="duckdb"))
    'read_csv'
    >>> function_name(sqlglot.parse_one("my_udf(1)"))
    'my_udf'
    """
    if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
        return node.name.lower()
    return type(node).sql_names()[0].lower()


def written_name(node: exp.Func, sql: str | None, fallback: str | None = None) -> str:
    """The function name as the user wrote it (``now`` rather than ``current_timestamp``).

    Uses the token position sqlglot records while parsing (else :func:`function_name`); when
    that token is not a name (an operator such as ``->>``), returns ``fallback`` if given.

    >>> import sqlglot
    >>> text = "SELECT now()"
    >>> written_name(sqlglot.parse_one(text, read="postgres").selects[0], text)
    'now'
    """
    start, end = node.meta.get("start"), node.meta.get("end")
    if sql is None or not isinstance(start, int) or not isinstance(end, int):
        return function_name(node)
    written = sql[start : end + 1]
    if written.replace("_", "").isalnum():
        return written.lower()
    return fallback if fallback is not None else function_name(node)


def allowed_functions(dialect: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The allow-list of ``dialect`` plus ``extra`` names an admin allowed."""
    base = FUNCTIONS_ALLOWED.get(dialect, COMMON)
    extra = frozenset(name.lower() for name in extra)
    return base | extra if extra else base


def refusal(name: str, dialect: str, *, table_function: bool = False) -> Refused:
    """The refusal for a function that is not allowed, with the reason when it is well known."""
    if name in DENIED:
        why, hint = DENIED[name]
        return Refused(f"function {name} {why}", construct=name, hint=hint)
    if table_function:
        return Refused(
            f"table function {name} is not allowed",
            construct=name,
            hint="read from tables the gateway knows; only row generators (unnest, "
            "generate_series, range, json_each, ...) may stand in FROM",
        )
    return Refused(
        f"function {name} is not on the {dialect} allow-list",
        construct=name,
        hint="use a built-in scalar, aggregate or window function; if it is read-only, "
        "ask an admin to allow it",
    )


def check_functions(
    expression: exp.Expr, dialect: str, extra: Iterable[str] = (), sql: str | None = None
) -> None:
    """Refuse the first function in ``expression`` that is not allowed in ``dialect``.

    Functions in FROM/JOIN position must also be row generators
    (:data:`TABLE_FUNCTIONS_ALLOWED`); schema-qualified calls (``pg_catalog.f()``) are refused.

    Args:
        expression: The parsed query.
        dialect: The sqlglot dialect name.
        extra: Names an admin declared read-only (never overrides :data:`DENIED`).
        sql: The text ``expression`` was parsed from, to name functions as written.

    Raises:
        Refused: naming the function.
    """
    allowed = allowed_functions(dialect, extra)
    for node in expression.walk():
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
            name = function_name(node.expression)
            raise Refused(
                f"schema-qualified function {node.this.name}.{name} is not allowed",
                construct=name,
                hint="call built-in functions by their plain name",
            )
        if not isinstance(node, exp.Func) or isinstance(node, exp.Columns):
            continue  # DuckDB COLUMNS(...) is a column selector, resolved by the analyzer
        name = function_name(node)
        if name not in allowed or name in DENIED:
            written = written_name(node, sql)
            raise refusal(written if written in DENIED else name, dialect)
        in_from = isinstance(node.parent, (exp.Table, exp.Lateral)) or (
            isinstance(node, exp.Unnest) and isinstance(node.parent, (exp.From, exp.Join))
        )
        if in_from and name not in TABLE_FUNCTIONS_ALLOWED:
            raise refusal(written_name(node, sql), dialect, table_function=True)
