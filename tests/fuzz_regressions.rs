//! Inputs the fuzz targets (fuzz/, scripts/fuzz) found to break a property, kept as tests so the
//! fix stays. Each input lives in tests/fixtures/fuzz/.
use camguard::audit::Subject;
#[cfg(feature = "lan-probe")]
use camguard::probe::scan::interpret;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Records the largest single allocation this test binary makes: a parser that asks for more
/// than a router has fails here instead of only under the fuzzer's malloc limit.
struct LargestAllocation;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// libuci doubles its line buffer after every `fgets` chunk that ends in no newline; NULs inside
/// an open quote make each line such a chunk. The port asked for gigabytes on this 5 KB file.
#[test]
fn uci_nul_inside_open_quotes_keeps_the_buffer_near_the_file_size() {
    let input = fixture("uci-nul-in-open-quote.conf");
    let result = camguard::formats::uci::parse("dhcp", &input);
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest < 1 << 20,
        "parsing {} bytes allocated {largest} bytes at once",
        input.len()
    );
    // The file's first lines are an ordinary dnsmasq section; whatever libuci makes of the
    // rest, the outcome is a parse or a strict-mode error with a line inside the file.
    match result {
        Ok(package) => assert!(!package.sections.is_empty()),
        Err(e) => {
            let lines = input.split(|&b| b == b'\n').count();
            assert!(
                (1..=lines + 1).contains(&e.line),
                "error on line {} of {lines}",
                e.line
            );
        }
    }
}

/// A camera's `WWW-Authenticate` header with NULs in it: the scheme of the second challenge
/// starts inside them, and the auth list reaches ubus, the state file and LuCI.
#[cfg(feature = "lan-probe")]
#[test]
fn probe_cleans_an_auth_scheme_made_of_device_bytes() {
    let reply = fixture("probe-reply-nul-in-auth-scheme.http");
    let service = interpret(80, Some(&reply));
    assert!(
        !service.auth.is_empty(),
        "the challenges were not read: {service:?}"
    );
    for text in service
        .auth
        .iter()
        .chain(&service.realm)
        .chain(&service.server)
    {
        assert!(
            !text.chars().any(char::is_control),
            "{text:?} reached the reply with a raw control character"
        );
    }
    let json = serde_json::to_string(&service).unwrap();
    assert!(
        !json.contains("\\u0000"),
        "a NUL survived into the JSON: {json}"
    );
}

/// ubus arguments whose subject `kind` is a blobmsg double (the bytes of "pinhole"): the subject
/// is refused, and the arguments still encode and decode to the same value (to one ULP, which is
/// serde_json's reading of ubus-zero's 17-digit doubles, not camguard's).
#[test]
fn a_double_in_ubus_arguments_is_refused_as_a_subject_and_round_trips() {
    let blob = fixture("ubus-args-double.blobmsg");
    let args = ubus::json::blobmsg_to_json(&blob).expect("the fixture is valid blobmsg");
    let subject = args
        .get("subject")
        .expect("the fixture carries a subject")
        .clone();
    assert!(Subject::from_json(&camguard::encode::to_value(&subject).unwrap()).is_err());

    let encoded = camguard::bus::blob::to_blobmsg(&args).expect("an object encodes");
    let back = ubus::json::blobmsg_to_json(encoded.contents()).expect("our encoding decodes");
    let (want, got) = (
        args.pointer("/subject/kind").and_then(|v| v.as_f64()),
        back.pointer("/subject/kind").and_then(|v| v.as_f64()),
    );
    let (want, got) = (
        want.expect("a double in the fixture"),
        got.expect("a double back"),
    );
    assert!(
        want == got || (want - got).abs() <= want.abs().max(got.abs()) * 4.0 * f64::EPSILON,
        "{want} came back as {got}"
    );
    assert_eq!(
        back.pointer("/subject/hnt_port"),
        args.pointer("/subject/hnt_port")
    );
}
