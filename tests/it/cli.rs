//! The `hindsight` binary: subcommands, `--json` output, errors on stderr with a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::fixture;

fn hindsight(data_dir: &Path, args: &[&str]) -> Output {
    crate::common::hindsight(data_dir, None, args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A temporary data folder (`data` inside the returned dir) holding the imported sample;
/// returns the dir, the data folder and the sample's path.
fn with_sample_imported() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sample = fixture("hindsight_sample.json");
    let o = hindsight(&data, &["import", sample.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    (dir, data, sample)
}

#[test]
fn import_list_show_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sample = fixture("hindsight_sample.json");

    let o = hindsight(&data, &["import", sample.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["conversations_added"], 3);
    assert_eq!(report["messages_added"], 8);
    assert!(data.join("hindsight.db").exists());

    let o = hindsight(&data, &["import", sample.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("0 new conversations (3 already present)"),
        "{}",
        stdout(&o)
    );

    let o = hindsight(&data, &["list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    let titles: Vec<&str> = list.iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "Rust lifetimes question",
            "Sourdough starter troubleshooting",
            "Planning a week in Lisbon"
        ]
    );
    assert_eq!(list[2]["message_count"], 4);
    assert_eq!(list[2]["start_time"], "2026-03-02T09:15:00.000Z");

    let o = hindsight(&data, &["list", "--limit", "1"]);
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1);
    assert!(
        text.contains("Rust lifetimes question") && text.contains("active"),
        "{text}"
    );

    let id = "0b9e3c1a-7d2f-4c55-9a61-2f0f6f1f4a01";
    let o = hindsight(&data, &["show", id, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let show: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(show["conversation"]["title"], "Planning a week in Lisbon");
    assert_eq!(show["messages"].as_array().unwrap().len(), 4);
    assert_eq!(show["messages"][0]["is_bookmarked"], true);
    assert_eq!(show["messages"][1]["reactions"][0], "👍");
    assert!(show["analysis"].is_null());

    let o = hindsight(&data, &["show", id]);
    let text = stdout(&o);
    assert!(text.starts_with("Planning a week in Lisbon\n"), "{text}");
    assert!(text.contains("Is a day trip to Sintra worth it?"));

    let out = dir.path().join("out.json");
    let o = hindsight(
        &data,
        &["export", "--format", "json", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(exported["conversations"].as_array().unwrap().len(), 3);

    let md = dir.path().join("md");
    let o = hindsight(
        &data,
        &[
            "export",
            "--format",
            "markdown",
            "--out",
            md.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&md).unwrap().count(), 3);

    // The exported JSON imports into a fresh data dir with the same content.
    let data2 = dir.path().join("data2");
    let o = hindsight(&data2, &["import", out.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Both imports queued the analysis (automatic analysis is on by default, as in the
    // window); only when each was queued differs.
    let shown = |data: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_str(&stdout(&hindsight(data, &["show", id, "--json"]))).unwrap();
        assert_eq!(v["analysis_status"]["state"], "pending");
        v["analysis_status"]["updated_at"] = serde_json::Value::Null;
        v
    };
    assert_eq!(shown(&data2), shown(&data));
}

#[test]
fn data_dir_comes_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args([
            "import",
            fixture("chatgpt_conversations.json").to_str().unwrap(),
        ])
        .env("HINDSIGHT_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("hindsight.db").exists());
}

#[test]
fn failures_exit_non_zero_with_a_clear_message_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    let o = hindsight(data, &["show", "00000000-0000-4000-8000-000000000000"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("conversation not found"),
        "{}",
        stderr(&o)
    );

    let o = hindsight(
        data,
        &["show", "00000000-0000-4000-8000-000000000000", "--json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_str(&stderr(&o)).unwrap();
    assert_eq!(err["error"]["code"], "not_found");

    let o = hindsight(data, &["import", "/nonexistent/file.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/nonexistent/file.json"),
        "{}",
        stderr(&o)
    );

    let bad = data.join("bad.json");
    std::fs::write(&bad, r#"{"conversations": [{"title": "x", "start_time": "2026-01-01T00:00:00Z", "messages": [{"sender": "robot", "content": "", "timestamp": "2026-01-01T00:00:00Z"}]}]}"#).unwrap();
    let o = hindsight(data, &["import", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("conversations[0].messages[0].sender"),
        "{}",
        stderr(&o)
    );
    let o = hindsight(data, &["list", "--json"]);
    assert_eq!(stdout(&o).trim(), "[]", "nothing half-imported");

    let o = hindsight(data, &["export", "--format", "yaml", "--out", "x"]);
    assert_eq!(o.status.code(), Some(2), "usage errors come from clap");
    assert!(
        stderr(&o).contains("invalid value 'yaml'"),
        "{}",
        stderr(&o)
    );
}

/// `backup`, `backup --list`, `check` and `restore` from the command line, with --json.
#[test]
fn backup_check_and_restore_from_the_cli() {
    let (_dir, data, sample) = with_sample_imported();

    let o = hindsight(&data, &["backup", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let made: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let path = made["path"].as_str().unwrap().to_owned();
    assert!(path.contains("backups") && std::path::Path::new(&path).exists());
    let o = hindsight(&data, &["backup", "--list", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["reason"], "manual");

    let o = hindsight(&data, &["check", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["ok"], true);

    // More history after the backup; the restore brings back the state of the backup.
    let chatgpt = fixture("chatgpt_conversations.json");
    assert!(hindsight(&data, &["import", chatgpt.to_str().unwrap()])
        .status
        .success());
    let count = |data: &Path| {
        let o = hindsight(data, &["list", "--json"]);
        serde_json::from_str::<Vec<serde_json::Value>>(&stdout(&o))
            .unwrap()
            .len()
    };
    assert_eq!(count(&data), 5);
    let o = hindsight(&data, &["restore", &path]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("is saved in"), "{}", stdout(&o));
    assert_eq!(count(&data), 3);

    let o = hindsight(&data, &["restore", sample.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("hindsight import"), "{}", stderr(&o));
}

/// A data folder that cannot be written (a read-only drive, a copy without permissions): the
/// history opens read-only with a note; list, search, check and export work; a write is refused
/// clearly and nothing is created in the folder. Run as another user when the tests run as root
/// (root ignores permission bits).
#[cfg(unix)]
#[test]
fn a_read_only_data_folder_still_reads_and_exports() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, data, sample) = with_sample_imported();
    let root = String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout)
        .trim()
        == "0";
    if root {
        assert!(Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success());
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o500)).unwrap();
    std::fs::set_permissions(
        data.join("hindsight.db"),
        std::fs::Permissions::from_mode(0o400),
    )
    .unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    if root {
        Command::new("chown")
            .args(["65534:65534"])
            .arg(&out)
            .status()
            .unwrap();
    }
    let run = |args: &[&str]| {
        let mut cmd = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_hindsight"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_hindsight"))
        };
        cmd.arg("--data-dir").arg(&data).args(args);
        cmd.env_remove("HINDSIGHT_DATA_DIR").output().unwrap()
    };
    let before: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();

    let o = run(&["list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    let list: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(list.len(), 3);
    let o = run(&["search", "Lisbon", "--mode", "bm25", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["check", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let export = out.join("all.json");
    let o = run(&[
        "export",
        "--format",
        "json",
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&export).unwrap().contains("Lisbon"));

    let o = run(&["import", sample.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nothing was changed"), "{}", stderr(&o));
    let after: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "nothing was created in the folder");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// A command that must write while another process holds the write lock longer than the store's
/// usual 5 s waits for it instead of failing "busy".
#[test]
fn a_cli_write_waits_for_another_writer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(hindsight(&data, &["list"]).status.success());
    let db = data.join("hindsight.db");
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(7));
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let sample = fixture("hindsight_sample.json");
    let o = hindsight(&data, &["import", sample.to_str().unwrap()]);
    holder.join().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("3 new conversations"), "{}", stdout(&o));
}

#[test]
fn the_log_and_diagnostics_help_a_bug_report_without_the_history_in_them() {
    let (_dir, data, _sample) = with_sample_imported();
    // A failing command leaves a line with its code; the question itself is not logged.
    let o = hindsight(&data, &["show", "00000000-0000-4000-8000-000000000000"]);
    assert!(!o.status.success());
    let o = hindsight(&data, &["diagnostics", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    assert!(report["conversations"].as_i64().unwrap() > 0);
    let log: Vec<&str> = report["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        log.iter().any(|l| l.contains("command=\"import\"")),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("WARN") && l.contains("command failed") && l.contains("not_found")),
        "{log:#?}"
    );
    assert!(data.join("logs").join("hindsight.log").is_file());
    // The plain-text form says the same for a person to paste.
    let o = hindsight(&data, &["diagnostics"]);
    let text = stdout(&o);
    assert!(
        text.starts_with(&format!("Hindsight {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("last log lines:"), "{text}");
    assert!(
        !text.contains("You are Hindsight"),
        "the system prompt is not shown: {text}"
    );
}

/// The core (everything but `app/`, the Tauri shell, and `main.rs`) knows nothing of Tauri:
/// the CLI and the tests drive it without a window.
#[test]
fn the_core_never_imports_tauri() {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let shell = |p: &Path| {
        p.starts_with(root.join("app")) || p.ends_with("main.rs") || p.ends_with("build.rs")
    };
    let offenders: Vec<String> = files
        .iter()
        .filter(|p| !shell(p))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.contains("tauri::") || text.contains("use tauri")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(files.len() > 50, "found the sources");
    assert!(
        offenders.is_empty(),
        "the core imports tauri: {offenders:?}"
    );
}

/// `hindsight models list|verify`: the catalog, and every installed model file checked against
/// its pinned sha256; a file with other bytes is named, and the command fails.
#[test]
fn models_are_listed_and_verified_by_their_pinned_sha256() {
    let data = tempfile::tempdir().unwrap();
    let models = crate::common::models_dir();
    let listed: serde_json::Value = serde_json::from_str(&crate::common::hindsight_ok(
        data.path(),
        Some(&models),
        &["models", "list", "--json"],
    ))
    .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|m| m["label"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Embedding", "Tiny", "Small", "Better"]
    );
    assert_eq!(listed[0]["installed"], true, "{listed:?}");
    assert_eq!(listed[2]["installed"], true, "Small is installed in CI");
    for m in listed {
        assert_eq!(m["licence"], "Apache-2.0");
        assert!(
            m["source"].as_str().unwrap().starts_with("PyPI wheel"),
            "{m}"
        );
        assert!(m["download_bytes"].as_u64().unwrap() > 80_000_000, "{m}");
    }
    let text = crate::common::hindsight_ok(data.path(), Some(&models), &["models", "list"]);
    assert!(text.contains("Small") && text.contains("MB"), "{text}");
    // How to get Better, unless this machine has it (CI does not fetch it).
    if listed[3]["installed"] == false {
        assert!(text.contains("hindsight models download better"), "{text}");
    }

    let checks: serde_json::Value = serde_json::from_str(&crate::common::hindsight_ok(
        data.path(),
        Some(&models),
        &["models", "verify", "--json"],
    ))
    .unwrap();
    let state = |checks: &serde_json::Value, label: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"] == label)
            .map(|c| c["state"].as_str().unwrap().to_owned())
            .unwrap()
    };
    for label in ["Embedding", "Tiny", "Small"] {
        assert_eq!(state(&checks, label), "ok", "{checks}");
    }

    // Tiny with one byte changed: refused by name; the others are missing, not corrupt.
    let other = tempfile::tempdir().unwrap();
    let spec = hindsight::llm::BuiltinChoice::Tiny.spec();
    let dir = spec.path(other.path());
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = std::fs::read(spec.path(&models).join(spec.gguf)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(dir.join(spec.gguf), bytes).unwrap();
    let o = crate::common::hindsight(
        data.path(),
        Some(other.path()),
        &["models", "verify", "--json"],
    );
    assert!(!o.status.success());
    let checks: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(state(&checks, "Tiny"), "corrupt", "{checks}");
    assert_eq!(state(&checks, "Small"), "missing", "{checks}");
    assert_eq!(state(&checks, "Embedding"), "missing", "{checks}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Tiny") && err.contains("download them again"),
        "{err}"
    );
}
