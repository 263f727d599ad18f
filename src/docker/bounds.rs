//! How long the engine may take, in one place. An engine that accepts a
//! connection and never answers (a wedged daemon, a proxy whose backend is
//! gone) must fail a command with one line, not hang it, so every request
//! has three bounds:
//!
//! - **connect** (5 s): opening a connection. A local socket or an engine on
//!   the same network connects in milliseconds; five seconds allows for a
//!   loaded machine and stays far below the kernel's two minutes of SYN
//!   retries towards an address that drops packets.
//! - **answer** (30 s): from sending a request to the response's headers,
//!   its first byte. Docker and Podman answer nearly every call in
//!   milliseconds; the slowest ordinary ones (a create or a remove on busy
//!   storage, a network made with its firewall rules) take seconds. Calls
//!   that wait for something on purpose get that wait on top: a stop its
//!   grace period; a pull, a build and an import, whose first byte waits
//!   for the registry (Docker's own registry dial bound is 30 s) or for the
//!   whole uploaded context, get [`Bounds::slow_answer`] (5 min).
//! - **whole** (60 s): a request that is not a stream, body included.
//!
//! Streams (logs, events, stats, a container's wait, an attached exec,
//! pulls and builds) get the connect and answer bounds only: their body
//! lasts as long as what they follow.
//!
//! `ECS_RUN_LOCAL_ENGINE_TIMEOUT` (hidden, for tests: `2s`, `500ms`) sets
//! the connect, answer and whole bounds at once, so a test of an engine
//! that never answers ends in seconds; the slow answer keeps its 5 minutes
//! (importing the agent image takes seconds).
//!
//! While a request is under way it is recorded here ([`waiting_on`]), so
//! that a deadline of its own (`smoke --timeout`) can say what it was
//! waiting for when it ran out.

use std::future::Future;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use super::DockerError;

/// The hidden variable that sets the ordinary bounds at once (see the
/// module docs).
pub const ENGINE_TIMEOUT_VAR: &str = "ECS_RUN_LOCAL_ENGINE_TIMEOUT";

/// The bounds of engine requests (see the module docs for the figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Opening a connection to the engine.
    pub connect: Duration,
    /// From a request to its response's headers.
    pub answer: Duration,
    /// The answer of a pull, a build or an import, which waits on a
    /// registry or on an uploaded archive before its first byte.
    pub slow_answer: Duration,
    /// A whole request that is not a stream, its body read.
    pub whole: Duration,
}

impl Bounds {
    const DEFAULT: Bounds = Bounds {
        connect: Duration::from_secs(5),
        answer: Duration::from_secs(30),
        slow_answer: Duration::from_secs(300),
        whole: Duration::from_secs(60),
    };

    /// The bounds this process uses: the defaults, or the connect, answer
    /// and whole bounds set to `ECS_RUN_LOCAL_ENGINE_TIMEOUT` (read once).
    pub fn current() -> Bounds {
        static BOUNDS: OnceLock<Bounds> = OnceLock::new();
        *BOUNDS
            .get_or_init(|| Bounds::from_setting(std::env::var(ENGINE_TIMEOUT_VAR).ok().as_deref()))
    }

    fn from_setting(setting: Option<&str>) -> Bounds {
        match setting.and_then(parse) {
            Some(all) => Bounds {
                connect: all,
                answer: all,
                whole: all,
                ..Bounds::DEFAULT
            },
            None => Bounds::DEFAULT,
        }
    }
}

/// `2s`, `500ms`, `1m` or a bare number of seconds; `None` for anything
/// else, or zero (a setting no request could meet).
fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let n: u64 = number.parse().ok()?;
    let duration = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        _ => return None,
    };
    (!duration.is_zero()).then_some(duration)
}

/// A bound as a person reads it: `30 s`, `1.5 s`, `500 ms`.
#[must_use]
pub fn human(bound: Duration) -> String {
    if bound < Duration::from_secs(1) {
        format!("{} ms", bound.as_millis())
    } else if bound.subsec_millis() == 0 {
        format!("{} s", bound.as_secs())
    } else {
        format!("{:.1} s", bound.as_secs_f64())
    }
}

/// The engine requests under way, oldest first (see [`waiting_on`]).
static IN_FLIGHT: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());

/// Records a request while it is under way; dropped, it is forgotten.
struct InFlight(u64);

impl InFlight {
    fn begin(request: &str) -> InFlight {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        lock().push((id, request.to_owned()));
        InFlight(id)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock().retain(|(id, _)| *id != self.0);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<(u64, String)>> {
    IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the engine has not answered yet, for a deadline that ran out while
/// a request was under way: `the Docker engine at … (DOCKER_HOST) had not
/// answered GET /_ping`; `None` when no request was.
#[must_use]
pub fn waiting_on() -> Option<String> {
    let request = lock().first().map(|(_, request)| request.clone())?;
    let (host, origin) = super::docker_host();
    Some(format!(
        "the Docker engine at {host} ({origin}) had not answered {request}"
    ))
}

/// The error of a connection the engine did not take within `bound`.
pub(super) fn no_connection(bound: Duration) -> DockerError {
    let (host, origin) = super::docker_host();
    DockerError::NoConnection {
        host,
        origin,
        bound: human(bound),
    }
}

/// The error of a request that ran out of `bound`.
pub(super) fn unanswered(request: &str, bound: Duration) -> DockerError {
    let (host, origin) = super::docker_host();
    DockerError::Unanswered {
        host,
        origin,
        bound: human(bound),
        request: request.to_owned(),
    }
}

/// Runs one request that is not a stream under the whole bound (`whole`
/// on top of what the request waits for on purpose). bollard's own answer
/// bound (its timeout) running out is reported the same way, naming the
/// answer bound. The inner result is the engine's answer, for the caller
/// to map with its context.
pub(super) async fn bounded<T>(
    request: &str,
    answer: Duration,
    whole: Duration,
    work: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<Result<T, bollard::errors::Error>, DockerError> {
    let _in_flight = InFlight::begin(request);
    // Boxed: bollard's request futures are large, and every caller's future
    // would otherwise hold one inline.
    match tokio::time::timeout(whole, Box::pin(work)).await {
        Err(_) => Err(unanswered(request, whole)),
        Ok(Err(bollard::errors::Error::RequestTimeoutError)) => Err(unanswered(request, answer)),
        Ok(answered) => Ok(answered),
    }
}

/// Maps a stream's item error: bollard's answer bound running out names
/// the request and the bound; anything else is `what` with its cause.
pub(super) fn stream_error(
    request: &str,
    answer: Duration,
    what: String,
) -> impl FnOnce(bollard::errors::Error) -> DockerError {
    let request = request.to_owned();
    move |source| match source {
        bollard::errors::Error::RequestTimeoutError => unanswered(&request, answer),
        source => DockerError::Api { what, source },
    }
}

/// An answer bound as bollard's client takes it: whole seconds, rounded
/// up, at least one.
pub(super) fn client_timeout(bound: Duration) -> Duration {
    let seconds = bound.as_secs() + u64::from(bound.subsec_nanos() > 0);
    Duration::from_secs(seconds.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_setting_sets_the_ordinary_bounds_and_bad_ones_keep_the_defaults() {
        let two = Duration::from_secs(2);
        assert_eq!(
            Bounds::from_setting(Some("2s")),
            Bounds {
                connect: two,
                answer: two,
                slow_answer: Bounds::DEFAULT.slow_answer,
                whole: two
            }
        );
        assert_eq!(
            Bounds::from_setting(Some("500ms")).answer,
            Duration::from_millis(500)
        );
        assert_eq!(
            Bounds::from_setting(Some("1m")).whole,
            Duration::from_secs(60)
        );
        assert_eq!(
            Bounds::from_setting(Some("3")).connect,
            Duration::from_secs(3)
        );
        for bad in ["", "0s", "two", "2h", "-1s"] {
            assert_eq!(Bounds::from_setting(Some(bad)), Bounds::DEFAULT, "{bad}");
        }
        assert_eq!(Bounds::from_setting(None), Bounds::DEFAULT);
    }

    #[test]
    fn bounds_read_as_people_write_them() {
        assert_eq!(human(Duration::from_secs(30)), "30 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_millis(500)), "500 ms");
        let client = |ms| client_timeout(Duration::from_millis(ms)).as_secs();
        assert_eq!(client(500), 1);
        assert_eq!(client(2500), 3);
        assert_eq!(client(30_000), 30);
    }

    #[tokio::test]
    async fn a_request_that_never_ends_is_one_error_naming_the_bound() {
        let never = std::future::pending::<Result<(), bollard::errors::Error>>();
        let answer = Duration::from_millis(10);
        let whole = Duration::from_millis(20);
        let Err(e) = bounded("GET /version", answer, whole, never).await else {
            panic!("a request that never ends ended");
        };
        let text = e.to_string();
        assert!(
            text.ends_with("did not answer within 20 ms (GET /version)"),
            "{text}"
        );
        assert!(waiting_on().is_none());
        // bollard's own bound, on the headers, names the answer bound.
        let timed_out = async { Err::<(), _>(bollard::errors::Error::RequestTimeoutError) };
        let Err(e) = bounded("GET /_ping", answer, whole, timed_out).await else {
            panic!("a timed-out request succeeded");
        };
        let text = e.to_string();
        assert!(
            text.ends_with("did not answer within 10 ms (GET /_ping)"),
            "{text}"
        );
    }
}
