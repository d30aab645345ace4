//! The identity of this tmk invocation: its id and start time, fixed once per process and shared
//! by Jinja (`invocation_id`, `run_started_at`) and the artifacts. It must not hold anything
//! else about the run, nor let either value change once read.

use std::sync::OnceLock;

struct Invocation {
    id: String,
    started_at: chrono::DateTime<chrono::Utc>,
}

fn invocation() -> &'static Invocation {
    static INVOCATION: OnceLock<Invocation> = OnceLock::new();
    INVOCATION.get_or_init(|| Invocation {
        id: uuid::Uuid::new_v4().to_string(),
        started_at: chrono::Utc::now(),
    })
}

/// The invocation id (a UUID v4).
pub fn id() -> String {
    invocation().id.clone()
}

/// When this invocation started, as an ISO 8601 UTC string.
pub fn started_at() -> String {
    invocation()
        .started_at
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// When this invocation started.
pub fn started_at_time() -> chrono::DateTime<chrono::Utc> {
    invocation().started_at
}
