//! The real llama.cpp server (PyPI xllamacpp) running SmolLM2-135M-Instruct, installed by
//! `scripts/install-llama-server` into `.llm/` (override: HINDSIGHT_LLM_DIR). Each test starts
//! its own on a free loopback port; dropping the handle stops it.
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct LlamaServer {
    child: Child,
    pub url: String,
    _slot: Slot,
}

/// One server at a time per test binary: llama.cpp's threads spin while they wait, so two
/// servers on two cores slow each other down several times over (measured: 365 s vs 54 s).
static BUSY: AtomicBool = AtomicBool::new(false);

/// Held while a server runs; released on drop (also when a test panics).
struct Slot;
impl Slot {
    fn take() -> Slot {
        while BUSY
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        Slot
    }
}
impl Drop for Slot {
    fn drop(&mut self) {
        BUSY.store(false, Ordering::Release);
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn llm_dir() -> PathBuf {
    std::env::var_os("HINDSIGHT_LLM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".llm"))
}

pub fn start_server() -> LlamaServer {
    start_server_with(1)
}

pub fn start_server_with(parallel: u32) -> LlamaServer {
    let model = llm_dir().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    start_server_on(&model, "smollm2-135m", parallel)
}

/// The real llama.cpp server on another GGUF (e.g. one of the app's built-in models).
pub fn start_server_on(model: &std::path::Path, alias: &str, parallel: u32) -> LlamaServer {
    let slot = Slot::take();
    let dir = llm_dir();
    let python = dir.join("venv/bin/python");
    assert!(
        python.exists() && model.exists(),
        "the real llama.cpp server is required: ./scripts/install-llama-server ({})",
        dir.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/llama_server.py"))
        .arg(model)
        .arg(port.to_string())
        .args([
            "--alias",
            alias,
            "--ctx",
            "4096",
            "--parallel",
            &parallel.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start llama_server.py");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let t0 = Instant::now();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("LISTENING") => break,
            Some(Ok(_)) => {}
            _ => panic!("llama server exited before listening"),
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "llama server did not start"
        );
    }
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    LlamaServer {
        child,
        url: format!("http://127.0.0.1:{port}/v1"),
        _slot: slot,
    }
}
