//! The words TechMarket's test data is made of: oblasts of Ukraine, Ukrainian first and last
//! names (with their Latin transliteration for e-mail addresses), the category tree and the
//! brands and models of its products. Plain constants; `generate` picks from them.

/// The five sales regions (oblasts).
pub const REGIONS: [&str; 5] = [
    "Київська область",
    "Львівська область",
    "Одеська область",
    "Харківська область",
    "Дніпропетровська область",
];

/// First names: (Ukrainian, Latin).
pub const FIRST_NAMES: [(&str, &str); 24] = [
    ("Олександр", "oleksandr"),
    ("Андрій", "andrii"),
    ("Дмитро", "dmytro"),
    ("Іван", "ivan"),
    ("Максим", "maksym"),
    ("Сергій", "serhii"),
    ("Тарас", "taras"),
    ("Богдан", "bohdan"),
    ("Юрій", "yurii"),
    ("Василь", "vasyl"),
    ("Микола", "mykola"),
    ("Остап", "ostap"),
    ("Олена", "olena"),
    ("Оксана", "oksana"),
    ("Наталія", "nataliia"),
    ("Ірина", "iryna"),
    ("Марія", "mariia"),
    ("Анна", "anna"),
    ("Катерина", "kateryna"),
    ("Юлія", "yuliia"),
    ("Софія", "sofiia"),
    ("Тетяна", "tetiana"),
    ("Ганна", "hanna"),
    ("Вікторія", "viktoriia"),
];

/// Last names: (Ukrainian, Latin).
pub const LAST_NAMES: [(&str, &str); 24] = [
    ("Шевченко", "shevchenko"),
    ("Коваленко", "kovalenko"),
    ("Бондаренко", "bondarenko"),
    ("Ткаченко", "tkachenko"),
    ("Кравченко", "kravchenko"),
    ("Олійник", "oliinyk"),
    ("Шевчук", "shevchuk"),
    ("Коваль", "koval"),
    ("Поліщук", "polishchuk"),
    ("Бойко", "boiko"),
    ("Ткачук", "tkachuk"),
    ("Мельник", "melnyk"),
    ("Мороз", "moroz"),
    ("Савченко", "savchenko"),
    ("Руденко", "rudenko"),
    ("Лисенко", "lysenko"),
    ("Марченко", "marchenko"),
    ("Клименко", "klymenko"),
    ("Павленко", "pavlenko"),
    ("Гончаренко", "honcharenko"),
    ("Кузьменко", "kuzmenko"),
    ("Литвиненко", "lytvynenko"),
    ("Петренко", "petrenko"),
    ("Левченко", "levchenko"),
];

/// Top-level categories.
pub const TOP_CATEGORIES: [&str; 6] = [
    "Комп'ютери та ноутбуки",
    "Смартфони",
    "ТВ та аудіо",
    "Побутова техніка",
    "Ігрові консолі",
    "Аксесуари",
];

/// Subcategories: (name, index of the parent in [`TOP_CATEGORIES`]).
pub const SUBCATEGORIES: [(&str, usize); 8] = [
    ("Ноутбуки", 0),
    ("Монітори", 0),
    ("Смартфони Android", 1),
    ("iPhone", 1),
    ("Телевізори", 2),
    ("Навушники", 2),
    ("Пральні машини", 3),
    ("Холодильники", 3),
];

/// Product lines: (name, category index counted over top categories then subcategories,
/// typical price in hryvnias).
pub const PRODUCT_LINES: [(&str, usize, i64); 25] = [
    ("Lenovo IdeaPad 5", 6, 32_000),
    ("ASUS VivoBook 15", 6, 27_500),
    ("Apple MacBook Air 13", 6, 52_000),
    ("HP Pavilion 15", 6, 29_900),
    ("Dell UltraSharp U2723QE", 7, 24_000),
    ("Samsung Odyssey G5", 7, 11_500),
    ("Samsung Galaxy A55", 8, 16_000),
    ("Xiaomi Redmi Note 13", 8, 9_000),
    ("Google Pixel 8", 8, 27_000),
    ("Apple iPhone 15", 9, 38_000),
    ("Apple iPhone 15 Pro", 9, 50_000),
    ("LG OLED55C3", 10, 55_000),
    ("Samsung QE50Q60C", 10, 22_000),
    ("Sony WH-1000XM5", 11, 14_000),
    ("JBL Tune 520BT", 11, 2_000),
    ("Bosch WAN28263UA", 12, 19_000),
    ("Samsung WW70AGAS", 12, 17_500),
    ("LG GA-B509CLWL", 13, 26_000),
    ("Bosch KGN39VLEB", 13, 31_000),
    ("Sony PlayStation 5", 4, 23_000),
    ("Nintendo Switch OLED", 4, 14_500),
    ("Xbox Series X", 4, 22_500),
    ("Logitech MX Master 3S", 5, 4_300),
    ("Anker PowerCore 20000", 5, 1_900),
    ("Apple AirPods Pro 2", 11, 10_500),
];
