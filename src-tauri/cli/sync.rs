//! `hindsight sync`: a round with the sync folder, once or until stopped (then again whenever
//! the folder or this history changes, and every `--every` seconds).
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{print_json, runtime, stop_signal, write_out};
use crate::error::Result;
use crate::sync::{Folder, SyncReport};
use crate::Hindsight;

/// How often the folder and the history are looked at between rounds.
const LOOK_EVERY: Duration = Duration::from_secs(2);

pub fn run(
    hindsight: &Hindsight,
    folder: Option<PathBuf>,
    name: Option<String>,
    once: bool,
    every: u64,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    if folder.is_some() || name.is_some() {
        let mut settings = hindsight.sync_settings()?;
        if folder.is_some() {
            settings.folder = folder;
        }
        if let Some(name) = name {
            settings.device_name = name;
        }
        hindsight.save_sync_settings(settings)?;
    }
    if once {
        let report = hindsight.sync_now()?;
        return show(&report, json, true, out);
    }
    let rt = runtime()?;
    rt.block_on(async {
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut first = true;
        loop {
            let report = tokio::task::block_in_place(|| hindsight.sync_now())?;
            show(&report, json, first, out)?;
            first = false;
            let folder = Folder::open(&report.folder)?;
            let seen = (folder.signature(), hindsight.sync_outbox_mark()?);
            let next = Instant::now() + Duration::from_secs(every.max(1));
            loop {
                tokio::select! {
                    _ = &mut stop => return Ok(()),
                    _ = tokio::time::sleep(LOOK_EVERY) => {}
                }
                let now = (folder.signature(), hindsight.sync_outbox_mark()?);
                if now != seen || Instant::now() >= next {
                    break;
                }
            }
        }
    })
}

/// A round as a line (or JSON); a round that changed nothing is shown only if `always`.
fn show(r: &SyncReport, json: bool, always: bool, out: &mut impl Write) -> Result<()> {
    let quiet = r.sent == 0 && r.received == 0 && r.refused == 0 && r.new_device.is_none();
    if quiet && !always {
        return Ok(());
    }
    if json {
        return print_json(out, r);
    }
    if let Some(why) = &r.new_device {
        write_out(out, format_args!("note: {why}\n"))?;
    }
    write_out(
        out,
        format_args!(
            "Synced {} as \"{}\": sent {} changes in {} segments, received {} ({} already newer here, {} refused, {} waiting); {} not sent yet\n",
            r.folder.display(),
            r.name,
            r.sent,
            r.segments_written,
            r.received,
            r.superseded,
            r.refused,
            r.waiting,
            r.unpublished
        ),
    )?;
    for p in &r.peers {
        let name = if p.name.is_empty() {
            &p.device
        } else {
            &p.name
        };
        match &p.problem {
            None => write_out(
                out,
                format_args!("  {name}: up to date ({} segments)\n", p.applied),
            )?,
            Some(problem) => write_out(
                out,
                format_args!("  {name}: {} segments applied; {problem}\n", p.applied),
            )?,
        }
    }
    Ok(())
}
