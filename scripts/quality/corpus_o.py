# ruff: noqa: E501
"""Corpus O: a data analyst's notebook and SQL sessions, rules asked for as polite requests.

The user is a data analyst / data engineer who works in notebooks, SQL and DAGs and speaks
to the agent as a colleague: rules come as requests and questions ("could we pin the random
seed?", "would you mind not touching the raw/ folder — it's immutable", "let's keep using
duckdb for local runs"). Knowledge lives in what the tools print — query results, dbt run
logs, EXPLAIN plans, pip/conda environment errors, a profiles.yml, Airflow DAG logs, renv
status — and in the agent's conclusion after investigating ("the nightly job reads from the
replica at port 5433, not the primary"). Four projects none of A–M has: a dbt project on
DuckDB and Postgres, an Airflow DAG repository, a Polars/Jupyter analysis package kept clean
with nbstripout, and an R Shiny dashboard pinned with renv.

Written without reading the other corpora's sessions or memoryd's extraction and
consolidation code, and never run through memoryd before it was committed.
"""

from __future__ import annotations

from quality.model import (
    Corpus,
    Distractor,
    Fact,
    M,
    Patch,
    Project,
    Say,
    Session,
    Sh,
    Think,
    User,
)

# fmt: off
HOME = "/home/ipereira"
PROJECTS = (
    Project("estuary", f"{HOME}/work/estuary", "git@gitlab.com:ipereira-data/estuary-dbt.git"),
    Project("windlass", f"{HOME}/work/windlass", "git@github.com:ipereira-data/windlass-dags.git"),
    Project("lanternfish", f"{HOME}/analysis/lanternfish", "git@github.com:ipereira-data/lanternfish.git", "analysis"),
    Project("bluebell", f"{HOME}/dash/bluebell", "git@gitlab.com:ipereira-data/bluebell-shiny.git"),
)

PASSWORD = "pW7nQ2vLx9RkT4"

# -- estuary: a dbt project, DuckDB for local runs, Postgres for the scheduled builds

PROFILES_V1 = """\
estuary:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: warehouse/estuary_dev.duckdb
      threads: 4
    prod:
      type: postgres
      host: wh-primary.internal
      port: 5432
      user: "{{ env_var('ESTUARY_PG_USER') }}"
      password: "{{ env_var('ESTUARY_PG_PASSWORD') }}"
      dbname: analytics
      schema: marts
      threads: 8"""

ES1 = Session("es1", "estuary", 24.2, (
    User("Hi! Could you help me get the estuary dbt project running on my laptop? Let's keep using duckdb for local runs — the Postgres target is only for the scheduled builds."),
    Think("Read the dbt profile first to see which target is the default, then run the project."),
    Sh("cat ~/.dbt/profiles.yml", PROFILES_V1),
    Sh("dbt run", """\
09:41:07  Running with dbt=1.8.7
09:41:07  Registered adapter: duckdb=1.8.4
09:41:08  Encountered an error:
Compilation Error in model fct_orders (models/marts/fct_orders.sql)
  'dbt_utils' is undefined. This can happen when calling a macro that does not exist.
  Check for typos and/or install package dependencies with "dbt deps".""", code=2, secs=3.1),
    Sh("cat packages.yml", """\
packages:
  - package: dbt-labs/dbt_utils
    version: [">=1.1.0", "<2.0.0"]"""),
    Sh("dbt deps", """\
09:41:40  Running with dbt=1.8.7
09:41:41  Updating lock file in file path: /home/ipereira/work/estuary/package-lock.yml
09:41:41  Installing dbt-labs/dbt_utils
09:41:42  Installed from version 1.3.0
09:41:42  Up to date!""", secs=2.4),
    Sh("dbt run", """\
09:42:01  Running with dbt=1.8.7
09:42:02  Found 14 models, 22 data tests, 6 sources, 611 macros
09:42:02  Concurrency: 4 threads (target='dev')
09:42:03  1 of 14 START sql view model main_staging.stg_customers ........ [RUN]
09:42:03  1 of 14 OK created sql view model main_staging.stg_customers ... [OK in 0.09s]
09:42:05  14 of 14 OK created sql table model main_marts.dim_customers ... [OK in 0.31s]
09:42:05  Finished running 9 view models, 4 table models, 1 incremental model in 0 hours 0 minutes and 3.02 seconds (3.02s).
09:42:05  Completed successfully
09:42:05  Done. PASS=14 WARN=0 ERROR=0 SKIP=0 TOTAL=14""", secs=4.8),
    Say("It runs now. `dbt run` failed with \"'dbt_utils' is undefined\" because the package from packages.yml was never installed; `dbt deps` installed dbt_utils 1.3.0 and the next run passed (14 models). The default `dev` target is DuckDB and writes to warehouse/estuary_dev.duckdb, so nothing leaves your laptop."),
    User("Lovely, thank you. Would you mind writing SQL keywords in lowercase from now on? That's how I read them fastest. And could you check the sqlfluff lint while you're there?"),
    Sh("sqlfluff lint models/", """\
Requested templater 'dbt' which is not currently available. Try one of raw, jinja, python, placeholder
See https://docs.sqlfluff.com/en/stable/perma/installing_dbt_templater.html""", code=2, secs=1.6),
    Sh("cat .sqlfluff", """\
[sqlfluff]
dialect = duckdb
templater = dbt
max_line_length = 100

[sqlfluff:rules:capitalisation.keywords]
capitalisation_policy = lower"""),
    Sh("pip install sqlfluff-templater-dbt==3.2.5", """\
Collecting sqlfluff-templater-dbt==3.2.5
  Downloading sqlfluff_templater_dbt-3.2.5-py3-none-any.whl (24 kB)
Requirement already satisfied: sqlfluff==3.2.5 in ./.venv/lib/python3.11/site-packages
Installing collected packages: sqlfluff-templater-dbt
Successfully installed sqlfluff-templater-dbt-3.2.5""", secs=5.2),
    Sh("sqlfluff lint models/", """\
== [models/marts/fct_orders.sql] FAIL
L:  12 | P:   5 | CP01 | Keywords must be lower case.
All Finished 📜 🎉!""", code=1, secs=6.3),
    Patch("""\
*** Update File: models/marts/fct_orders.sql
@@
-    SELECT order_id, customer_id, ordered_at, amount_eur
+    select order_id, customer_id, ordered_at, amount_eur"""),
    Sh("sqlfluff lint models/", "All Finished 📜 🎉!", secs=6.0),
    Say("Keywords are lowercase now. The lint first failed with \"Requested templater 'dbt' which is not currently available\": .sqlfluff uses the dbt templater, which is a separate package, so `pip install sqlfluff-templater-dbt==3.2.5` fixed it; the one real finding (an upper-case SELECT in fct_orders) is fixed and the lint is clean."),
))

ES2 = Session("es2", "estuary", 21.3, (
    User("Morning! `dbt build` went red on my machine overnight, could you take a look? Also, could new models go through the staging layer please — marts should only select from staging models, not straight from the sources."),
    Sh("dbt build --select fct_orders", """\
08:02:11  Running with dbt=1.8.7
08:02:12  1 of 3 START sql incremental model main_marts.fct_orders ....... [RUN]
08:02:13  1 of 3 OK created sql incremental model main_marts.fct_orders .. [OK in 0.44s]
08:02:13  2 of 3 START test not_null_fct_orders_order_id ................. [RUN]
08:02:13  3 of 3 START test unique_fct_orders_order_id ................... [RUN]
08:02:13  2 of 3 PASS not_null_fct_orders_order_id ....................... [PASS in 0.05s]
08:02:13  3 of 3 FAIL 37 unique_fct_orders_order_id ...................... [FAIL 37 in 0.06s]
08:02:13  Failure in test unique_fct_orders_order_id (models/marts/schema.yml)
08:02:13    Got 37 results, configured to fail if != 0
08:02:13  Done. PASS=2 WARN=0 ERROR=1 SKIP=0 TOTAL=3""", code=1, secs=3.9),
    Sh("duckdb warehouse/estuary_dev.duckdb -c \"select order_id, count(*) as n, max(_loaded_at) from main_staging.stg_orders group by 1 having count(*) > 1 order by n desc limit 3\"", """\
┌──────────┬───────┬────────────────────────────┐
│ order_id │   n   │      max(_loaded_at)       │
│  int64   │ int64 │         timestamp          │
├──────────┼───────┼────────────────────────────┤
│   918204 │     3 │ 2026-11-15 02:14:09.551    │
│   918377 │     2 │ 2026-11-15 02:14:09.551    │
│   917962 │     2 │ 2026-11-15 02:14:09.551    │
└──────────┴───────┴────────────────────────────┘"""),
    Say("stg_orders carries the same order several times when the source re-delivers it (same order_id, newer _loaded_at). fct_orders is an incremental model with unique_key order_id, so the duplicates come through on the first build of a day. I'll keep only the latest delivery in the model."),
    Patch("""\
*** Update File: models/marts/fct_orders.sql
@@
     from {{ ref('stg_orders') }}
     {% if is_incremental() %}
     where _loaded_at > (select max(_loaded_at) from {{ this }})
     {% endif %}
+    qualify row_number() over (partition by order_id order by _loaded_at desc) = 1"""),
    Sh("dbt build --select fct_orders", """\
08:09:40  Running with dbt=1.8.7
08:09:41  1 of 3 OK created sql incremental model main_marts.fct_orders .. [OK in 0.47s]
08:09:41  2 of 3 PASS not_null_fct_orders_order_id ....................... [PASS in 0.05s]
08:09:41  3 of 3 PASS unique_fct_orders_order_id ......................... [PASS in 0.05s]
08:09:41  Done. PASS=3 WARN=0 ERROR=0 SKIP=0 TOTAL=3""", secs=3.6),
    Say("Green again. The unique_fct_orders_order_id test found 37 duplicate order ids: re-delivered rows in stg_orders. fct_orders (an incremental model on order_id) now keeps the newest row per order with `qualify row_number() over (partition by order_id order by _loaded_at desc) = 1`. I also checked: all marts already select from staging models."),
    User("That makes sense, thanks. Could you show me the row counts before and after whenever you change a model? It helps me sanity-check what happened."),
    Sh("duckdb warehouse/estuary_dev.duckdb -c \"select 'stg_orders' as model, count(*) from main_staging.stg_orders union all select 'fct_orders', count(*) from main_marts.fct_orders\"", """\
┌────────────┬──────────────┐
│   model    │ count_star() │
├────────────┼──────────────┤
│ stg_orders │       402188 │
│ fct_orders │       402146 │
└────────────┴──────────────┘"""),
    Say("Row counts: stg_orders 402,188 rows, fct_orders 402,146 after the change (was 402,183 before, 37 duplicates dropped). I'll include before/after counts whenever I change a model."),
))

ES3 = Session("es3", "estuary", 16.4, (
    User("Hi again — fct_weekly_revenue takes ages on Postgres. Before rewriting anything, would you mind pasting the EXPLAIN ANALYZE plan so we can look at it together? And please keep away from the production warehouse from your side; the read replica is fine for this."),
    Sh("psql \"$ESTUARY_RO_DSN\" -c \"explain analyze select date_trunc('week', created_at) as week, sum(amount_eur) from raw_shop.orders where date_trunc('week', created_at) >= date_trunc('week', now()) - interval '12 weeks' group by 1\"", """\
                                                    QUERY PLAN
------------------------------------------------------------------------------------------------------------------
 HashAggregate  (cost=412880.31..412905.31 rows=2000 width=40) (actual time=8390.114..8390.201 rows=13 loops=1)
   Group Key: date_trunc('week'::text, created_at)
   ->  Seq Scan on orders  (cost=0.00..405102.77 rows=1555508 width=14) (actual time=0.031..8105.420 rows=1489221 loops=1)
         Filter: (date_trunc('week'::text, created_at) >= (date_trunc('week'::text, now()) - '84 days'::interval))
         Rows Removed by Filter: 9158011
 Planning Time: 0.212 ms
 Execution Time: 8412.337 ms
(7 rows)""", secs=8.9),
    Sh("psql \"$ESTUARY_RO_DSN\" -c \"\\d raw_shop.orders\"", """\
                          Table "raw_shop.orders"
   Column    |           Type           | Collation | Nullable | Default
-------------+--------------------------+-----------+----------+---------
 order_id    | bigint                   |           | not null |
 customer_id | bigint                   |           | not null |
 created_at  | timestamp with time zone |           | not null |
 amount_eur  | numeric(12,2)            |           |          |
Indexes:
    "orders_pkey" PRIMARY KEY, btree (order_id)
    "idx_orders_created_at" btree (created_at)"""),
    Say("Here is the plan: a Seq Scan over 10.6 M rows, 8.4 s. There is an index, idx_orders_created_at on created_at, but the filter wraps the column in date_trunc, so the planner cannot use it. Comparing the bare column with a computed lower bound should give an index scan."),
    Patch("""\
*** Update File: models/marts/fct_weekly_revenue.sql
@@
-where date_trunc('week', created_at) >= date_trunc('week', now()) - interval '12 weeks'
+where created_at >= date_trunc('week', now()) - interval '12 weeks'"""),
    Sh("psql \"$ESTUARY_RO_DSN\" -c \"explain analyze select date_trunc('week', created_at) as week, sum(amount_eur) from raw_shop.orders where created_at >= date_trunc('week', now()) - interval '12 weeks' group by 1\"", """\
                                                    QUERY PLAN
------------------------------------------------------------------------------------------------------------------
 HashAggregate  (cost=98211.40..98236.40 rows=2000 width=40) (actual time=209.882..209.931 rows=13 loops=1)
   ->  Index Scan using idx_orders_created_at on orders  (cost=0.43..90432.10 rows=1555860 width=14) (actual time=0.022..121.407 rows=1489221 loops=1)
         Index Cond: (created_at >= (date_trunc('week'::text, now()) - '84 days'::interval))
 Planning Time: 0.188 ms
 Execution Time: 212.604 ms
(5 rows)""", secs=1.2),
    Say("8.4 s down to 0.21 s on the replica, same 13 weeks. To rebuild the model's history with the new filter I could run `dbt run --select fct_weekly_revenue --full-refresh --target prod` now — shall I?"),
    User("Oh, please don't — a full refresh against prod takes hours and locks the table. The scheduled run tonight will pick the change up, that's fine."),
    Say("Understood, no full refresh. The change is only in models/marts/fct_weekly_revenue.sql; tonight's scheduled build will use it."),
))

ES4 = Session("es4", "estuary", 11.2, (
    User("Could you tidy up int_customer_ltv? I find CTEs much easier to review than nested subqueries, so let's stick with those when you restructure it."),
    Sh("duckdb warehouse/estuary_dev.duckdb -c \"select count(*) from main_intermediate.int_customer_ltv\"", """\
┌──────────────┐
│ count_star() │
├──────────────┤
│        58210 │
└──────────────┘"""),
    Patch("""\
*** Update File: models/intermediate/int_customer_ltv.sql
@@
-select c.customer_id, (select sum(o.amount_eur) from {{ ref('stg_orders') }} o where o.customer_id = c.customer_id) as ltv_eur
-from {{ ref('stg_customers') }} c
+with orders as (
+    select customer_id, sum(amount_eur) as ltv_eur
+    from {{ ref('stg_orders') }}
+    group by customer_id
+),
+
+customers as (
+    select customer_id from {{ ref('stg_customers') }}
+)
+
+select customers.customer_id, coalesce(orders.ltv_eur, 0) as ltv_eur
+from customers
+left join orders using (customer_id)"""),
    Sh("dbt build --select int_customer_ltv+", """\
14:20:31  Running with dbt=1.8.7
14:20:32  1 of 4 OK created sql view model main_intermediate.int_customer_ltv [OK in 0.12s]
14:20:33  4 of 4 PASS not_null_dim_customers_ltv_eur ..................... [PASS in 0.04s]
14:20:33  Done. PASS=4 WARN=0 ERROR=0 SKIP=0 TOTAL=4""", secs=3.2),
    Sh("duckdb warehouse/estuary_dev.duckdb -c \"select count(*) from main_intermediate.int_customer_ltv\"", """\
┌──────────────┐
│ count_star() │
├──────────────┤
│        58210 │
└──────────────┘"""),
    Say("int_customer_ltv is two CTEs and a left join now, no correlated subquery. Row counts: 58,210 before and after; dim_customers' tests pass."),
    User("Perfect. One more thing, could we keep credentials out of profiles.yml and read them from environment variables? I'll ask for the same on the DAG repo. Is there a target that still has a password written in it?"),
    Sh("grep -n -E 'password|user:' ~/.dbt/profiles.yml", """\
12:      user: "{{ env_var('ESTUARY_PG_USER') }}"
13:      password: "{{ env_var('ESTUARY_PG_PASSWORD') }}\""""),
    Say("No literal credentials: the only password in profiles.yml is the prod target's, read with env_var('ESTUARY_PG_PASSWORD'), and the user with env_var('ESTUARY_PG_USER'). I'll keep any new target the same way."),
))

ES5 = Session("es5", "estuary", 6.3, (
    User("Hello! Could you rerun the dim models? I've got the exploration notebook open in the other window, I hope that's fine."),
    Sh("dbt run --select dim_customers dim_products", """\
10:05:19  Running with dbt=1.8.7
10:05:19  Encountered an error:
Runtime Error
  IO Error: Could not set lock on file "/home/ipereira/work/estuary/warehouse/estuary_dev.duckdb": Conflicting lock is held in /home/ipereira/miniforge3/bin/python3.11 (PID 48213) by user ipereira. See also https://duckdb.org/docs/connect/concurrency""", code=2, secs=1.4),
    Sh("ps -o pid,cmd -p 48213", """\
    PID CMD
  48213 /home/ipereira/miniforge3/bin/python3.11 -m ipykernel_launcher -f /home/ipereira/.local/share/jupyter/runtime/kernel-3f1c.json"""),
    Sh("grep -n 'duckdb.connect' notebooks/explore_orders.ipynb", """\
41:    "con = duckdb.connect(\\"../warehouse/estuary_dev.duckdb\\")\\n","""),
    Say("The notebook's kernel (PID 48213) holds a write lock on the DuckDB file, and DuckDB allows only one writer. I could `kill 48213`, but you would lose the kernel's state; better to open the file read-only from notebooks so dbt can still write."),
    User("Yes please, read-only from the notebook sounds right. Don't kill my kernel, I'll restart it myself."),
    Patch("""\
*** Update File: notebooks/explore_orders.ipynb
@@
-    "con = duckdb.connect(\\"../warehouse/estuary_dev.duckdb\\")\\n",
+    "con = duckdb.connect(\\"../warehouse/estuary_dev.duckdb\\", read_only=True)\\n","""),
    User("Restarted the kernel, go ahead."),
    Sh("dbt run --select dim_customers dim_products", """\
10:11:47  Running with dbt=1.8.7
10:11:48  1 of 2 OK created sql table model main_marts.dim_customers ..... [OK in 0.35s]
10:11:48  2 of 2 OK created sql table model main_marts.dim_products ...... [OK in 0.19s]
10:11:48  Done. PASS=2 WARN=0 ERROR=0 SKIP=0 TOTAL=2""", secs=2.8),
    Say("Both dim models are rebuilt. The \"Could not set lock\" error came from the notebook's writable connection; with `duckdb.connect(..., read_only=True)` in notebooks/explore_orders.ipynb the notebook can stay open while dbt runs. Row counts: dim_customers 58,210 (unchanged), dim_products 1,904 (unchanged)."),
))

ES6 = Session("es6", "estuary", 2.1, (
    User("Hi! I pulled main after the dbt 1.9 upgrade and my old warehouse file seems to be ignored. Could you check where the dev target writes now?"),
    Sh("cat ~/.dbt/profiles.yml | sed -n 1,8p", """\
estuary:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: warehouse/estuary_local.duckdb
      threads: 4"""),
    Sh("git log --oneline -3 -- profiles.template.yml", """\
a41c9e2 Rename the dev warehouse to estuary_local.duckdb; estuary_dev.duckdb is no longer used
77d03be dbt 1.9: pin dbt-duckdb 1.9.1
5be2f10 Add the ci target"""),
    Sh("dbt debug --target dev", """\
11:30:02  Running with dbt=1.9.1
11:30:02  Using profiles dir at /home/ipereira/.dbt
11:30:02  Connection:
11:30:02    database: estuary_local
11:30:02    path: warehouse/estuary_local.duckdb
11:30:03    Connection test: [OK connection ok]
11:30:03  All checks passed!""", secs=2.1),
    Say("The dev target now writes to warehouse/estuary_local.duckdb; estuary_dev.duckdb was replaced in commit a41c9e2 and nothing reads it any more. `dbt debug` connects fine."),
    User("Ah, that explains it. Could you build everything into the new file then?"),
    Sh("dbt build", """\
11:31:10  Running with dbt=1.9.1
11:31:11  Found 15 models, 24 data tests, 6 sources, 640 macros
11:31:16  Done. PASS=39 WARN=0 ERROR=0 SKIP=0 TOTAL=39""", secs=6.7),
    Say("Built into warehouse/estuary_local.duckdb: 15 models, 24 tests, all passing. You can delete the old estuary_dev.duckdb file whenever you like."),
), later=True)

# -- windlass: an Airflow DAG repository

WL1 = Session("wl1", "windlass", 23.1, (
    User("Hello! I'm fairly new to this repo; could you get `nightly_orders` to run locally with `airflow dags test`?"),
    Sh("airflow dags test nightly_orders 2026-11-14", """\
ERROR: You need to initialize the database. Please run `airflow db migrate`. Make sure the command is run using Airflow version 2.10.3.""", code=1, secs=4.2),
    Sh("airflow db migrate", """\
DB: sqlite:////home/ipereira/airflow/airflow.db
Performing upgrade to the metadata database sqlite:////home/ipereira/airflow/airflow.db
[2026-11-23T09:12:40.551+0000] {migration.py:215} INFO - Context impl SQLiteImpl.
INFO  [alembic.runtime.migration] Running upgrade  -> e3a246e0dc1, current schema
INFO  [alembic.runtime.migration] Running upgrade 686269002441 -> 5f2621c13b39, Add dataset_alias
Database migrating done!""", secs=11.5),
    Sh("airflow dags test nightly_orders 2026-11-14", """\
[2026-11-23T09:13:21.004+0000] {dagbag.py:588} INFO - Filling up the DagBag from /home/ipereira/work/windlass/dags
[2026-11-23T09:13:21.912+0000] {dagbag.py:351} ERROR - Failed to import: /home/ipereira/work/windlass/dags/nightly_orders.py
Traceback (most recent call last):
  File "/home/ipereira/work/windlass/dags/nightly_orders.py", line 6, in <module>
    from airflow.providers.postgres.hooks.postgres import PostgresHook
ModuleNotFoundError: No module named 'airflow.providers.postgres'
Error: Dag 'nightly_orders' could not be found; either it does not exist or it failed to parse.""", code=1, secs=5.0),
    Sh("pip install apache-airflow-providers-postgres==5.13.1 --constraint constraints-3.11.txt", """\
Collecting apache-airflow-providers-postgres==5.13.1
  Downloading apache_airflow_providers_postgres-5.13.1-py3-none-any.whl (20 kB)
Collecting psycopg2-binary==2.9.9
Installing collected packages: psycopg2-binary, apache-airflow-providers-postgres
Successfully installed apache-airflow-providers-postgres-5.13.1 psycopg2-binary-2.9.9""", secs=14.8),
    Sh("airflow dags test nightly_orders 2026-11-14", """\
[2026-11-23T09:14:02.118+0000] {dag.py:4435} INFO - dagrun id: nightly_orders
[2026-11-23T09:14:02.131+0000] {dag.py:4451} INFO - created dagrun <DagRun nightly_orders @ 2026-11-14T00:00:00+00:00: manual__2026-11-23T09:14:02.118+00:00, state:running, queued_at: None. externally triggered: False>
[2026-11-23T09:14:03.402+0000] {base.py:84} INFO - Retrieving connection 'warehouse_ro'
[2026-11-23T09:14:03.409+0000] {sql.py:509} INFO - Running statement: select * from shop.orders where created_at::date = '2026-11-14', parameters: None
[2026-11-23T09:14:03.410+0000] {postgres.py:171} INFO - Connecting to host=wh-replica.internal port=5433 dbname=analytics
[2026-11-23T09:14:09.776+0000] {taskinstance.py:340} INFO - Marking task as SUCCESS. dag_id=nightly_orders, task_id=load_orders
[2026-11-23T09:14:09.901+0000] {dagrun.py:854} INFO - Marking run <DagRun nightly_orders @ 2026-11-14T00:00:00+00:00: manual__2026-11-23T09:14:02.118+00:00, state:running> successful""", secs=12.4),
    Say("`nightly_orders` runs locally now. Two things were missing: the metadata DB (the first run asked to initialize the database, `airflow db migrate` did it) and the Postgres provider (ModuleNotFoundError: No module named 'airflow.providers.postgres'; `pip install apache-airflow-providers-postgres==5.13.1 --constraint constraints-3.11.txt` fixed it). Worth knowing: the nightly job reads from the replica at port 5433 (connection warehouse_ro, host wh-replica.internal), not the primary."),
    User("Brilliant, thank you. Let's keep catchup=False on every new DAG, please — backfills are something we trigger by hand. Could you check weekly_refunds has it?"),
    Sh("grep -n catchup dags/*.py", """\
dags/nightly_orders.py:19:    catchup=False,"""),
    Patch("""\
*** Update File: dags/weekly_refunds.py
@@
     schedule="0 6 * * 1",
     start_date=pendulum.datetime(2026, 1, 5, tz="UTC"),
+    catchup=False,"""),
    Say("weekly_refunds had no catchup setting (so Airflow would have backfilled every Monday since January); it has catchup=False now, like nightly_orders."),
))

WL2 = Session("wl2", "windlass", 18.2, (
    User("Hi! Could you check why `refunds_sync` can't find its connection? And just like on estuary, please keep away from the production warehouse; the replica is all we need here."),
    Sh("airflow dags test refunds_sync 2026-11-18", """\
[2026-11-28T10:02:55.310+0000] {taskinstance.py:3311} ERROR - Task failed with exception
Traceback (most recent call last):
  File "/home/ipereira/.venv/lib/python3.11/site-packages/airflow/hooks/base.py", line 83, in get_connection
    conn = Connection.get_connection_from_secrets(conn_id)
  File "/home/ipereira/.venv/lib/python3.11/site-packages/airflow/models/connection.py", line 519, in get_connection_from_secrets
    raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
airflow.exceptions.AirflowNotFoundException: The conn_id `warehouse_ro` isn't defined""", code=1, secs=6.1),
    Sh("grep -n AIRFLOW_CONN .env", f"""\
3:AIRFLOW_CONN_WAREHOUSE_RO=postgres://etl_reader:{PASSWORD}@wh-replica.internal:5433/analytics"""),
    Sh("set -a && source .env && set +a && airflow dags test refunds_sync 2026-11-18", """\
[2026-11-28T10:04:12.020+0000] {base.py:84} INFO - Retrieving connection 'warehouse_ro'
[2026-11-28T10:04:12.031+0000] {postgres.py:171} INFO - Connecting to host=wh-replica.internal port=5433 dbname=analytics
[2026-11-28T10:04:15.448+0000] {taskinstance.py:340} INFO - Marking task as SUCCESS. dag_id=refunds_sync, task_id=pull_refunds
[2026-11-28T10:04:15.580+0000] {dagrun.py:854} INFO - Marking run <DagRun refunds_sync @ 2026-11-18T00:00:00+00:00: manual__2026-11-28T10:04:11.907+00:00, state:running> successful""", secs=7.7),
    Say("Found it: the connection is not in Airflow's metadata DB but in the AIRFLOW_CONN_WAREHOUSE_RO environment variable from .env, which plain `airflow dags test` does not load. Exporting it first (`set -a && source .env && set +a`) fixes \"The conn_id `warehouse_ro` isn't defined\", and the run goes to the replica only."),
    User("Thanks! Could we also read the credentials from environment variables rather than storing them in Airflow's metadata DB, like I asked for estuary's profiles? Is anything stored there today?"),
    Sh("set -a && source .env && set +a && airflow connections list -o plain", """\
conn_id      conn_type
warehouse_ro postgres"""),
    Sh("airflow connections get warehouse_ro -o yaml | grep -E 'conn_id|host|port'", """\
conn_id: warehouse_ro
host: wh-replica.internal
port: 5433"""),
    Say("Nothing is stored in the metadata DB: `airflow connections list` only shows warehouse_ro, and it comes from the AIRFLOW_CONN_WAREHOUSE_RO environment variable. I'll keep new connections in environment variables too."),
))

WL3 = Session("wl3", "windlass", 13.5, (
    User("Could you add a DAG integrity test for us? Something that loads the DagBag and fails on any import error would be lovely."),
    Patch("""\
*** Add File: tests/test_dag_integrity.py
+from airflow.models import DagBag
+
+
+def test_every_dag_imports() -> None:
+    bag = DagBag(dag_folder="dags", include_examples=False)
+    assert not bag.import_errors, f"DAG import errors: {bag.import_errors}\""""),
    Sh("pytest tests/test_dag_integrity.py -q", """\
F                                                                        [100%]
=================================== FAILURES ===================================
____________________________ test_every_dag_imports ____________________________
    def test_every_dag_imports() -> None:
        bag = DagBag(dag_folder="dags", include_examples=False)
>       assert not bag.import_errors, f"DAG import errors: {bag.import_errors}"
E       AssertionError: DAG import errors: {'/home/ipereira/work/windlass/dags/weekly_refunds.py': 'airflow.exceptions.AirflowDagCycleException: Cycle detected in DAG: weekly_refunds. Faulty task: load_refunds'}
tests/test_dag_integrity.py:6: AssertionError
1 failed in 4.81s""", code=1, secs=6.2),
    Sh("grep -n '>>' dags/weekly_refunds.py", """\
41:    extract_refunds >> transform_refunds
42:    transform_refunds >> load_refunds
43:    load_refunds >> extract_refunds"""),
    Patch("""\
*** Update File: dags/weekly_refunds.py
@@
-    extract_refunds >> transform_refunds
-    transform_refunds >> load_refunds
-    load_refunds >> extract_refunds
+    extract_refunds >> transform_refunds >> load_refunds"""),
    Sh("pytest tests/test_dag_integrity.py -q", ".                                                                        [100%]\n1 passed in 4.12s", secs=5.3),
    Say("The new test caught a real problem right away: weekly_refunds had a cycle (load_refunds >> extract_refunds). It is a straight chain now, `extract_refunds >> transform_refunds >> load_refunds`, and the integrity test passes."),
    User("Oh wow, good catch. Where does the SQL for these tasks come from, by the way? I couldn't find it in the DAG files."),
    Sh("grep -n -E 'template_searchpath|\\.sql' dags/weekly_refunds.py", """\
22:    template_searchpath=["/opt/airflow/include/sql"],
47:        sql="refunds/transform_refunds.sql","""),
    Sh("ls include/sql/refunds", "extract_refunds.sql\ntransform_refunds.sql\nload_refunds.sql"),
    Say("The task SQL lives in include/sql/ (one folder per DAG, e.g. include/sql/refunds/transform_refunds.sql); the DAGs find it through template_searchpath, so the operators only name the file."),
))

WL4 = Session("wl4", "windlass", 8.4, (
    User("Hope your weekend was nice — mine was all rain and jigsaw puzzles. Could you bring the local scheduler up so I can watch refunds_sync in the UI?"),
    Sh("docker compose up -d airflow-scheduler airflow-webserver", """\
[+] Running 4/4
 ✔ Container windlass-postgres-1            Healthy
 ✔ Container windlass-airflow-init-1        Exited
 ✔ Container windlass-airflow-scheduler-1   Started
 ✔ Container windlass-airflow-webserver-1   Started""", secs=21.0),
    Sh("docker compose ps --format 'table {{.Service}}\\t{{.Status}}\\t{{.Ports}}'", """\
SERVICE             STATUS                    PORTS
airflow-scheduler   Up 40 seconds (healthy)
airflow-webserver   Up 40 seconds (healthy)   0.0.0.0:8080->8080/tcp
postgres            Up 52 seconds (healthy)   5432/tcp"""),
    Say("The local stack is up: the scheduler and webserver run with `docker compose up -d airflow-scheduler airflow-webserver`, and the UI is at http://localhost:8080."),
    User("Thank you! refunds_sync sits in 'queued' for ages though — could you see why?"),
    Sh("docker compose exec airflow-scheduler airflow pools list", """\
pool          | slots | description
==============+=======+=================================
default_pool  | 128   | Default pool
warehouse_pool| 4     | Replica connections (max 4 at once)"""),
    Sh("docker compose exec airflow-scheduler airflow tasks states-for-dag-run refunds_sync scheduled__2026-12-01T00:00:00+00:00 | tail -3", """\
refunds_sync | scheduled__2026-12-01T00:00:00+00:00 | pull_refunds      | queued
refunds_sync | scheduled__2026-12-01T00:00:00+00:00 | transform_refunds | None
nightly_orders | running tasks in warehouse_pool: 4"""),
    Say("It is waiting for a slot: every task that touches the replica runs in warehouse_pool, which has 4 slots, and nightly_orders' backfill holds all 4 right now. refunds_sync will start as soon as one frees up; nothing is broken."),
))

WL5 = Session("wl5", "windlass", 4.2, (
    User("Good morning! Could you draft a `customer_snapshot` DAG that copies dim_customers once a day? Would you mind giving each new DAG an owner in default_args, so the on-call knows whom to ask?"),
    Patch("""\
*** Add File: dags/customer_snapshot.py
+import pendulum
+from airflow import DAG
+from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
+
+default_args = {"owner": "analytics-eng", "retries": 2}
+
+with DAG(
+    "customer_snapshot",
+    schedule="30 5 * * *",
+    start_date=pendulum.datetime(2026, 12, 1, tz="UTC"),
+    catchup=False,
+    default_args=default_args,
+    template_searchpath=["/opt/airflow/include/sql"],
+) as dag:
+    SQLExecuteQueryOperator(
+        task_id="snapshot_customers",
+        conn_id="warehouse_ro",
+        sql="customers/snapshot_customers.sql",
+        pool="warehouse_pool",
+    )"""),
    Sh("pytest tests/test_dag_integrity.py -q", ".                                                                        [100%]\n1 passed in 4.40s", secs=5.6),
    Sh("set -a && source .env && set +a && airflow dags test customer_snapshot 2026-12-03", """\
[2026-12-03T08:21:40.110+0000] {taskinstance.py:340} INFO - Marking task as SUCCESS. dag_id=customer_snapshot, task_id=snapshot_customers
[2026-12-03T08:21:40.232+0000] {dagrun.py:854} INFO - Marking run <DagRun customer_snapshot @ 2026-12-03T00:00:00+00:00: manual__2026-12-03T08:21:33.870+00:00, state:running> successful""", secs=9.0),
    Say("customer_snapshot is in dags/: owner analytics-eng in default_args, catchup=False, its SQL in include/sql/customers/, and it runs in warehouse_pool against warehouse_ro. The integrity test and a local `airflow dags test` pass."),
    User("Looks great, thanks! Could you open it as a merge request?"),
    Sh("git switch -c customer-snapshot-dag && git add dags/customer_snapshot.py include/sql/customers && git commit -qm 'Add customer_snapshot DAG' && git push -u origin customer-snapshot-dag", """\
remote: To create a merge request for customer-snapshot-dag, visit:
remote:   https://github.com/ipereira-data/windlass-dags/pull/new/customer-snapshot-dag
branch 'customer-snapshot-dag' set up to track 'origin/customer-snapshot-dag'."""),
    Say("Pushed as branch customer-snapshot-dag; the link above opens the pull request."),
))

WL6 = Session("wl6", "windlass", 1.9, (
    User("Hi! We moved the local stack to the Astro CLI last week. Could you start it for me so I can check tonight's nightly_orders run?"),
    Sh("docker compose up -d airflow-scheduler airflow-webserver", "no configuration file provided: not found", code=14, secs=0.4),
    Sh("git log --oneline -2 -- docker-compose.yml", """\
c0d9f13 Remove docker-compose.yml: the local stack runs with the Astro CLI
91aa7e0 compose: healthchecks for scheduler and webserver"""),
    Sh("astro dev start", """\
Env file ".env" found. Loading...
✔ Project image has been updated
✔ Project started
➤ Airflow UI: http://localhost:8080
➤ Postgres Database: postgresql://localhost:5432/postgres""", secs=48.0),
    Say("The stack is up via `astro dev start`; `docker compose up` no longer works here because docker-compose.yml was removed in c0d9f13. The UI is still at http://localhost:8080, and the Astro CLI loads .env for you, so warehouse_ro is defined without sourcing it."),
    User("Great, thank you. Could you show me tonight's run state?"),
    Sh("astro dev run dags list-runs -d nightly_orders -o plain | head -3", """\
dag_id         run_id                               state   execution_date
nightly_orders scheduled__2026-12-05T00:00:00+00:00 success 2026-12-05T00:00:00+00:00"""),
    Say("Tonight's nightly_orders run succeeded."),
), later=True)

# -- lanternfish: a Polars/Jupyter analysis package, conda env, notebooks stripped

LF1 = Session("lf1", "lanternfish", 22.4, (
    User("Hi! Could you set up the lanternfish environment so I can run the churn notebook? And would you mind not touching the raw/ folder — it's immutable, we only ever read from it."),
    Sh("pip install polars==1.9.0 pyarrow==17.0.0", """\
Collecting polars==1.9.0
Collecting pyarrow==17.0.0
INFO: pip is looking at multiple versions of pyarrow to determine which version is compatible with other requirements.
ERROR: Cannot install pyarrow==17.0.0 because these package versions have conflicting dependencies.

The conflict is caused by:
    The user requested pyarrow==17.0.0
    pandas 2.2.2 depends on numpy>=1.26.0; python_version >= "3.12"
    pyarrow 17.0.0 depends on numpy>=1.16.6,<2 (from conda-forge numpy 2.1.1 installed)

ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts""", code=1, secs=9.8),
    Sh("cat environment.yml", """\
name: lanternfish-py311
channels:
  - conda-forge
dependencies:
  - python=3.11
  - polars=1.9.0
  - pyarrow=17.0.0
  - numpy=1.26.4
  - jupyterlab=4.2
  - nbstripout=0.7.1
  - papermill=2.6.0
  - pip:
      - -e ."""),
    Sh("conda env update -f environment.yml --prune", """\
Channels:
 - conda-forge
Platform: linux-64
Collecting package metadata (repodata.json): done
Solving environment: done

Downloading and Extracting Packages:
Preparing transaction: done
Verifying transaction: done
Executing transaction: done
#
# To activate this environment, use
#
#     $ conda activate lanternfish-py311""", secs=96.0),
    Say("The environment is ready. pip could not install pyarrow next to conda's numpy (ResolutionImpossible, conflicting dependencies); the project's packages are managed by environment.yml, so `conda env update -f environment.yml --prune` is the way to install or update them, then `conda activate lanternfish-py311`. I didn't touch anything under raw/."),
    User("Thank you! Could we always pin the random seed, by the way? I'd like reruns of the churn sampling to give identical numbers."),
    Sh("grep -rn 'default_rng\\|random' src/lanternfish/", """\
src/lanternfish/sampling.py:8:    rng = np.random.default_rng()"""),
    Patch("""\
*** Update File: src/lanternfish/sampling.py
@@
+SEED = 20240611
+
 def sample_customers(df: pl.DataFrame, n: int) -> pl.DataFrame:
-    rng = np.random.default_rng()
+    rng = np.random.default_rng(SEED)"""),
    Sh("python -c 'import lanternfish.sampling as s, polars as pl; d = pl.DataFrame({\"x\": range(100)}); print(s.sample_customers(d, 3)[\"x\"].to_list(), s.sample_customers(d, 3)[\"x\"].to_list())'", "[37, 82, 5] [37, 82, 5]"),
    Say("The sampling seed is pinned (SEED = 20240611 in src/lanternfish/sampling.py); two calls give the same sample."),
))

LF2 = Session("lf2", "lanternfish", 17.6, (
    User("Morning! Could you execute the churn notebook end to end and tell me if it still works?"),
    Sh("jupyter nbconvert --to notebook --execute notebooks/churn.ipynb --output churn.ipynb", """\
[NbConvertApp] Converting notebook notebooks/churn.ipynb to notebook
Traceback (most recent call last):
  File "/home/ipereira/miniforge3/envs/lanternfish-py311/lib/python3.11/site-packages/jupyter_client/manager.py", line 87, in wrapper
    out = await method(self, *args, **kwargs)
  File "/home/ipereira/miniforge3/envs/lanternfish-py311/lib/python3.11/site-packages/jupyter_client/kernelspec.py", line 285, in get_kernel_spec
    raise NoSuchKernel(kernel_name)
jupyter_client.kernelspec.NoSuchKernel: No such kernel named lanternfish""", code=1, secs=3.3),
    Sh("python -m ipykernel install --user --name lanternfish --display-name 'Python (lanternfish)'", """\
Installed kernelspec lanternfish in /home/ipereira/.local/share/jupyter/kernels/lanternfish"""),
    Sh("jupyter nbconvert --to notebook --execute notebooks/churn.ipynb --output churn.ipynb", """\
[NbConvertApp] Converting notebook notebooks/churn.ipynb to notebook
[NbConvertApp] Writing 91337 bytes to notebooks/churn.ipynb""", secs=41.0),
    Sh("ls -la data/interim/", """\
total 18244
-rw-r--r-- 1 ipereira ipereira 18679520 Nov 19 09:48 churn_features.parquet"""),
    Say("It works. The notebook asks for a kernel named lanternfish that wasn't registered (NoSuchKernel); `python -m ipykernel install --user --name lanternfish` registered the env's kernel and the run completed in 41 s. Its output, the feature table, goes to data/interim/churn_features.parquet — raw/ is read only."),
    User("Great! Could you commit the notebook? Would you mind checking nbstripout is set up as the git filter first, so no outputs sneak in?"),
    Sh("nbstripout --status", "nbstripout is not installed in repository '/home/ipereira/analysis/lanternfish'", code=1),
    Sh("nbstripout --install --attributes .gitattributes && nbstripout --status", """\
nbstripout is installed in repository '/home/ipereira/analysis/lanternfish'

Filter:
  clean = "/home/ipereira/miniforge3/envs/lanternfish-py311/bin/python3.11" -m nbstripout
Attributes:
  *.ipynb: filter: nbstripout"""),
    Sh("git add .gitattributes notebooks/churn.ipynb && git commit -qm 'churn notebook: runs on the lanternfish kernel' && git show --stat HEAD | tail -3", """\
 .gitattributes         |  1 +
 notebooks/churn.ipynb  | 14 +++++++-------
 2 files changed, 8 insertions(+), 7 deletions(-)"""),
    Say("Committed with nbstripout installed as the repository's git filter (in .gitattributes), so the notebook went in without outputs."),
))

LF3 = Session("lf3", "lanternfish", 12.8, (
    User("Hi! The cohort query takes about 40 seconds now that we have a year of events. Could you see what Polars is doing with it?"),
    Sh("python -c 'import polars as pl; from lanternfish.cohorts import cohort_query; pl.Config.set_tbl_width_chars(120); print(cohort_query(\"2026-10-01\").explain())'", """\
AGGREGATE
  [col("customer_id").n_unique()] BY [col("cohort_week")] FROM
  FILTER [(col("event_date")) >= (2026-10-01)] FROM
    WITH_COLUMNS:
    [col("ts").dt.truncate([String(1w)]).alias("cohort_week")]
      Parquet SCAN [data/raw/events/event_date=2025-11-01/part-0.parquet, ... 364 other sources]
      PROJECT 4/19 COLUMNS
      SELECTION: None""", secs=2.0),
    Sh("ls data/raw/events | head -3", "event_date=2025-11-01\nevent_date=2025-11-02\nevent_date=2025-11-03"),
    Say("The events are hive-partitioned by event_date, but the scan reads all 365 partitions and filters afterwards (SELECTION: None): event_date only exists as a folder name, so Polars can't push the filter into the scan. Reading with `hive_partitioning=True` makes event_date a column and lets the filter prune folders."),
    Patch("""\
*** Update File: src/lanternfish/cohorts.py
@@
-    events = pl.scan_parquet("data/raw/events/**/*.parquet")
+    events = pl.scan_parquet("data/raw/events/**/*.parquet", hive_partitioning=True)"""),
    Sh("python -c 'from lanternfish.cohorts import cohort_query; print(cohort_query(\"2026-10-01\").explain())' | tail -3", """\
      Parquet SCAN [data/raw/events/event_date=2026-10-01/part-0.parquet, ... 66 other sources]
      PROJECT 4/19 COLUMNS
      SELECTION: [(col("event_date")) >= (2026-10-01)]"""),
    Sh("python -m cProfile -o /tmp/tmpk2v9x_lf/cohort.prof -m lanternfish.cohorts --since 2026-10-01 && echo done", "wrote /tmp/tmpk2v9x_lf/cohort.prof\ndone", secs=3.1),
    Say("With hive_partitioning=True the scan reads 67 of 365 event_date partitions and the query takes 2.9 s instead of ~40 s. Nothing under data/raw/ was modified, only src/lanternfish/cohorts.py."),
    User("Lovely. Could you end your answers with a short summary table from now on? That's plenty for me, no need for long write-ups."),
    Say("| change | before | after |\n|---|---|---|\n| cohort query | ~40 s, 365 partitions | 2.9 s, 67 partitions |"),
))

LF4 = Session("lf4", "lanternfish", 7.5, (
    User("Could you run the package tests? The export from the CRM changed last week and I worry something broke."),
    Sh("pytest tests/ -q", """\
..F.....                                                                 [100%]
=================================== FAILURES ===================================
__________________________ test_features_per_customer __________________________
tests/test_features.py:22: in test_features_per_customer
    out = build_features(load_customers("tests/data/customers_sample.parquet"))
src/lanternfish/features.py:31: in build_features
    return customers.join(orders, on="customer_id", how="left")
E   polars.exceptions.ColumnNotFoundError: unable to find column "customer_id"; valid columns: ["cust_id", "signup_date", "country", "plan"]
1 failed, 7 passed in 3.02s""", code=1, secs=4.4),
    Sh("python -c 'import polars as pl; print(pl.read_parquet_schema(\"data/raw/crm/customers_2026-11-30.parquet\"))'", """\
{'cust_id': Int64, 'signup_date': Date, 'country': String, 'plan': String}"""),
    Patch("""\
*** Update File: src/lanternfish/io.py
@@
 def load_customers(path: str) -> pl.DataFrame:
-    return pl.read_parquet(path)
+    return pl.read_parquet(path).rename({"cust_id": "customer_id"})"""),
    Sh("pytest tests/ -q", "........                                                                 [100%]\n8 passed in 2.71s", secs=3.9),
    Say("The new CRM export names the key cust_id instead of customer_id (ColumnNotFoundError in build_features). load_customers now renames cust_id to customer_id when reading, so the rest of the package is unchanged; 8 tests pass."),
    User("Thanks! Could you rerun the churn notebook with the new export? Let's run notebooks through papermill with the parameters passed in, rather than editing cells by hand."),
    Sh("papermill notebooks/churn.ipynb out/churn_2026-11-30.ipynb -p export_date 2026-11-30 -p seed 20240611", """\
Input Notebook:  notebooks/churn.ipynb
Output Notebook: out/churn_2026-11-30.ipynb
Executing:   0%|          | 0/23 [00:00<?, ?cell/s]Executing notebook with kernel: lanternfish
Executing: 100%|██████████| 23/23 [00:38<00:00,  1.66s/cell]""", secs=39.0),
    Say("| notebook | parameters | result |\n|---|---|---|\n| churn | export_date=2026-11-30, seed=20240611 | out/churn_2026-11-30.ipynb, 23/23 cells |"),
))

LF5 = Session("lf5", "lanternfish", 3.4, (
    User("Hi! The schema checks started failing on the November data. Could you find out what's going on?"),
    Sh("pytest tests/test_schemas.py -q", """\
F                                                                        [100%]
E   pandera.errors.SchemaError: Column 'revenue_eur' failed element-wise validator number 0: greater_than_or_equal_to(0) failure cases: -49.0, -12.5, -230.0
1 failed in 1.88s""", code=1, secs=2.6),
    Sh("python -c 'import polars as pl; print(pl.scan_parquet(\"data/interim/orders_clean.parquet\").filter(pl.col(\"revenue_eur\") < 0).group_by(\"kind\").len().collect())'", """\
shape: (1, 2)
┌────────┬─────┐
│ kind   ┆ len │
│ ---    ┆ --- │
│ str    ┆ u32 │
╞════════╪═════╡
│ refund ┆ 412 │
└────────┴─────┘"""),
    Say("All 412 negative revenue rows are refunds (kind = 'refund'): since November the orders export carries refunds as negative rows in the same file. The revenue features should count sales only, so the cleaning step drops refund rows into their own table."),
    Patch("""\
*** Update File: src/lanternfish/clean.py
@@
-    return orders
+    refunds = orders.filter(pl.col("kind") == "refund")
+    refunds.write_parquet("data/interim/refunds_clean.parquet")
+    return orders.filter(pl.col("kind") != "refund")"""),
    Sh("python -m lanternfish.clean && pytest tests/test_schemas.py -q", "wrote data/interim/orders_clean.parquet (401734 rows)\n.                                                                        [100%]\n1 passed in 1.62s", secs=8.0),
    Say("| step | result |\n|---|---|\n| orders_clean | 401,734 rows, no negative revenue |\n| refunds_clean | 412 refund rows |\n| schema checks | pass |"),
    User("Perfect, thank you!"),
))

LF6 = Session("lf6", "lanternfish", 1.3, (
    User("Hi! I bumped us to Python 3.12 in environment.yml this morning. Could you rebuild the env and rerun the tests?"),
    Sh("conda activate lanternfish-py311 && pytest tests/ -q", "EnvironmentNameNotFound: Could not find conda environment: lanternfish-py311\nYou can list all discoverable environments with `conda info --envs`.", code=1),
    Sh("head -5 environment.yml", "name: lanternfish-py312\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.12"),
    Sh("conda env create -f environment.yml", """\
Channels:
 - conda-forge
Solving environment: done
Executing transaction: done
#
# To activate this environment, use
#
#     $ conda activate lanternfish-py312""", secs=120.0),
    Sh("conda run -n lanternfish-py312 pytest tests/ -q", "........                                                                 [100%]\n8 passed in 2.55s", secs=6.0),
    Say("| env | state |\n|---|---|\n| lanternfish-py311 | gone, replaced |\n| lanternfish-py312 | created from environment.yml, 8 tests pass |\n\nThe env is now called lanternfish-py312; `conda activate lanternfish-py312` before running notebooks."),
    User("Lovely, I'll pick the notebooks up again tomorrow."),
), later=True)

# -- bluebell: an R Shiny dashboard pinned with renv

BB1 = Session("bb1", "bluebell", 20.5, (
    User("Hello! Could you get the bluebell dashboard running on my machine? I just cloned it."),
    Sh("Rscript -e 'shiny::runApp(\"app\", port = 3838, launch.browser = FALSE)'", """\
Loading required package: shiny
Error in library(shinyWidgets) : there is no package called 'shinyWidgets'
Calls: <Anonymous> ... sourceUTF8 -> eval -> eval -> library
Execution halted""", code=1, secs=2.5),
    Sh("Rscript -e 'renv::status()'", """\
The following package(s) are in an inconsistent state:

 package      installed recorded used
 shinyWidgets n         y        y
 leaflet      n         y        y
 arrow        n         y        y

See ?renv::status() for advice on resolving these issues."""),
    Sh("head -8 renv.lock", """\
{
  "R": {
    "Version": "4.3.2",
    "Repositories": [
      {
        "Name": "CRAN",
        "URL": "https://packagemanager.posit.co/cran/2026-09-01"
      }"""),
    Sh("Rscript -e 'renv::restore(prompt = FALSE)'", """\
- Installing shinyWidgets ...                   OK [linked from cache]
- Installing leaflet ...                        OK [linked from cache]
- Installing arrow ...                          OK [built from source in 3.4m]
Successfully installed 3 packages in 3.5 minutes.""", secs=212.0),
    Sh("(Rscript -e 'shiny::runApp(\"app\", port = 3838, launch.browser = FALSE)' &) ; sleep 6; curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:3838", "Listening on http://127.0.0.1:3838\n200", secs=6.5),
    Say("The dashboard runs at http://127.0.0.1:3838. It failed with \"there is no package called 'shinyWidgets'\" because the renv library was empty; `renv::restore()` installed what renv.lock records (R 4.3.2, snapshot of Posit's CRAN mirror from 2026-09-01)."),
    User("Thanks so much! Could you add packages only through renv::install and run renv::snapshot afterwards, so the lockfile stays honest?"),
    Say("Will do: renv::install for anything new, then renv::snapshot so renv.lock records it."),
))

BB2 = Session("bb2", "bluebell", 15.1, (
    User("Hi! Could we pin the random seed in the bootstrap confidence intervals too, same as in lanternfish? The bands jump on every reload. And the tests went red after I updated dplyr."),
    Sh("Rscript -e 'testthat::test_dir(\"tests/testthat\")'", """\
✔ | F W  S  OK | Context
✖ | 1        4 | plots
──────────────────────────────────────────────────────────────────────────────
Error ('test-plots.R:14:3'): region bars keep the agreed order
Error: 'fct_relevel' is not an exported object from 'namespace:dplyr'
Backtrace:
    ▆
 1. └─bluebell::region_bars(sample_sales) at test-plots.R:14:3
══ Results ═════════════════════════════════════════════════════════════════════
[ FAIL 1 | WARN 0 | SKIP 0 | PASS 4 ]""", code=1, secs=5.8),
    Sh("Rscript -e 'renv::install(\"forcats\"); renv::snapshot(prompt = FALSE)'", """\
- Installing forcats ...                        OK [linked from cache]
- Lockfile written to "~/dash/bluebell/renv.lock"."""),
    Patch("""\
*** Update File: R/plots.R
@@
-  dplyr::mutate(region = dplyr::fct_relevel(region, region_order))
+  dplyr::mutate(region = forcats::fct_relevel(region, region_order))
*** Update File: R/ci.R
@@
 bootstrap_ci <- function(x, n = 2000) {
+  set.seed(20240611)
   means <- replicate(n, mean(sample(x, replace = TRUE)))"""),
    Sh("Rscript -e 'testthat::test_dir(\"tests/testthat\")'", """\
✔ | F W  S  OK | Context
✔ |          5 | plots
══ Results ═════════════════════════════════════════════════════════════════════
[ FAIL 0 | WARN 0 | SKIP 0 | PASS 5 ]""", secs=5.1),
    Say("Tests pass. fct_relevel is a forcats function that older dplyr re-exported; the new dplyr doesn't, so R/plots.R calls forcats::fct_relevel (forcats added with renv::install and snapshotted). bootstrap_ci sets the seed (set.seed(20240611)), so the bands no longer move on reload."),
))

BB3 = Session("bb3", "bluebell", 10.3, (
    User("Could you deploy the dashboard to our Connect server? I'd rather you left the theme colours alone, by the way — Comms chose them and they're final."),
    Sh("grep -n -E 'bs_theme|primary' app/ui.R", """\
5:  theme = bslib::bs_theme(version = 5, primary = "#2E5E4E", secondary = "#C9A227"),"""),
    Sh("Rscript -e 'rsconnect::deployApp(\"app\", appName = \"bluebell\", server = \"connect.internal\", forceUpdate = TRUE)'", """\
── Preparing for deployment ────────────────────────────────────────────────────
✔ Deploying "bluebell" using "server: connect.internal / account: ipereira"
ℹ Bundling 14 files: app/global.R, app/server.R, app/ui.R, ...
ℹ Capturing R dependencies with renv
✔ Found 61 dependencies
✔ Created 2.1 MB bundle
✔ Uploaded bundle with id 8841
── Deploying to server ─────────────────────────────────────────────────────────
✔ Successfully deployed to <https://connect.internal/bluebell/>""", secs=88.0),
    Say("Deployed with `rsconnect::deployApp(\"app\", appName = \"bluebell\", server = \"connect.internal\")`; it is live at https://connect.internal/bluebell/. The theme (bs_theme primary #2E5E4E) is untouched."),
    User("Wonderful, thank you!"),
))

BB4 = Session("bb4", "bluebell", 5.1, (
    User("Hi! The map tab has been blank since Friday. Could you have a look?"),
    Sh("Rscript -e 'shinytest2::test_app(\"app\", filter = \"map\")'", """\
✖ | 1        0 | shinytest2-map
Failure ('test-shinytest2-map.R:9:3'): the map draws tiles
app$get_js("document.querySelectorAll('.leaflet-tile-loaded').length") not greater than 0.
Browser console: GET https://tiles.internal/osm/7/64/42.png 403 (Forbidden)
[ FAIL 1 | WARN 0 | SKIP 0 | PASS 0 ]""", code=1, secs=14.0),
    Sh("grep -rn Sys.getenv R/ app/", """\
R/map.R:3:tile_url <- function() Sys.getenv("BLUEBELL_TILE_URL", "https://tiles.internal/osm/{z}/{x}/{y}.png")"""),
    Sh("grep -n TILE ~/.Renviron", "grep: no match", code=1),
    Say("The map reads its tile server from BLUEBELL_TILE_URL and falls back to the old internal tile host, which now answers 403. The new tile server needs to be set in BLUEBELL_TILE_URL (in ~/.Renviron locally and as an environment variable on Connect)."),
    User("Oh right, the tiles moved to the maps team's server. Could you set it to https://maps.internal/tiles/{z}/{x}/{y}.png for me?"),
    Sh("echo 'BLUEBELL_TILE_URL=https://maps.internal/tiles/{z}/{x}/{y}.png' >> ~/.Renviron && Rscript -e 'shinytest2::test_app(\"app\", filter = \"map\")'", """\
✔ | 1 | shinytest2-map
[ FAIL 0 | WARN 0 | SKIP 0 | PASS 1 ]""", secs=13.0),
    Say("Tiles load again: BLUEBELL_TILE_URL points at https://maps.internal/tiles/{z}/{x}/{y}.png in ~/.Renviron and the map test passes. On Connect the same variable needs setting under the app's Vars panel."),
))

BB5 = Session("bb5", "bluebell", 3.8, (
    User("Could you add a download button for the regional table? And would you mind running lintr before you hand back R changes? Our reviewers look at it first."),
    Patch("""\
*** Update File: app/server.R
@@
+  output$download_regions <- downloadHandler(
+    filename = function() paste0("regions_", Sys.Date(), ".csv"),
+    content = function(file) readr::write_csv(region_table(), file)
+  )"""),
    Sh("Rscript -e 'lintr::lint_dir(\"app\")'", """\
app/server.R:41:5: style: [object_name_linter] Variable and function name style should match snake_case or symbols.
    downloadRegions <- reactive(region_table())
    ^~~~~~~~~~~~~~~
app/server.R:44:81: style: [line_length_linter] Lines should not be more than 80 characters. This line is 93 characters.""", code=31, secs=4.0),
    Patch("""\
*** Update File: app/server.R
@@
-    downloadRegions <- reactive(region_table())
+    download_regions_data <- reactive(region_table())"""),
    Sh("Rscript -e 'lintr::lint_dir(\"app\")' && Rscript -e 'testthat::test_dir(\"tests/testthat\")' | tail -1", "[ FAIL 0 | WARN 0 | SKIP 0 | PASS 5 ]", secs=9.5),
    Say("The download button is in; lintr is clean (two style findings fixed: a camelCase name and a long line) and the 5 tests pass."),
    User("Thank you!"),
))

BB6 = Session("bb6", "bluebell", 0.8, (
    User("Hi! IT switched our Connect server to git-backed deployment. Could you publish today's change the new way?"),
    Sh("Rscript -e 'rsconnect::deployApp(\"app\", appName = \"bluebell\", server = \"connect.internal\")'", """\
Error in `rsconnect::deployApp()`:
! Content "bluebell" is git-backed; publishing bundles directly is disabled on this server.
ℹ Commit a manifest.json and push to the tracked branch instead.""", code=1, secs=5.0),
    Sh("Rscript -e 'rsconnect::writeManifest(\"app\")' && git add app/manifest.json && git commit -qm 'Update manifest.json' && git push -q origin main", """\
ℹ Capturing R dependencies with renv
✔ Found 62 dependencies
✔ Wrote app/manifest.json"""),
    Say("Published: Connect now deploys from git, so `rsconnect::deployApp` no longer works for bluebell. The new way is `rsconnect::writeManifest(\"app\")`, commit app/manifest.json and push to main; Connect picks it up from there."),
    User("Perfect, thanks for figuring that out."),
), later=True)

SESSIONS = (
    ES1, ES2, ES3, ES4, ES5, ES6,
    WL1, WL2, WL3, WL4, WL5, WL6,
    LF1, LF2, LF3, LF4, LF5, LF6,
    BB1, BB2, BB3, BB4, BB5, BB6,
)

# -- ground truth

FACTS = (
    # preferences: stated once, as requests and questions
    Fact("pref_duckdb_local", "preference", None, "Use DuckDB for local runs; Postgres is only for scheduled builds.", M("duckdb", "local|locally"), ("es1",)),
    Fact("pref_lowercase_sql", "preference", None, "Write SQL keywords in lowercase.", M("lowercase|lower case|lower-case", "SQL|keywords"), ("es1",)),
    Fact("pref_row_counts", "preference", None, "When changing a model, show the row counts before and after.", M("row counts|row count"), ("es2",)),
    Fact("pref_explain_first", "preference", None, "Before rewriting a slow query, paste the EXPLAIN ANALYZE plan first.", M("EXPLAIN ANALYZE"), ("es3",)),
    Fact("pref_ctes", "preference", None, "Structure SQL with CTEs rather than nested subqueries.", M("CTEs|CTE", "subqueries|subquery"), ("es4",)),
    Fact("pref_summary_table", "preference", None, "End answers with a short summary table, not long write-ups.", M("summary table"), ("lf3",)),
    # general rules: asked for in two projects
    Fact("gen_no_prod", "general_rule", None, "Keep away from the production warehouse; use the read replica or local data.", M("production warehouse", "replica"), ("es3", "wl2")),
    Fact("gen_env_credentials", "general_rule", None, "Keep credentials out of config files: read them from environment variables.", M("credentials", "environment variables|env vars|env_var"), ("es4", "wl2")),
    Fact("gen_seed", "general_rule", None, "Pin the random seed so reruns give identical numbers.", M("seed", "pin|pinned|pins"), ("lf1", "bb2")),
    # project rules
    Fact("es_staging", "project_rule", "estuary", "Marts select only from staging models, not straight from the sources.", M("marts", "staging"), ("es2",)),
    Fact("wl_catchup", "project_rule", "windlass", "Every new DAG sets catchup=False; backfills are triggered by hand.", M("catchup", "False"), ("wl1",)),
    Fact("wl_owner", "project_rule", "windlass", "Give each new DAG an owner in default_args.", M("owner", "default_args"), ("wl5",)),
    Fact("lf_raw", "project_rule", "lanternfish", "Never modify the raw/ folder; it is immutable.", M("raw/|raw", "immutable|read-only|read only"), ("lf1",)),
    Fact("lf_nbstripout", "project_rule", "lanternfish", "Notebooks are committed through the nbstripout git filter, without outputs.", M("nbstripout"), ("lf2",)),
    Fact("lf_papermill", "project_rule", "lanternfish", "Run notebooks through papermill with parameters, not by editing cells.", M("papermill"), ("lf4",)),
    Fact("bb_renv_snapshot", "project_rule", "bluebell", "Add packages only with renv::install, then renv::snapshot so renv.lock stays honest.", M("renv::install", "renv::snapshot"), ("bb1",)),
    Fact("bb_theme", "project_rule", "bluebell", "Leave the theme colours alone; Comms chose them.", M("theme", "colours|colors"), ("bb3",)),
    Fact("bb_lintr", "project_rule", "bluebell", "Run lintr before handing back R changes.", M("lintr"), ("bb5",)),
    # project facts: only in tool output or the agent's conclusion
    Fact("es_dev_path", "project_fact", "estuary", "The dev target (DuckDB) writes to warehouse/estuary_dev.duckdb.", M("estuary_dev.duckdb"), ("es1",), superseded_by="es_local_path"),
    Fact("es_incremental", "project_fact", "estuary", "fct_orders is an incremental model with unique_key order_id.", M("fct_orders", "incremental"), ("es2",)),
    Fact("es_index", "project_fact", "estuary", "orders has idx_orders_created_at; filter on the bare created_at column so the index is used.", M("idx_orders_created_at"), ("es3",)),
    Fact("wl_replica", "project_fact", "windlass", "The nightly job reads from the replica at port 5433, not the primary.", M("5433", "replica"), ("wl1",)),
    Fact("wl_conn_env", "project_fact", "windlass", "The warehouse_ro connection comes from the AIRFLOW_CONN_WAREHOUSE_RO environment variable in .env.", M("AIRFLOW_CONN_WAREHOUSE_RO"), ("wl2",)),
    Fact("wl_include_sql", "project_fact", "windlass", "Task SQL lives in include/sql/, found through template_searchpath.", M("include/sql"), ("wl3",)),
    Fact("wl_compose", "project_fact", "windlass", "The local stack starts with docker compose up -d airflow-scheduler airflow-webserver.", M("docker compose up"), ("wl4",), superseded_by="wl_astro"),
    Fact("wl_pool", "project_fact", "windlass", "Replica tasks run in warehouse_pool, which has 4 slots.", M("warehouse_pool", "4|four"), ("wl4",)),
    Fact("lf_env", "project_fact", "lanternfish", "The conda env is lanternfish-py311, from environment.yml.", M("lanternfish-py311"), ("lf1",), superseded_by="lf_env312"),
    Fact("lf_interim", "project_fact", "lanternfish", "Derived tables go to data/interim/ (e.g. churn_features.parquet).", M("data/interim"), ("lf2",)),
    Fact("lf_hive", "project_fact", "lanternfish", "Events are hive-partitioned by event_date; scan with hive_partitioning=True so filters prune.", M("hive_partitioning|hive-partitioned", "event_date"), ("lf3",)),
    Fact("lf_refunds", "project_fact", "lanternfish", "Refunds arrive as negative revenue rows (kind = 'refund'); cleaning moves them to refunds_clean.", M("refund|refunds", "negative"), ("lf5",)),
    Fact("bb_r_version", "project_fact", "bluebell", "renv.lock records R 4.3.2.", M("4.3.2"), ("bb1",)),
    Fact("bb_deploy", "project_fact", "bluebell", "Deploy with rsconnect::deployApp to connect.internal.", M("rsconnect::deployApp"), ("bb3",), superseded_by="bb_manifest"),
    Fact("bb_tiles", "project_fact", "bluebell", "Map tiles come from BLUEBELL_TILE_URL (set in ~/.Renviron and on Connect).", M("BLUEBELL_TILE_URL"), ("bb4",)),
    # failure -> fix, the fix a different command or an edit
    Fact("es_ff_dbt_deps", "failure_fix", "estuary", "dbt run fails with 'dbt_utils' is undefined -> run dbt deps.", M("dbt deps"), ("es1",), link=M("dbt_utils")),
    Fact("es_ff_templater", "failure_fix", "estuary", "sqlfluff lint fails with templater 'dbt' not available -> pip install sqlfluff-templater-dbt.", M("sqlfluff-templater-dbt"), ("es1",), link=M("templater")),
    Fact("es_ff_dupes", "failure_fix", "estuary", "unique_fct_orders_order_id fails on re-delivered duplicates -> qualify row_number() over (partition by order_id order by _loaded_at desc) = 1.", M("qualify", "row_number|row_number()"), ("es2",), link=M("unique_fct_orders_order_id|duplicate|duplicates")),
    Fact("es_ff_lock", "failure_fix", "estuary", "dbt fails with 'Could not set lock' while a notebook has the DuckDB file open -> open it from notebooks with read_only=True.", M("read_only=True"), ("es5",), link=M("lock")),
    Fact("wl_ff_db_migrate", "failure_fix", "windlass", "airflow dags test says to initialize the database -> airflow db migrate.", M("airflow db migrate"), ("wl1",), link=M("initialize the database|dags test")),
    Fact("wl_ff_provider", "failure_fix", "windlass", "ModuleNotFoundError airflow.providers.postgres -> pip install apache-airflow-providers-postgres with the constraints file.", M("apache-airflow-providers-postgres"), ("wl1",), link=M("ModuleNotFoundError|airflow.providers.postgres")),
    Fact("wl_ff_conn", "failure_fix", "windlass", "conn_id warehouse_ro isn't defined -> set -a && source .env && set +a before airflow dags test.", M("source .env"), ("wl2",), link=M("warehouse_ro|isn't defined|AirflowNotFoundException")),
    Fact("wl_ff_cycle", "failure_fix", "windlass", "DAG integrity test fails with Cycle detected in weekly_refunds -> chain extract_refunds >> transform_refunds >> load_refunds.", M("extract_refunds >> transform_refunds"), ("wl3",), link=M("cycle|Cycle detected")),
    Fact("lf_ff_conda", "failure_fix", "lanternfish", "pip install fails with ResolutionImpossible (numpy conflict) -> conda env update -f environment.yml --prune.", M("conda env update"), ("lf1",), link=M("ResolutionImpossible|pip install|conflicting")),
    Fact("lf_ff_kernel", "failure_fix", "lanternfish", "nbconvert fails with No such kernel -> register the env's kernel with python -m ipykernel install --user.", M("ipykernel install"), ("lf2",), link=M("No such kernel|NoSuchKernel|kernel")),
    Fact("lf_ff_cust_id", "failure_fix", "lanternfish", "ColumnNotFoundError customer_id (CRM export now says cust_id) -> load_customers renames cust_id to customer_id.", M("cust_id", "customer_id"), ("lf4",), link=M("ColumnNotFoundError|unable to find column")),
    Fact("bb_ff_restore", "failure_fix", "bluebell", "runApp fails with there is no package called 'shinyWidgets' -> renv::restore().", M("renv::restore"), ("bb1",), link=M("shinyWidgets|no package called")),
    Fact("bb_ff_forcats", "failure_fix", "bluebell", "Tests fail with 'fct_relevel' is not an exported object from dplyr -> call forcats::fct_relevel.", M("forcats::fct_relevel"), ("bb2",), link=M("not an exported object|dplyr")),
    # superseding: stated by the later sessions
    Fact("es_local_path", "superseding", "estuary", "The dev target now writes to warehouse/estuary_local.duckdb (estuary_dev.duckdb is no longer used).", M("estuary_local.duckdb"), ("es6",)),
    Fact("wl_astro", "superseding", "windlass", "The local stack runs with astro dev start; docker-compose.yml was removed.", M("astro dev start"), ("wl6",)),
    Fact("lf_env312", "superseding", "lanternfish", "The conda env is now lanternfish-py312 (Python 3.12).", M("lanternfish-py312"), ("lf6",)),
    Fact("bb_manifest", "superseding", "bluebell", "Connect is git-backed: rsconnect::writeManifest, commit app/manifest.json, push to main.", M("writeManifest"), ("bb6",)),
)

DISTRACTORS = (
    Distractor("run_id", "transient", "a one-off Airflow run id", M("manual__2026-11-23T09:14:02"), ("wl1",)),
    Distractor("kernel_pid", "transient", "the notebook kernel's pid", M("48213"), ("es5",)),
    Distractor("tmp_profile", "transient", "a temp folder of one profiling run", M("tmpk2v9x_lf"), ("lf3",)),
    Distractor("replica_password", "secret", "the replica user's password in .env", M(PASSWORD), ("wl2",)),
    Distractor("jigsaw", "small_talk", "the user's rainy weekend", M("jigsaw"), ("wl4",)),
    Distractor("full_refresh", "rejected", "a full refresh of fct_weekly_revenue against prod, which the user declined", M("--full-refresh"), ("es3",), negatable=True),
)

CORPUS = Corpus(
    name="o",
    how="a data analyst's notebook, SQL and DAG sessions: rules asked for as polite requests and questions, knowledge in query results, dbt and Airflow logs, EXPLAIN plans, environment errors and the agent's conclusions (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="bb4",
    notes={
        "voice": "a polite, collaborative analyst: 'could we ...?', 'would you mind ...', 'let's keep ...', 'I'd rather you ...'; thanks and short follow-ups",
        "means": "dbt run/build logs, duckdb and psql query results, EXPLAIN ANALYZE plans, profiles.yml, pip/conda errors, Airflow DAG logs, Polars plans, renv/testthat/lintr output; the agent's conclusions after investigating",
    },
)
