//! `tmk docs`: generate writes manifest.json, catalog.json (types read from PostgreSQL) and the
//! static site; serve serves it on 127.0.0.1; and the site works in a real browser — headless
//! Chromium driven through chromedriver (both installed by scripts/setup): the graph draws the
//! expected nodes and edges, clicking a model (in the graph and in the list) shows its columns,
//! clicking a column shows its upstream and downstream columns, search answers, and the graph
//! filter takes dbt's --select/--exclude syntax (result: from the last run, config.<key>:,
//! clear messages for typos), keeps it in the link, and answers what `tmk ls` answers.
//! Screenshots go to target/docs-screenshots/ for a person to look at. A machine without
//! Chromium fails these tests, loudly: they are never skipped.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestProject, assert_ok};
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// A child process killed when dropped (the server, chromedriver).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Where Debian installs chromium and chromedriver; a clear failure when they are missing.
fn chromedriver() -> PathBuf {
    for path in ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"] {
        if Path::new(path).exists() {
            return PathBuf::from(path);
        }
    }
    panic!(
        "chromedriver is not installed: the docs site's browser test needs Debian's `chromium` and \
         `chromium-driver` packages; run scripts/setup (it installs them)"
    );
}

/// Start chromedriver on a free port and wait until it answers.
fn start_chromedriver() -> (Running, String) {
    let port = free_port();
    let child = Command::new(chromedriver())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (running, format!("http://127.0.0.1:{port}"))
}

/// `tmk docs serve --port 0` in the project; returns the URL it prints.
fn start_server(project: &TestProject) -> (Running, String) {
    let mut command = project.tmk_command(&["docs", "serve", "--port", "0"]);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tmk docs serve");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the server's first line");
    assert!(
        line.starts_with("Serving the docs site at http://127.0.0.1:"),
        "{line}"
    );
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("a URL")
        .to_string();
    (running, url)
}

async fn browser(webdriver: &str) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,1000"]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .expect("a Chromium session through chromedriver")
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/docs-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(name), png).expect("write screenshot");
}

/// Run a script and return its value.
async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.expect(script)
}

/// Wait until `script` returns true.
async fn until(client: &Client, what: &str, script: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if js(client, script).await == Value::Bool(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Open `url` and wait until the page is drawn.
async fn open(client: &Client, url: &str) {
    client.goto(url).await.expect("open the page");
    until(
        client,
        "the page",
        "return document.body.dataset.ready === 'true'",
    )
    .await;
}

/// A JSON list kept in a data attribute of the graph's canvas (nodes, edges, column edges).
async fn graph_list(client: &Client, attribute: &str) -> Vec<String> {
    let text = js(
        client,
        &format!("return document.getElementById('graph').dataset.{attribute}"),
    )
    .await;
    serde_json::from_str(text.as_str().unwrap_or("[]")).expect("a JSON list")
}

/// How many canvas pixels are painted (the graph is drawn, not only listed).
async fn painted_pixels(client: &Client) -> u64 {
    js(
        client,
        "const c = document.getElementById('graph'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
         let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;",
    )
    .await
    .as_u64()
    .unwrap_or(0)
}

/// The column names in the node page's column table.
async fn shown_columns(client: &Client) -> Vec<String> {
    let value = js(
        client,
        "return [...document.querySelectorAll('table.columns tbody tr')].map(r => r.dataset.col)",
    )
    .await;
    serde_json::from_value(value).expect("column names")
}

/// The `node.column` entries of one side of the column lineage panel.
async fn lineage_side(client: &Client, side: &str) -> Vec<String> {
    let value = js(
        client,
        &format!(
            "return [...document.querySelectorAll('#column-lineage ol.{side} li')].map(l => l.dataset.col)"
        ),
    )
    .await;
    serde_json::from_value(value).expect("lineage entries")
}

/// Click a node of the graph where the page draws it, with a real pointer (the canvas has no
/// elements to click).
async fn click_node(client: &Client, unique_id: &str) {
    let point = js(
        client,
        &format!("return window.tmkDocs.screenPosition('{unique_id}')"),
    )
    .await;
    let (x, y) = (
        point["x"].as_f64().unwrap_or(0.0),
        point["y"].as_f64().unwrap_or(0.0),
    );
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo { duration: None, x, y })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client.perform_actions(mouse).await.expect("click");
    client.release_actions().await.expect("release");
}

/// Type a selection over what the graph's select and exclude boxes hold (Ctrl+A, then the
/// text; a cleared box would apply itself on its own), and press Enter.
async fn type_selection(client: &Client, select: &str, exclude: &str) {
    for (id, text) in [("selector", select), ("exclude", exclude)] {
        let input = client.find(Locator::Id(id)).await.expect("a selector box");
        let keys = if text.is_empty() { "\u{E003}" } else { text };
        input
            .send_keys(&format!("\u{E009}a\u{E000}{keys}"))
            .await
            .expect("type a selector");
    }
    client
        .find(Locator::Id("exclude"))
        .await
        .expect("the exclude box")
        .send_keys("\u{E007}")
        .await
        .expect("press Enter");
}

/// Type a selection on the overview, and wait until the link holds it.
async fn select_on_overview(client: &Client, select: &str, exclude: &str) {
    type_selection(client, select, exclude).await;
    let mut hash = format!("#select={}", select.replace(' ', "%20"));
    if !exclude.is_empty() {
        hash.push_str(&format!("&exclude={}", exclude.replace(' ', "%20")));
    }
    until(
        client,
        &format!("the selection {hash}"),
        &format!("return location.hash === {}", json!(hash)),
    )
    .await;
}

/// The message under the selector boxes: its kind (error or notice) and text, hint included.
async fn selector_message(client: &Client) -> (String, String) {
    let value = js(
        client,
        "const box = document.getElementById('selector-message');          return box.hidden ? ['', ''] : [box.dataset.kind, box.textContent.trim()]",
    )
    .await;
    serde_json::from_value(value).expect("kind and text")
}

fn built_jaffle_shop(name: &str) -> TestProject {
    let project = TestProject::from_fixture("jaffle_shop", name, "jaffle_shop");
    assert_ok(&project.tmk(&["build"]));
    let generate = project.tmk(&["docs", "generate"]);
    assert_ok(&generate);
    assert!(
        generate
            .stdout
            .contains("Wrote the docs site to target/docs/index.html (28 nodes)."),
        "{}",
        generate.stdout
    );
    project
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_site_draws_the_lineage_and_answers_clicks_and_search() {
    let project = built_jaffle_shop("docs_site");
    let (_driver, webdriver) = start_chromedriver();
    let (_server, url) = start_server(&project);
    let client = browser(&webdriver).await;

    // A model page opens on its +node+ neighbourhood.
    open(&client, &format!("{url}#node=model.jaffle_shop.orders")).await;
    assert_eq!(
        graph_list(&client, "nodes").await,
        [
            "model.jaffle_shop.orders",
            "model.jaffle_shop.stg_orders",
            "model.jaffle_shop.stg_payments",
            "seed.jaffle_shop.raw_orders",
            "seed.jaffle_shop.raw_payments"
        ]
    );
    assert_eq!(
        graph_list(&client, "edges").await,
        [
            "model.jaffle_shop.stg_orders -> model.jaffle_shop.orders",
            "model.jaffle_shop.stg_payments -> model.jaffle_shop.orders",
            "seed.jaffle_shop.raw_orders -> model.jaffle_shop.stg_orders",
            "seed.jaffle_shop.raw_payments -> model.jaffle_shop.stg_payments"
        ]
    );
    assert!(
        painted_pixels(&client).await > 10_000,
        "the graph's canvas is blank"
    );
    assert_eq!(
        js(
            &client,
            "return document.querySelector('#detail h1').firstChild.textContent.trim()"
        )
        .await,
        "orders"
    );
    // Types come from PostgreSQL's catalog, tests and run status from the artifacts.
    let types = js(
        &client,
        "return [...document.querySelectorAll('table.columns td.type')].map(t => t.textContent)",
    )
    .await;
    assert_eq!(types[0], "integer");
    let badges = js(&client, "return document.querySelector('#detail h1').textContent").await;
    assert!(badges.as_str().unwrap_or("").contains("success"), "{badges}");
    screenshot(&client, "model-orders.png").await;

    // Clicking a node in the graph opens its page with its columns.
    click_node(&client, "model.jaffle_shop.stg_payments").await;
    // The graph keeps its selection, and the link says so.
    until(
        &client,
        "stg_payments's page",
        "return location.hash === '#node=model.jaffle_shop.stg_payments&select=+orders+'",
    )
    .await;
    assert_eq!(graph_list(&client, "nodes").await.len(), 5);
    assert_eq!(
        shown_columns(&client).await,
        ["payment_id", "order_id", "payment_method", "amount"]
    );

    // Clicking a model in the list shows its columns.
    client
        .find(Locator::Css("#sidebar a[data-id='model.jaffle_shop.customers']"))
        .await
        .expect("customers in the list")
        .click()
        .await
        .expect("click customers");
    until(
        &client,
        "customers's page",
        "return location.hash === '#node=model.jaffle_shop.customers'",
    )
    .await;
    let columns = shown_columns(&client).await;
    assert_eq!(
        columns[..7],
        [
            "customer_id",
            "first_name",
            "last_name",
            "first_order",
            "most_recent_order",
            "number_of_orders",
            "customer_lifetime_value"
        ]
    );
    screenshot(&client, "model-customers.png").await;

    // Clicking a column shows where it comes from and where it goes.
    client
        .find(Locator::Css("button.column[data-col='customer_id']"))
        .await
        .expect("the customer_id column")
        .click()
        .await
        .expect("click customer_id");
    until(
        &client,
        "the column lineage",
        "return !!document.getElementById('column-lineage')",
    )
    .await;
    assert_eq!(
        lineage_side(&client, "upstream").await,
        [
            "model.jaffle_shop.stg_customers.customer_id",
            "seed.jaffle_shop.raw_customers.id"
        ]
    );
    assert_eq!(lineage_side(&client, "downstream").await, Vec::<String>::new());
    let column_edges = graph_list(&client, "columnEdges").await;
    assert_eq!(
        column_edges,
        [
            "model.jaffle_shop.stg_customers.customer_id -> model.jaffle_shop.customers.customer_id",
            "seed.jaffle_shop.raw_customers.id -> model.jaffle_shop.stg_customers.customer_id"
        ]
    );
    screenshot(&client, "column-customers-customer_id.png").await;

    // Downstream: a staging column feeds the marts.
    open(
        &client,
        &format!("{url}#node=model.jaffle_shop.stg_orders&col=order_id"),
    )
    .await;
    until(
        &client,
        "the column lineage",
        "return !!document.getElementById('column-lineage')",
    )
    .await;
    let downstream = lineage_side(&client, "downstream").await;
    assert!(
        downstream.contains(&"model.jaffle_shop.orders.order_id".to_string()),
        "{downstream:?}"
    );

    // The selector filter, on the node's page.
    type_selection(&client, "stg_orders+", "").await;
    until(
        &client,
        "the filtered graph",
        "return location.hash === '#node=model.jaffle_shop.stg_orders&select=stg_orders+'",
    )
    .await;
    assert_eq!(
        graph_list(&client, "nodes").await,
        [
            "model.jaffle_shop.customers",
            "model.jaffle_shop.orders",
            "model.jaffle_shop.stg_orders"
        ]
    );

    // Search answers, and Enter opens the best match.
    let search = client.find(Locator::Id("search")).await.expect("search box");
    search.send_keys("payment").await.expect("type");
    until(
        &client,
        "search results",
        "return document.querySelectorAll('#search-results li[data-id]').length > 0",
    )
    .await;
    let hits = js(
        &client,
        "return [...document.querySelectorAll('#search-results li[data-id]')].map(l => l.dataset.id)",
    )
    .await;
    let hits: Vec<String> = serde_json::from_value(hits).expect("hits");
    assert!(
        hits.contains(&"model.jaffle_shop.stg_payments".to_string()),
        "{hits:?}"
    );
    assert!(
        hits.contains(&"seed.jaffle_shop.raw_payments".to_string()),
        "{hits:?}"
    );
    screenshot(&client, "search-payment.png").await;
    search.send_keys("_method\u{E007}").await.expect("enter");
    until(
        &client,
        "the search hit's page",
        "return location.hash.startsWith('#node=')",
    )
    .await;
    let opened = js(&client, "return location.hash").await;
    assert_eq!(
        opened, "#node=model.jaffle_shop.stg_payments",
        "search for payment_method"
    );

    // The overview.
    open(&client, &url).await;
    assert_eq!(graph_list(&client, "nodes").await.len(), 8);
    screenshot(&client, "overview.png").await;
    client.close().await.expect("close the browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_site_works_from_a_file_url_without_a_server() {
    let project = built_jaffle_shop("docs_file");
    let (_driver, webdriver) = start_chromedriver();
    let client = browser(&webdriver).await;
    let index = project.path().join("target/docs/index.html");
    open(
        &client,
        &format!("file://{}#node=seed.jaffle_shop.raw_orders", index.display()),
    )
    .await;
    assert_eq!(
        graph_list(&client, "nodes").await,
        [
            "model.jaffle_shop.customers",
            "model.jaffle_shop.orders",
            "model.jaffle_shop.stg_orders",
            "seed.jaffle_shop.raw_orders"
        ]
    );
    client.close().await.expect("close the browser");
}

/// jaffle_shop with what the filter's methods look at: a source, a model with group, access,
/// tags and meta, and a singular test that fails (so the last run has a `fail`). Built (the
/// failing test makes the build exit 1) and its docs generated.
fn filter_project(name: &str) -> TestProject {
    let project = TestProject::from_fixture("jaffle_shop", name, "jaffle_shop");
    project.write(
        "tests/assert_orders_amount_is_zero.sql",
        "-- Fails on purpose: orders have amounts.\nselect order_id from {{ ref('orders') }} where amount > 0\n",
    );
    project.write(
        "models/sources.yml",
        "sources:\n  - name: jaffle_raw\n    schema: \"{{ target.schema }}\"\n    tables:\n      - name: customers\n        identifier: raw_customers\n",
    );
    let customers = project.read("models/customers.sql");
    project.write(
        "models/customers.sql",
        &format!(
            "{{{{ config(group='finance', access='public', tags=['pii', 'finance'], meta={{'owner': 'ann'}}) }}}}\n{customers}"
        ),
    );
    let build = project.tmk(&["build"]);
    common::assert_exit(&build, 1);
    assert!(build.stdout.contains("ERROR=1"), "{}", build.stdout);
    assert_ok(&project.tmk(&["docs", "generate"]));
    project
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_filter_takes_dbt_selectors_and_keeps_them_in_the_link() {
    let project = filter_project("docs_filter");
    let (_driver, webdriver) = start_chromedriver();
    let (_server, url) = start_server(&project);
    let client = browser(&webdriver).await;

    // A link with a selection opens on it, both boxes filled in.
    open(
        &client,
        &format!("{url}#select=+customers&exclude=resource_type:seed"),
    )
    .await;
    assert_eq!(
        graph_list(&client, "nodes").await,
        [
            "model.jaffle_shop.customers",
            "model.jaffle_shop.stg_customers",
            "model.jaffle_shop.stg_orders",
            "model.jaffle_shop.stg_payments"
        ]
    );
    let boxes = js(
        &client,
        "return [document.getElementById('selector').value, document.getElementById('exclude').value]",
    )
    .await;
    assert_eq!(boxes, json!(["+customers", "resource_type:seed"]));

    // --exclude takes graph operators too: what is selected minus what is excluded.
    select_on_overview(&client, "+orders", "stg_payments+").await;
    assert_eq!(
        graph_list(&client, "nodes").await,
        [
            "model.jaffle_shop.stg_orders",
            "seed.jaffle_shop.raw_orders",
            "seed.jaffle_shop.raw_payments"
        ]
    );
    assert_eq!(selector_message(&client).await, (String::new(), String::new()));

    // result: reads the last run; the failed test is not drawn, the node it tests is.
    select_on_overview(&client, "1+result:fail", "").await;
    assert_eq!(graph_list(&client, "nodes").await, ["model.jaffle_shop.orders"]);
    select_on_overview(&client, "result:fail", "").await;
    assert!(graph_list(&client, "nodes").await.is_empty());
    assert_eq!(
        selector_message(&client).await,
        (
            "notice".to_string(),
            "the selection holds 1 test and the graph does not draw tests: `1+result:fail` draws the nodes they test"
                .to_string()
        )
    );
    select_on_overview(&client, "result:success,resource_type:seed", "").await;
    assert_eq!(
        graph_list(&client, "nodes").await,
        [
            "seed.jaffle_shop.raw_customers",
            "seed.jaffle_shop.raw_orders",
            "seed.jaffle_shop.raw_payments"
        ]
    );

    // Any config key, access:, group:, source: and test_type:.
    for (select, drawn) in [
        ("config.meta.owner:ann", "model.jaffle_shop.customers"),
        ("access:public,group:finance", "model.jaffle_shop.customers"),
        ("source:jaffle_raw", "source.jaffle_shop.jaffle_raw.customers"),
        ("1+test_type:singular", "model.jaffle_shop.orders"),
    ] {
        select_on_overview(&client, select, "").await;
        assert_eq!(graph_list(&client, "nodes").await, [drawn], "{select}");
    }

    // A typo: a message naming the closest method, the box marked, the graph left as it was.
    select_on_overview(&client, "tagg:finance", "").await;
    assert_eq!(
        selector_message(&client).await.1.lines().next(),
        Some(
            "unknown selector method `tagg` in `tagg:finance` hint: did you mean `tag`? valid methods: `fqn`, `tag`, `path`, `file`, `package`, `config`, `resource_type`, `source`, `test_type`, `test_name`, `group`, `access`, `exposure`, `metric`, `semantic_model`, `saved_query`, `unit_test`, `state`, `result`, `source_status`, `version`"
        )
    );
    let marked = js(
        &client,
        "return [document.getElementById('selector').className, document.getElementById('exclude').className]",
    )
    .await;
    assert_eq!(marked, json!(["invalid", ""]));
    assert_eq!(graph_list(&client, "nodes").await, ["model.jaffle_shop.orders"]);
    screenshot(&client, "selector-typo.png").await;
    // state: has nothing to compare with here, and says so; the exclude box is the one marked.
    select_on_overview(&client, "*", "state:modified").await;
    let (kind, text) = selector_message(&client).await;
    assert_eq!(kind, "error");
    assert!(
        text.starts_with(
            "exclude: selector method `state` in `state:modified` is not available in the docs site: it compares \
             the project with the artifacts of another run"
        ),
        "{text}"
    );
    // A kind of node tmk never has: nothing matches, and the message says why.
    select_on_overview(&client, "exposure:weekly orders", "").await;
    assert_eq!(graph_list(&client, "nodes").await, ["model.jaffle_shop.orders"]);
    assert_eq!(
        selector_message(&client).await,
        (
            "notice".to_string(),
            "`exposure:weekly` matches nothing: this project has no exposures".to_string()
        )
    );

    // A click in the graph keeps the selection in the link, and the link reopens the view.
    select_on_overview(&client, "+customers", "stg_payments").await;
    screenshot(&client, "selector-exclude.png").await;
    click_node(&client, "model.jaffle_shop.stg_orders").await;
    let link = "#node=model.jaffle_shop.stg_orders&select=+customers&exclude=stg_payments";
    until(
        &client,
        "stg_orders's page",
        &format!("return location.hash === '{link}'"),
    )
    .await;
    let drawn = graph_list(&client, "nodes").await;
    client.goto("about:blank").await.expect("leave the page");
    open(&client, &format!("{url}{link}")).await;
    assert_eq!(graph_list(&client, "nodes").await, drawn);
    assert_eq!(
        js(
            &client,
            "return document.querySelector('#detail h1').firstChild.textContent.trim()"
        )
        .await,
        "stg_orders"
    );
    client.close().await.expect("close the browser");
}

/// The unique ids `tmk ls` selects.
fn listed(project: &TestProject, select: &str, exclude: &str) -> Vec<String> {
    let mut args = vec!["ls", "-s", select, "--output", "json"];
    if !exclude.is_empty() {
        args.extend(["--exclude", exclude]);
    }
    let run = project.tmk(&args);
    assert_ok(&run);
    let mut ids: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|node| node["unique_id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_filter_answers_what_tmk_ls_answers() {
    let project = filter_project("docs_filter_ls");
    let (_driver, webdriver) = start_chromedriver();
    let client = browser(&webdriver).await;
    let index = project.path().join("target/docs/index.html");
    open(&client, &format!("file://{}", index.display())).await;
    // Both read configs as the manifest shows them, dbt's defaults included
    // (`config.on_schema_change:ignore`: no node sets it).
    let selections = [
        ("stg_orders", ""),
        ("+orders", "stg_payments+"),
        ("@stg_orders", ""),
        ("2+customers", "resource_type:seed"),
        ("@test_type:singular", ""),
        (
            "1+relationships_orders_customer_id__customer_id__ref_customers_",
            "",
        ),
        ("jaffle_shop.staging.* orders.sql", "test_name:not_null"),
        ("path:models/**/stg_*.sql", ""),
        ("models/staging,config.materialized:view", ""),
        ("config.on_schema_change:ignore", "resource_type:test"),
        ("tag:fin*", ""),
        ("group:finance access:public config.meta.owner:ann", ""),
        ("source:jaffle_raw.customers+", ""),
        ("test_type:data", "test_name:[nu]*"),
        ("package:jaffle_shop", "file:assert_orders_amount_is_zero"),
        ("*", "+customers"),
    ];
    for (select, exclude) in selections {
        let answer = client
            .execute(
                "return window.tmkDocs.select(arguments[0], arguments[1])",
                vec![json!(select), json!(exclude)],
            )
            .await
            .expect("select");
        let ids: Vec<String> = serde_json::from_value(answer["ids"].clone()).unwrap_or_default();
        assert!(!ids.is_empty(), "{select} --exclude {exclude}: {answer}");
        assert_eq!(
            ids,
            listed(&project, select, exclude),
            "{select} --exclude {exclude}"
        );
    }
    // The same mistakes get the same messages.
    for select in ["tagg:finance", "@+orders", "resource_type:modle", "a,,b"] {
        let answer = client
            .execute(
                "return window.tmkDocs.select(arguments[0], '')",
                vec![json!(select)],
            )
            .await
            .expect("select");
        let message = answer["error"].as_str().unwrap_or_default();
        let run = project.tmk(&["ls", "-s", select]);
        common::assert_exit(&run, 2);
        assert!(
            !message.is_empty() && run.stderr.contains(&format!("bad selector: {message}")),
            "{select}: {answer} vs {}",
            run.stderr
        );
    }
    client.close().await.expect("close the browser");
}

#[test]
fn catalog_json_holds_the_database_types_of_built_relations() {
    let project = built_jaffle_shop("docs_catalog");
    let catalog: Value = serde_json::from_str(&project.read("target/catalog.json")).expect("catalog.json");
    let orders = &catalog["nodes"]["model.jaffle_shop.orders"];
    assert_eq!(orders["metadata"]["type"], "BASE TABLE");
    assert_eq!(orders["metadata"]["schema"], project.schema.as_str());
    assert_eq!(
        orders["columns"]["order_id"],
        json!({"type": "integer", "index": 1, "name": "order_id", "comment": null})
    );
    assert_eq!(orders["columns"]["amount"]["type"], "bigint");
    assert_eq!(
        catalog["nodes"]["model.jaffle_shop.stg_orders"]["metadata"]["type"],
        "VIEW"
    );
    assert_eq!(
        catalog["nodes"]["seed.jaffle_shop.raw_orders"]["columns"]["order_date"]["type"],
        "date"
    );
    // Tests have no catalog entry.
    let names: Vec<&String> = catalog["nodes"].as_object().expect("nodes").keys().collect();
    assert_eq!(names.len(), 8, "{names:?}");
}

#[test]
fn without_a_reachable_database_the_catalog_holds_declared_columns_and_says_so() {
    let project = TestProject::new(
        "docs_nodb",
        &[
            ("models/orders.sql", "select 1 as order_id, 'x'::text as status"),
            (
                "models/schema.yml",
                "models:\n  - name: orders\n    description: Orders.\n    columns:\n      - name: order_id\n        data_type: integer\n      - name: status\n",
            ),
        ],
    );
    project.write(
        "profiles.yml",
        "demo:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: 127.0.0.1\n      port: 1\n      user: root\n      dbname: postgres\n      schema: nowhere\n",
    );
    let run = project.tmk(&["docs", "generate"]);
    assert_ok(&run);
    let line = run
        .stdout
        .lines()
        .find(|line| line.starts_with("catalog.json"))
        .unwrap_or_default();
    assert!(
        line.starts_with("catalog.json holds the declared columns only: the database was not read ("),
        "{}",
        run.stdout
    );
    let catalog: Value = serde_json::from_str(&project.read("target/catalog.json")).expect("catalog.json");
    let columns = &catalog["nodes"]["model.demo.orders"]["columns"];
    assert_eq!(columns["order_id"]["type"], "integer");
    assert_eq!(columns["status"]["type"], Value::Null);
    assert!(
        project
            .read("target/docs/data.js")
            .starts_with("window.TMK_DATA = {")
    );
}

#[test]
fn serve_without_a_generated_site_says_to_generate_it() {
    let project = TestProject::new("docs_noserve", &[("models/a.sql", "select 1 as id")]);
    let run = project.tmk(&["docs", "serve", "--port", "0"]);
    common::assert_exit(&run, 2);
    insta::assert_snapshot!(project.normalize(&run.stderr), @r"
    usage error: no docs site in `target/docs`
    hint: run `tmk docs generate` first
    ");
}
