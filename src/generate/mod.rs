//! TechMarket's OLTP test data (`tmk generate`): the rows of every table of the four services
//! (auth, catalog, orders, payments) as text values, and the batch of changes `--changes`
//! applies. Deterministic: every entity is a pure function of the seed and its id (a ChaCha8
//! stream per entity, portable across platforms and Rust versions), so the same scale and seed
//! give the same rows, and rows stream without being held in memory. Scale 1 is 5 regions, 14
//! categories (8 of them subcategories), 25 products, 10 employees (5 managers), 50 customers,
//! 600 orders with about 1,800 items, about 540 payments and 61 users in 4 roles; customers,
//! products and orders grow with the scale, the rest does not. It must not connect anywhere:
//! `adapter::oltp` writes the rows. The tables themselves come from the OLTP DBML files
//! (`project/*_mysql.dbml`, embedded) through the DBML emitter, with a prefix on every schema.

mod names;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use crate::dbml::{self, ddl::Dialect};
use names::{FIRST_NAMES, LAST_NAMES, PRODUCT_LINES, REGIONS, SUBCATEGORIES, TOP_CATEGORIES};

/// The OLTP schema: the four services' DBML files, embedded (path, text).
const DBML: [(&str, &str); 4] = [
    (
        "project/auth_mysql.dbml",
        include_str!("../../project/auth_mysql.dbml"),
    ),
    (
        "project/catalog_mysql.dbml",
        include_str!("../../project/catalog_mysql.dbml"),
    ),
    (
        "project/orders_mysql.dbml",
        include_str!("../../project/orders_mysql.dbml"),
    ),
    (
        "project/payments_mysql.dbml",
        include_str!("../../project/payments_mysql.dbml"),
    ),
];

/// The DDL of the OLTP tables in `dialect`, every schema (MySQL database) named with `prefix`
/// (`t1_` → `t1_orders`). The DBML is written for MySQL: for PostgreSQL its `datetime` columns
/// become `timestamp`.
pub fn oltp_ddl(prefix: &str, dialect: Dialect) -> crate::error::Result<String> {
    let files: Vec<(std::path::PathBuf, std::sync::Arc<str>)> = DBML
        .iter()
        .map(|(path, text)| (std::path::PathBuf::from(path), std::sync::Arc::from(*text)))
        .collect();
    let mut schema = dbml::parse_all(&files)?;
    let rename = |name: &mut Option<String>| {
        if let Some(name) = name {
            *name = format!("{prefix}{name}");
        }
    };
    for table in &mut schema.tables {
        rename(&mut table.schema);
        for column in &mut table.columns {
            rename(&mut column.data_type.schema);
            if dialect == Dialect::Postgres && column.data_type.name.eq_ignore_ascii_case("datetime") {
                column.data_type.name = "timestamp".to_string();
            }
        }
    }
    for item in &mut schema.enums {
        rename(&mut item.schema);
    }
    for reference in &mut schema.refs {
        rename(&mut reference.left.schema);
        rename(&mut reference.right.schema);
    }
    Ok(dbml::ddl::emit(&schema, dialect))
}

/// One row: text values, None for NULL.
pub type Row = Vec<Option<String>>;

/// The rows of one table.
pub struct TableData {
    /// The service (MySQL database / PostgreSQL schema, before any prefix).
    pub service: &'static str,
    /// The table.
    pub table: &'static str,
    /// Its columns, in the order of each row's values.
    pub columns: &'static [&'static str],
    /// The rows, generated as they are read.
    pub rows: Box<dyn Iterator<Item = Row> + Send>,
}

/// How much data a scale means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Customers (50 per scale unit).
    pub customers: i64,
    /// Products (25 per scale unit).
    pub products: i64,
    /// Orders (600 per scale unit).
    pub orders: i64,
}

impl Sizes {
    /// The sizes of `scale`.
    pub fn of(scale: u32) -> Sizes {
        let scale = i64::from(scale.max(1));
        Sizes {
            customers: 50 * scale,
            products: 25 * scale,
            orders: 600 * scale,
        }
    }
}

/// Employees (5 regional managers and a salesperson under each), whatever the scale.
const EMPLOYEES: i64 = 10;
/// The services, in the order their tables are filled (foreign keys point backwards).
pub const SERVICES: [&str; 4] = ["orders", "catalog", "payments", "auth"];
/// The roles of auth.roles, in id order.
const ROLES: [(&str, &str); 4] = [
    ("ADMIN", "administers the shop"),
    ("SALES", "sells; linked to an employee"),
    ("CUSTOMER", "shops; linked to a customer"),
    ("BI_VIEWER", "reads the warehouse marts"),
];
/// Users per role: 1 admin, one per employee, 48 customers, 2 BI viewers (61).
const CUSTOMER_USERS: i64 = 48;
const BI_USERS: i64 = 2;

/// The first day of the order history.
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default()
}

/// The start of the data: every row before the first change was last updated then or later.
fn epoch() -> NaiveDateTime {
    first_day().and_hms_opt(0, 0, 0).unwrap_or_default()
}

/// Days the order history spans.
const HISTORY_DAYS: u64 = 730;

/// Entity kinds, each with its own random streams.
#[derive(Clone, Copy)]
#[repr(u64)]
enum Kind {
    Customer = 1,
    Product = 2,
    Order = 3,
    Changes = 4,
    Salt = 5,
}

/// The random stream of entity `id` of `kind`.
fn stream(seed: u64, kind: Kind, id: i64) -> ChaCha8Rng {
    let id = u64::from_ne_bytes(id.to_ne_bytes());
    ChaCha8Rng::seed_from_u64(
        seed ^ (kind as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ id.wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

/// A number in `0..n`.
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    rng.next_u64() % n.max(1)
}

/// A signed number in `0..n`.
fn below_i64(rng: &mut ChaCha8Rng, n: i64) -> i64 {
    i64::try_from(below(rng, u64::try_from(n).unwrap_or(1))).unwrap_or(0)
}

fn text(value: impl ToString) -> Option<String> {
    Some(value.to_string())
}

fn time(value: NaiveDateTime) -> Option<String> {
    Some(value.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// Hryvnias from kopecks, with two decimals.
fn money(kopecks: i64) -> Option<String> {
    Some(format!("{}.{:02}", kopecks / 100, kopecks % 100))
}

/// A customer's name, e-mail and region.
struct Customer {
    first: usize,
    last: usize,
    region: i64,
    created: NaiveDateTime,
}

fn customer(seed: u64, id: i64) -> Customer {
    let mut rng = stream(seed, Kind::Customer, id);
    Customer {
        first: below(&mut rng, FIRST_NAMES.len() as u64) as usize,
        last: below(&mut rng, LAST_NAMES.len() as u64) as usize,
        region: 1 + below_i64(&mut rng, REGIONS.len() as i64),
        created: epoch() - TimeDelta::seconds(below_i64(&mut rng, 365 * 86_400)),
    }
}

/// A product's line, list price and cost in kopecks.
fn product(seed: u64, id: i64) -> (usize, i64, i64) {
    let mut rng = stream(seed, Kind::Product, id);
    let line = usize::try_from((id - 1).rem_euclid(PRODUCT_LINES.len() as i64)).unwrap_or(0);
    let base = PRODUCT_LINES[line].2 * 100;
    let price = base * (90 + below_i64(&mut rng, 21)) / 100;
    let cost = price * (60 + below_i64(&mut rng, 21)) / 100;
    (line, price, cost)
}

/// One order with its items and payments.
struct Order {
    customer: i64,
    employee: Option<i64>,
    region: i64,
    placed: NaiveDateTime,
    status: &'static str,
    updated: NaiveDateTime,
    /// (product, quantity, unit price, discount), in kopecks.
    items: Vec<(i64, i64, i64, i64)>,
    /// (method, paid at, amount in kopecks).
    payments: Vec<(&'static str, NaiveDateTime, i64)>,
}

impl Order {
    fn total(&self) -> i64 {
        self.items
            .iter()
            .map(|(_, quantity, price, discount)| quantity * price - discount)
            .sum()
    }
}

/// Order `id`, placed at a time drawn from the history or at `placed` (new orders of a change).
fn order(seed: u64, sizes: Sizes, id: i64, placed: Option<NaiveDateTime>) -> Order {
    let mut rng = stream(seed, Kind::Order, id);
    let customer_id = 1 + below_i64(&mut rng, sizes.customers);
    let region = customer(seed, customer_id).region;
    let employee = (below(&mut rng, 20) != 0).then(|| 1 + below_i64(&mut rng, EMPLOYEES));
    let drawn = epoch()
        + TimeDelta::days(below_i64(&mut rng, HISTORY_DAYS as i64))
        + TimeDelta::seconds(below_i64(&mut rng, 86_400));
    let placed = placed.unwrap_or(drawn);
    let (status, hours) = match below(&mut rng, 100) {
        0..8 => ("new", 0),
        8..38 => ("paid", 24),
        38..90 => ("shipped", 96),
        _ => ("cancelled", 48),
    };
    let updated = placed + TimeDelta::seconds(below_i64(&mut rng, hours * 3600 + 1));
    let items = (0..1 + below(&mut rng, 5))
        .map(|_| {
            let product_id = 1 + below_i64(&mut rng, sizes.products);
            let quantity = 1 + below_i64(&mut rng, 3);
            let price = product(seed, product_id).1;
            let discount = if below(&mut rng, 5) == 0 {
                quantity * price / 20
            } else {
                0
            };
            (product_id, quantity, price, discount)
        })
        .collect();
    let mut order = Order {
        customer: customer_id,
        employee,
        region,
        placed,
        status,
        updated,
        items,
        payments: Vec::new(),
    };
    if matches!(status, "paid" | "shipped") {
        let method = match below(&mut rng, 100) {
            0..55 => "card",
            55..70 => "paypal",
            70..85 => "bank_transfer",
            _ => "cash",
        };
        let paid_at = placed + TimeDelta::seconds(below_i64(&mut rng, 3 * 3600));
        let total = order.total();
        if below(&mut rng, 10) == 0 && total >= 200 {
            // Paid in two parts.
            let first = total / 2;
            order.payments.push((method, paid_at, first));
            order
                .payments
                .push(("card", paid_at + TimeDelta::hours(1), total - first));
        } else {
            order.payments.push((method, paid_at, total));
        }
    }
    order
}

/// The tables of `scale` with `seed`, in the order they are filled.
pub fn tables(scale: u32, seed: u64) -> Vec<TableData> {
    let sizes = Sizes::of(scale);
    let mut all = reference_tables(seed, sizes);
    all.extend(order_tables(seed, sizes, 1..=sizes.orders, None, (1, 1)));
    all.extend(auth_tables(seed));
    all
}

/// Regions, customers, employees, categories and products.
fn reference_tables(seed: u64, sizes: Sizes) -> Vec<TableData> {
    let regions = REGIONS
        .iter()
        .enumerate()
        .map(|(index, name)| vec![text(index + 1), text(name)]);
    let customers = (1..=sizes.customers).map(move |id| {
        let customer = customer(seed, id);
        let (first, first_latin) = FIRST_NAMES[customer.first];
        let (last, last_latin) = LAST_NAMES[customer.last];
        vec![
            text(id),
            text(first),
            text(last),
            Some(format!("{first_latin}.{last_latin}{id}@example.com.ua")),
            text(customer.region),
            time(customer.created),
            time(customer.created),
        ]
    });
    let employees = (1..=EMPLOYEES).map(|id| {
        // 1-5 manage regions 1-5; 6-10 sell under them.
        let reports = id > 5;
        let region = if reports { id - 5 } else { id };
        let (first, _) = FIRST_NAMES[usize::try_from((id * 7) % 24).unwrap_or(0)];
        let (last, _) = LAST_NAMES[usize::try_from((id * 5 + 3) % 24).unwrap_or(0)];
        vec![
            text(id),
            text(first),
            text(last),
            reports.then(|| (id - 5).to_string()),
            text(if reports { "0" } else { "1" }),
            text(region),
            Some(format!("{}-{:02}-15", 2019 + id % 5, 1 + id % 12)),
            time(epoch()),
        ]
    });
    let categories = TOP_CATEGORIES
        .iter()
        .map(|name| (*name, None))
        .chain(
            SUBCATEGORIES
                .iter()
                .map(|(name, parent)| (*name, Some(parent + 1))),
        )
        .enumerate()
        .map(|(index, (name, parent))| {
            vec![
                text(index + 1),
                text(name),
                parent.map(|parent| parent.to_string()),
            ]
        });
    let products = (1..=sizes.products).map(move |id| {
        let (line, price, cost) = product(seed, id);
        let (name, category, _) = PRODUCT_LINES[line];
        let round = (id - 1) / PRODUCT_LINES.len() as i64;
        let name = if round == 0 {
            name.to_string()
        } else {
            format!("{name} ({round})")
        };
        vec![
            text(id),
            Some(name),
            text(category + 1),
            money(price),
            money(cost),
            time(epoch()),
        ]
    });
    vec![
        table(
            "orders",
            "regions",
            &["region_id", "name"],
            regions.collect::<Vec<_>>().into_iter(),
        ),
        table(
            "orders",
            "customers",
            &[
                "customer_id",
                "first_name",
                "last_name",
                "email",
                "region_id",
                "created_at",
                "updated_at",
            ],
            customers,
        ),
        table(
            "orders",
            "employees",
            &[
                "employee_id",
                "first_name",
                "last_name",
                "manager_id",
                "is_manager",
                "region_id",
                "hired_at",
                "updated_at",
            ],
            employees,
        ),
        table(
            "catalog",
            "categories",
            &["category_id", "name", "parent_id"],
            categories.collect::<Vec<_>>().into_iter(),
        ),
        table(
            "catalog",
            "products",
            &["product_id", "name", "category_id", "price", "cost", "updated_at"],
            products,
        ),
    ]
}

fn table(
    service: &'static str,
    name: &'static str,
    columns: &'static [&'static str],
    rows: impl Iterator<Item = Row> + Send + 'static,
) -> TableData {
    TableData {
        service,
        table: name,
        columns,
        rows: Box::new(rows),
    }
}

/// Orders `ids` with their items and payments; item and payment ids start at `first_ids`.
/// `placed` fixes when they were placed (and last updated).
fn order_tables(
    seed: u64,
    sizes: Sizes,
    ids: std::ops::RangeInclusive<i64>,
    placed: Option<NaiveDateTime>,
    first_ids: (i64, i64),
) -> Vec<TableData> {
    let make = move |id| {
        let mut order = order(seed, sizes, id, placed);
        if placed.is_some() {
            order.updated = order.placed;
        }
        order
    };
    let orders = ids.clone().map(move |id| {
        let order = make(id);
        vec![
            text(id),
            text(order.customer),
            order.employee.map(|employee| employee.to_string()),
            Some(order.placed.date().to_string()),
            text(order.region),
            money(order.total()),
            text(order.status),
            time(order.updated),
        ]
    });
    let mut item_id = first_ids.0 - 1;
    let items = ids.clone().flat_map(move |id| {
        let order = make(id);
        order
            .items
            .iter()
            .map(|&(product, quantity, price, discount)| {
                item_id += 1;
                vec![
                    text(item_id),
                    text(id),
                    text(product),
                    text(quantity),
                    money(price),
                    money(discount),
                    time(order.placed),
                ]
            })
            .collect::<Vec<_>>()
    });
    let mut payment_id = first_ids.1 - 1;
    let payments = ids.flat_map(move |id| {
        let order = make(id);
        order
            .payments
            .iter()
            .map(|&(method, paid_at, amount)| {
                payment_id += 1;
                vec![
                    text(payment_id),
                    text(id),
                    text(method),
                    time(paid_at),
                    money(amount),
                    time(paid_at),
                ]
            })
            .collect::<Vec<_>>()
    });
    vec![
        table(
            "orders",
            "orders",
            &[
                "order_id",
                "customer_id",
                "employee_id",
                "order_date",
                "region_id",
                "total_amount",
                "status",
                "updated_at",
            ],
            orders,
        ),
        table(
            "orders",
            "order_items",
            &[
                "order_item_id",
                "order_id",
                "product_id",
                "quantity",
                "unit_price",
                "discount",
                "updated_at",
            ],
            items,
        ),
        table(
            "payments",
            "payments",
            &[
                "payment_id",
                "order_id",
                "method",
                "paid_at",
                "amount",
                "updated_at",
            ],
            payments,
        ),
    ]
}

/// Roles and users. Each role has one password and one salt derived from the seed, so four
/// argon2 hashes serve all 61 users whatever the scale.
fn auth_tables(seed: u64) -> Vec<TableData> {
    let hashes: Vec<String> = ROLES
        .iter()
        .enumerate()
        .map(|(index, (role, _))| password_hash(&format!("{}-{seed}", role.to_lowercase()), seed, index))
        .collect();
    let roles = ROLES
        .iter()
        .enumerate()
        .map(|(index, (name, description))| vec![text(index + 1), text(name), text(description)]);
    let mut users: Vec<Row> = Vec::new();
    let mut add = |email: String, role: usize, customer: Option<i64>, employee: Option<i64>| {
        let id = users.len() + 1;
        users.push(vec![
            text(id),
            Some(email),
            Some(hashes[role].clone()),
            text(role + 1),
            customer.map(|id| id.to_string()),
            employee.map(|id| id.to_string()),
            text("1"),
            time(epoch()),
            time(epoch()),
        ]);
    };
    add("admin@techmarket.ua".to_string(), 0, None, None);
    for employee in 1..=EMPLOYEES {
        add(format!("sales{employee}@techmarket.ua"), 1, None, Some(employee));
    }
    for customer_id in 1..=CUSTOMER_USERS {
        let customer = customer(seed, customer_id);
        let (first, last) = (FIRST_NAMES[customer.first].1, LAST_NAMES[customer.last].1);
        add(
            format!("{first}.{last}{customer_id}@example.com.ua"),
            2,
            Some(customer_id),
            None,
        );
    }
    for viewer in 1..=BI_USERS {
        add(format!("bi{viewer}@techmarket.ua"), 3, None, None);
    }
    vec![
        table(
            "auth",
            "roles",
            &["role_id", "name", "description"],
            roles.collect::<Vec<_>>().into_iter(),
        ),
        table(
            "auth",
            "users",
            &[
                "user_id",
                "email",
                "password_hash",
                "role_id",
                "customer_id",
                "employee_id",
                "is_active",
                "created_at",
                "updated_at",
            ],
            users.into_iter(),
        ),
    ]
}

/// An argon2id PHC string of `password` (the crate's default cost), with a salt drawn from
/// the seed for role number `role`.
fn password_hash(password: &str, seed: u64, role: usize) -> String {
    use argon2::{Argon2, PasswordHash, PasswordHasher};
    let mut rng = stream(seed, Kind::Salt, i64::try_from(role).unwrap_or(0));
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    PasswordHasher::<PasswordHash>::hash_password_with_salt(&Argon2::default(), password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
}

/// What the data looks like before a change (read from the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// Customers.
    pub customers: i64,
    /// Products.
    pub products: i64,
    /// The greatest order id.
    pub max_order: i64,
    /// The greatest order item id.
    pub max_item: i64,
    /// The greatest payment id.
    pub max_payment: i64,
    /// The latest `updated_at` of orders and products.
    pub last_update: NaiveDateTime,
}

/// An update `--changes` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These orders move on: new → paid, paid → shipped (others stay).
    AdvanceStatus {
        /// The orders.
        orders: Vec<i64>,
        /// Their new `updated_at`.
        updated_at: String,
    },
    /// These products cost `percent` more.
    RaisePrices {
        /// The products.
        products: Vec<i64>,
        /// By how much.
        percent: i64,
        /// Their new `updated_at`.
        updated_at: String,
    },
}

/// One batch of changes: new orders (5% more, placed a day after the latest update, with items
/// and payments), every tenth order advanced in status, every fifth product 5% dearer — all
/// with `updated_at` a day after the latest update. A pure function of the seed and the state.
pub fn changes(seed: u64, state: State) -> (Vec<TableData>, Vec<Change>) {
    let at = state.last_update + TimeDelta::days(1);
    let stamp = time(at).unwrap_or_default();
    let mut rng = stream(seed, Kind::Changes, state.max_order);
    let pick = |rng: &mut ChaCha8Rng, count: i64, of: i64| {
        let mut ids: Vec<i64> = (0..count).map(|_| 1 + below_i64(rng, of)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let statuses = pick(&mut rng, (state.max_order / 10).max(1), state.max_order);
    let prices = pick(&mut rng, (state.products / 5).max(1), state.products);
    let sizes = Sizes {
        customers: state.customers,
        products: state.products,
        orders: state.max_order,
    };
    let new_orders = (state.max_order / 20).max(1);
    let tables = order_tables(
        seed,
        sizes,
        state.max_order + 1..=state.max_order + new_orders,
        Some(at),
        (state.max_item + 1, state.max_payment + 1),
    );
    let changes = vec![
        Change::AdvanceStatus {
            orders: statuses,
            updated_at: stamp.clone(),
        },
        Change::RaisePrices {
            products: prices,
            percent: 5,
            updated_at: stamp,
        },
    ];
    (tables, changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(scale: u32) -> Vec<(String, usize)> {
        tables(scale, 42)
            .into_iter()
            .map(|table| (format!("{}.{}", table.service, table.table), table.rows.count()))
            .collect()
    }

    #[test]
    fn scale_one_has_the_issue_s_counts_and_is_the_same_every_time() {
        let counts = counts(1);
        let count = |name: &str| counts.iter().find(|(table, _)| table == name).map(|(_, n)| *n);
        assert_eq!(count("orders.regions"), Some(5));
        assert_eq!(count("catalog.categories"), Some(14));
        assert_eq!(count("catalog.products"), Some(25));
        assert_eq!(count("orders.employees"), Some(10));
        assert_eq!(count("orders.customers"), Some(50));
        assert_eq!(count("orders.orders"), Some(600));
        assert_eq!(count("auth.roles"), Some(4));
        assert_eq!(count("auth.users"), Some(61));
        let payments = count("payments.payments").unwrap_or(0);
        assert!((500..=580).contains(&payments), "{payments} payments");
        let items = count("orders.order_items").unwrap_or(0);
        assert!((1_650..=1_950).contains(&items), "{items} items");
        let rows = |seed| -> Vec<Row> { tables(1, seed).into_iter().flat_map(|table| table.rows).collect() };
        assert_eq!(rows(42), rows(42));
        assert_ne!(rows(42), rows(7));
    }

    #[test]
    fn the_tables_come_from_the_dbml_with_the_prefix() {
        let mysql = oltp_ddl("t1_", Dialect::Mysql).expect("the DBML parses");
        assert!(
            mysql.contains("CREATE TABLE `t1_orders`.`order_items`"),
            "{mysql}"
        );
        assert!(mysql.contains("REFERENCES `t1_orders`.`customers`"), "{mysql}");
        let postgres = oltp_ddl("t1_", Dialect::Postgres).expect("the DBML parses");
        assert!(
            postgres.contains("\"status\" \"t1_orders\".\"order_status\""),
            "{postgres}"
        );
        assert!(
            postgres.contains("\"updated_at\" timestamp NOT NULL"),
            "{postgres}"
        );
        assert!(!postgres.contains("datetime"), "{postgres}");
    }
}
